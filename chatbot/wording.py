"""How replies read: sentences put together, and counts for operators' English output."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 host``, ``2 hosts``; ``many`` for a word without a plain -s (person, people)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def clip(text: str, n: int) -> str:
    """A person's free text inside a one-line answer: on one line (runs of spaces and line
    breaks become one space) and at most ``n`` characters, an ellipsis marking a cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def sentences(*parts: str | None) -> str:
    """Whole sentences, each translated on its own, in one line of an answer (the ones that
    do not apply, empty or None, left out)."""
    return " ".join(p for p in parts if p)
