"""Charts as SVG, written by hand: a line chart, grouped bars and a heat map.

Why not a charting library: the pages have a strict Content-Security-Policy (no inline script,
no inline ``<style>``), and the libraries on PyPI that draw SVG embed both by default; these
three shapes take about as many lines as configuring one would. Every drawn value is an
element with ``data-series``, ``data-label`` and ``data-value`` (and a ``<title>`` that a
browser shows on hover, no JavaScript), so tests read the numbers behind a chart from the SVG
itself and screen readers get them too. Colours are the Okabe–Ito palette (safe for colour
blindness). The same SVG becomes the PNG sent in chat (:func:`png`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

from chatbot.i18n import N_
from chatbot.wording import clip

WIDTH, HEIGHT = 720, 340
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 44, 64
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
FONT = "DejaVu Sans, Noto Sans, Arial, sans-serif"
#: what an empty chart says (translated by whoever draws it for a reader)
NO_DATA = N_("No data yet")


@dataclass(frozen=True)
class Series:
    """One line, or one colour of bars. ``None`` is a gap (no data that week)."""

    name: str
    values: tuple[float | None, ...]


def _num(v: float) -> str:
    """A value as the SVG and its data attributes carry it: short, no float noise."""
    return f"{v:.2f}".rstrip("0").rstrip(".") if v != int(v) else str(int(v))


def _open(title: str, height: int = HEIGHT) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label={quoteattr(title)} font-family="{FONT}" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold" fill="#222">{escape(title)}</text>',
    ]


def _nice_max(top: float) -> float:
    """A round number at or above ``top`` for the y axis (1, 2, 4, 5 or 8 times a power of ten)."""
    if top <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(top))
    for step in (1, 2, 4, 5, 8, 10):  # each divides into 4 (or whole) steps without long decimals
        if top <= step * power:
            return float(step * power)
    return float(10 * power)


@dataclass(frozen=True)
class Scale:
    """The y axis: from ``lo`` (0, or below it for a chart of changes) to ``hi``."""

    lo: float
    hi: float
    #: the distance between ticks, where it is not the usual four or whole steps
    step: float | None = None

    def y(self, value: float, ph: float) -> float:
        """Where ``value`` is drawn in a plot ``ph`` high (clamped to the axis)."""
        return TOP + ph - ph * (min(max(value, self.lo), self.hi) - self.lo) / (self.hi - self.lo)


def _axes(out: list[str], labels: Sequence[str], scale: Scale, unit: str) -> tuple[float, float]:
    """Grid lines, y ticks and x labels; returns the plot's width and height."""
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = scale.hi - scale.lo
    if scale.step is not None:
        steps = round(span / scale.step)
    else:
        steps = int(span) if span == int(span) and 2 <= span <= 10 else 4  # whole steps for counts and scores
    for i in range(steps + 1):
        value = scale.lo + span * i / steps
        y = scale.y(value, ph)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        tick = _num(value) + (unit if len(unit) <= 1 else "")  # a longer unit is in the title
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{escape(tick)}</text>')
    every = max(1, math.ceil(len(labels) / 12))  # at most a dozen labels fit
    room = max(3, int(pw * every / max(1, len(labels)) / 7))  # characters a label's slot holds
    for i, label in enumerate(labels):
        if i % every:
            continue
        label = clip(label, room)
        x = LEFT + pw * (i + 0.5) / max(1, len(labels))
        out.append(f'<text x="{x:.1f}" y="{TOP + ph + 16}" text-anchor="middle" fill="#555">{escape(label)}</text>')
    return pw, ph


def _legend(out: list[str], series: Sequence[Series], height: int = HEIGHT) -> None:
    x = LEFT
    for n, s in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{height - 22}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{height - 12}" fill="#222">{escape(s.name)}</text>')
        x += 28 + 7 * len(s.name)


def _scale(series: Sequence[Series], y_max: float | None) -> Scale | None:
    """The y axis for these values (None: nothing to draw); below zero only if a value is."""
    values = [v for s in series for v in s.values if v is not None]
    if not values:
        return None
    hi = y_max if y_max is not None else _nice_max(max(values)) if max(values) > 0 else 1.0
    if min(values) >= 0:
        return Scale(0.0, hi)
    # below zero too (changes): ticks a round step apart, zero among them
    step = _nice_max((max(hi, 0) - min(values)) / 4)
    lo, hi = step * math.floor(min(values) / step), step * max(1, math.ceil(max(values) / step))
    return Scale(lo, hi, step)


def _mark(tag: str, shape: str, series: str, label: str, value: float, unit: str = "") -> str:
    """One drawn value, carrying its numbers (``data-*``) and a hover text (``<title>``)."""
    return (f'<{tag} {shape} data-series={quoteattr(series)} data-label={quoteattr(label)} data-value="{_num(value)}">'
            f'<title>{escape(f"{series}, {label}: {_num(value)}{unit}")}</title></{tag}>')


def _empty(out: list[str], nothing: str, height: int = HEIGHT) -> str:
    """An empty chart, saying ``nothing`` (in the reader's language) where the data would be."""
    out.append(f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle" fill="#777">{escape(nothing)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _plot(title: str, labels: Sequence[str], series: Sequence[Series], y_max: float | None, unit: str,
          draw: Callable[[list[str], int, Series, Scale, float, float], None], nothing: str) -> str:
    """A chart with axes and a legend; ``draw(out, n, series, scale, width, height)`` draws each series."""
    out = _open(title)
    scale = _scale(series, y_max)
    if not labels or scale is None:
        return _empty(out, nothing)
    pw, ph = _axes(out, labels, scale, unit)
    for n, s in enumerate(series):
        draw(out, n, s, scale, pw, ph)
    _legend(out, series)
    out.append("</svg>")
    return "\n".join(out)


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series], *, y_max: float | None = None,
               unit: str = "", nothing: str = NO_DATA) -> str:
    """Lines over weeks (or any ordered labels). A gap in a series breaks its line."""

    def draw(out: list[str], n: int, s: Series, scale: Scale, pw: float, ph: float) -> None:
        colour = PALETTE[n % len(PALETTE)]
        at = {i: (LEFT + pw * (i + 0.5) / len(labels), scale.y(v, ph))
              for i, v in enumerate(s.values) if v is not None}
        runs: list[list[str]] = [[]]
        for i in range(len(s.values)):
            if i in at:
                runs[-1].append(f"{at[i][0]:.1f},{at[i][1]:.1f}")
            elif runs[-1]:
                runs.append([])
        for run in runs:
            if len(run) > 1:
                out.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for i, (x, y) in at.items():
            out.append(_mark("circle", f'class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"', s.name,
                             labels[i], s.values[i], unit))  # type: ignore[arg-type]

    return _plot(title, labels, series, y_max, unit, draw, nothing)


def bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *, y_max: float | None = None,
              unit: str = "", nothing: str = NO_DATA) -> str:
    """Bars side by side per label, one colour per series (self, mentor, final)."""

    def draw(out: list[str], n: int, s: Series, scale: Scale, pw: float, ph: float) -> None:
        slot = pw / len(labels)
        bar = slot * 0.8 / max(1, len(series))
        for i, v in enumerate(s.values):
            if v is None:
                continue
            top, bottom = sorted((scale.y(v, ph), scale.y(0, ph)))  # from zero, up or down
            x = LEFT + slot * i + slot * 0.1 + bar * n
            out.append(_mark("rect", f'class="bar" x="{x:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{bottom - top:.1f}" '
                                     f'fill="{PALETTE[n % len(PALETTE)]}"', s.name, labels[i], v, unit))

    return _plot(title, labels, series, y_max, unit, draw, nothing)


def heat_map(title: str, rows: Sequence[str], columns: Sequence[str], counts: Sequence[Sequence[int]], *,
             nothing: str = NO_DATA) -> str:
    """A grid (weekday × hour): the darker the cell, the more people came then."""
    cell_w = (WIDTH - LEFT - RIGHT) / max(1, len(columns))
    cell_h = 26
    height = TOP + cell_h * len(rows) + 40
    out = _open(title, height)
    top = max((c for row in counts for c in row), default=0)
    if top == 0:
        return _empty(out, nothing, height)
    for r, label in enumerate(rows):
        y = TOP + cell_h * r
        out.append(f'<text x="{LEFT - 6}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end" fill="#555">{escape(label)}</text>')
        for c, column in enumerate(columns):
            n = counts[r][c]
            shade = 0.08 + 0.92 * n / top if n else 0.0
            fill = f'fill="#0072B2" fill-opacity="{shade:.2f}"' if n else 'fill="#f4f4f4"'
            out.append(_mark("rect", f'class="cell" x="{LEFT + cell_w * c:.1f}" y="{y}" width="{cell_w - 1:.1f}" '
                                     f'height="{cell_h - 1}" {fill}', label, column, n))
    for c, column in enumerate(columns):
        if c % 3 == 0:
            x = LEFT + cell_w * (c + 0.5)
            out.append(f'<text x="{x:.1f}" y="{TOP + cell_h * len(rows) + 16}" text-anchor="middle" fill="#555">{escape(column)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def png(svg: str) -> bytes:
    """The chart as a PNG for chat (CairoSVG: the same drawing, rasterised at twice the size
    so it stays sharp on a phone)."""
    import cairosvg  # imported here: only the chart command and its tests need cairo

    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=2)
