"""A certificate as a one-page PDF, in the mentee's language and any script their name is in.

fpdf2 lays the page out and shapes text with HarfBuzz (uharfbuzz): Arabic letters are joined
and set right to left inside a left-to-right line, Devanagari conjuncts are formed. ReportLab
only shapes as an experiment and has no font fallback, so a line mixing scripts (a Latin
sentence around an Arabic name) would need splitting by hand. The fonts are Noto Sans (Latin,
Greek, Cyrillic) with Noto Sans Arabic and Noto Sans Devanagari as fallbacks, from the
``fontpkg-noto-*`` packages on PyPI (OFL), so nothing is fetched at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import fontpkg
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from chatbot.certificate_codes import shown
from chatbot.i18n import Language
from chatbot.domain.skills import SCALE

if TYPE_CHECKING:
    from chatbot.certificates import CertificateData

#: font families in the PDF and the packaged font each is set in; the first is the main one
FONTS = {"sans": "Noto Sans", "arabic": "Noto Sans Arabic", "devanagari": "Noto Sans Devanagari"}
#: skills printed at most, the most grown first (the page stays one page)
SKILLS_SHOWN = 10
INK, MUTED, ACCENT = (20, 20, 20), (90, 90, 90), (30, 80, 140)


def level(lang: Language, score: int | None) -> str:
    """A score as the scale words it ("can teach others")."""
    return next((lang._(step.label) for step in SCALE if step.value == score), "–")


def _document() -> FPDF:
    pdf = FPDF(orientation="portrait", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(22, 22, 22)
    for family, packaged in FONTS.items():
        pdf.add_font(family, fname=str(fontpkg.path(packaged)))
    pdf.set_font("sans", size=12)
    pdf.set_fallback_fonts(list(FONTS)[1:])
    pdf.set_text_shaping(True)
    pdf.add_page()
    return pdf


def _line(pdf: FPDF, text: str, size: float, colour: tuple[int, int, int] = INK, gap: float = 2.0) -> None:
    pdf.set_font("sans", size=size)
    pdf.set_text_color(*colour)
    pdf.multi_cell(0, size * 0.55, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(gap)


def _skills(pdf: FPDF, lang: Language, data: "CertificateData") -> None:
    if not data.skills:
        return
    _line(pdf, lang._("Skills grown"), 14, ACCENT, 1)
    ranked = sorted(data.skills, key=lambda s: -((s.reached or 0) - (s.first if s.first is not None else s.reached or 0)))
    for skill in ranked[:SKILLS_SHOWN]:
        name = lang._(skill.title)
        if skill.first is not None and skill.first != skill.reached:
            text = lang._("{skill}: {before}, now {after}", skill=name, before=level(lang, skill.first), after=level(lang, skill.reached))
        else:
            text = lang._("{skill}: {level}", skill=name, level=level(lang, skill.reached))
        _line(pdf, text, 11, INK, 0.5)


def render(data: "CertificateData", code: str, lang: Language, verify_command: str) -> bytes:
    """The certificate's PDF: ``lang`` is the mentee's language, ``verify_command`` how a
    reader checks the code (``!certificate verify CODE``)."""
    pdf = _document()
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_y(30)
    _line(pdf, data.programme, 16, ACCENT, 4)
    _line(pdf, lang._("Certificate of completion"), 28, INK, 10)
    _line(pdf, lang._("This certifies that"), 13, MUTED, 3)
    _line(pdf, data.name, 30, INK, 6)
    _line(pdf, lang._("completed the mentorship round {round} ({start} – {end}).", round=data.round,
                      start=lang.date(data.starts_on, "yMMMd"), end=lang.date(data.ends_on, "yMMMd")), 13, INK, 6)
    if data.goal:
        _line(pdf, lang._("Goal: {goal}", goal=data.goal), 12, INK, 3)
    if data.mentors:
        _line(pdf, lang.ngettext("Mentor: {names}", "Mentors: {names}", len(data.mentors), names=lang.join(data.mentors)), 12, INK, 8)
    _skills(pdf, lang, data)
    pdf.set_y(pdf.h - 52)
    _line(pdf, lang._("Issued on {date}.", date=lang.date(data.issued_on, "yMMMd")), 11, MUTED, 1)
    _line(pdf, lang._("Verification code: {code}", code=shown(code)), 13, INK, 1)
    _line(pdf, lang._("Check it with {command}.", command=verify_command), 10, MUTED, 0)
    return bytes(pdf.output())
