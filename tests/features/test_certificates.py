"""Certificates: issued when a mentee completes a round (goal reached and the final check done)
or by a coordinator; a PDF where the platform takes files, a code elsewhere; verified by anyone,
revoked by coordinators; codes nobody can guess or alter; the PDF set right in every script.

The platform that takes files is the MemoryAdapter of the chart tests that says so; the PDF is
read back with poppler-utils (pdftotext, pdftoppm), as a person would see it.
"""

from __future__ import annotations

import logging
import re
import subprocess
import unicodedata
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, select

from chatbot.certificate_codes import LENGTH, make_code, normalise, shown
from chatbot.certificate_pdf import render
from chatbot.certificates import CertificateData, SkillLevel
from chatbot.cli import MaskSecrets
from chatbot.i18n import Languages
from storage.certificates import Certificate
from tests import harness
from tests.harness import Bot
from tests.features.test_charts_in_chat import FilesAdapter
from tests.e2e.test_cli import mentorbot

SECRET = "certificate-test-secret-0123456789abcdef"
CODE = re.compile(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){4}")

@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("MENTORBOT_CERTIFICATE_SECRET", SECRET)


async def finish_round(bot: Bot, mentee: str = "alice", mentor: str = "bob", platform: str = "console") -> list[str]:
    """The mentee marks their goal reached, their mentor does the whole final check; what the
    mentee was sent meanwhile."""
    before = len(bot.said)
    out = await bot.say(mentee, "!goal done", platform=platform)
    assert "goal for 2027 Q1 is marked reached" in out[0], out
    out = await bot.say(mentor, f"!assess final {mentee}")
    for _ in range(40):
        if any("final check is complete" in t for t in out):
            break
        out = await bot.say(mentor, "2")
    else:
        raise AssertionError(out)
    return [s.text for s in bot.said[before:] if s.target == f"dm {mentee}"]


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as pdftotext reads it, with the spaces it guesses between shaped glyphs
    and the direction marks left out (what a search of the page would match)."""
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def squeeze(text: str) -> str:
    return "".join(text.split())


async def test_a_mentee_who_completes_gets_a_code_where_the_platform_takes_no_files(tmp_path, secret):
    bot = await Bot.start(tmp_path)
    await bot.pair("alice", "bob")
    told = await finish_round(bot)
    assert "final check of your skills" in told[-2]
    assert "Congratulations on completing 2027 Q1! Your certificate's verification code is" in told[-1]
    code = CODE.search(told[-1]).group(0)
    assert f"!certificate verify {code}" in told[-1] and "Ask a coordinator for the PDF" in told[-1]

    out = await bot.say("carol", f"!certificate verify {code.lower().replace('-', ' ')}")
    assert out == [f"Certificate {code} is valid: alice completed 2027 Q1 (1 Jan 2027 – 31 Mar 2027) "
                   "of Mentorship Programme; issued on 4 Jan 2027."]
    # completing again (the goal reopened and reached anew) issues nothing more
    await bot.say("alice", "!goal set Land two patches in core")
    assert not [t for t in await bot.say("alice", "!goal done") if "certificate" in t]
    await bot.stop()


async def test_a_tampered_code_fails_and_a_revoked_one_says_so(tmp_path, secret):
    bot = await Bot.start(tmp_path)
    await bot.pair("alice", "bob")
    code = CODE.search((await finish_round(bot))[-1]).group(0)
    flipped = ("B" if code[0] == "A" else "A") + code[1:]
    out = await bot.say("carol", f"!certificate verify {flipped}")
    assert out == [f"No certificate has the code {flipped}: it is not valid. Check it letter by letter."]
    out = await bot.say("carol", "!certificate verify 12345")
    assert "a code is five groups of four letters and digits" in out[0]

    out = await bot.say("carol", f"!certificate revoke {code} copied work")
    assert "coordinator" in out[0] and "revoked" not in out[0]  # the gate: coordinators only
    out = await bot.say("you", f"!certificate revoke {code} plagiarised patch")
    assert out == [f"Certificate {code} of alice for 2027 Q1 is revoked; verifying it now says so."]
    out = await bot.say("carol", f"!certificate verify {code}")
    assert out == [f"Certificate {code} of alice for 2027 Q1 of Mentorship Programme, issued on "
                   "4 Jan 2027, was REVOKED on 4 Jan 2027: plagiarised patch."]
    # a row edited in the database (backdated) no longer matches its code
    with Session(bot.engine.database) as s:
        row = s.exec(select(Certificate)).one()
        row.issued_at = datetime(2027, 1, 1, tzinfo=timezone.utc)  # backdated
        s.add(row)
        s.commit()
    out = await bot.say("carol", f"!certificate verify {code}")
    assert "it is not valid" in out[0]
    await bot.stop()


async def test_the_pdf_is_attached_where_the_platform_takes_files(tmp_path, secret):
    raw = {"admins": ["console:you"], "certificates": {"programme": "Wikimedia Mentorship"}}
    bot = await Bot.start(tmp_path, config=raw)
    files = FilesAdapter()
    files.said = bot.said
    bot.adapters["files"] = files
    bot.engine.attach(files)
    await files.start(bot.engine.handle, bot.engine.specs)
    await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31')
    for answer in ("!signup mentee", "Europe/Berlin", "en", "3", "programming", "testing", "Land my first patch in core"):
        await bot.say("fatima", answer, platform="files")
    await bot.say("fatima", "!profile set name فاطمة الزهراء", platform="files")
    for answer in ("!signup mentor", "America/New_York", "en", "3", "all", "testing", "3"):
        await bot.say("bob", answer)
    assert "now mentors" in (await bot.say("you", "!match assign fatima bob"))[0]

    out = await bot.say("you", "!certificate issue fatima")
    assert re.fullmatch(r"Certificate for fatima \(2027 Q1\) issued, code \S+; I've sent them the PDF\.", out[0]), out
    event, pdf = files.files[-1]
    assert pdf.name == "certificate-fatima-2027-Q1.pdf" and pdf.media_type == "application/pdf"
    assert event.text.startswith("Congratulations on completing 2027 Q1! Here is your certificate")
    text = pdf_text(pdf.data, tmp_path)
    assert squeeze("فاطمة الزهراء") in text and "WikimediaMentorship" in text and "LandmyfirstpatchinCore".lower() in text.lower()
    out = await bot.say("you", "!certificate issue fatima")
    assert "fatima has a certificate for 2027 Q1 already" in out[0]
    await bot.stop()


def sample(name: str, language: str | None = None) -> CertificateData:
    return CertificateData(
        name=name, handle="priya", programme="Wikimedia Mentorship", round="2027 Q1", starts_on=date(2027, 1, 1),
        ends_on=date(2027, 3, 31), goal="Land my first patch in core", mentors=("Иван Петров", "Bob Smith"),
        skills=(SkillLevel("Log Interpretation", 1, 3), SkillLevel("Open Source Ecosystem Awareness", None, 2)), language=language,
        issued_on=date(2027, 4, 2),
    )


@pytest.mark.parametrize("name", ["अनुष्का क्षत्रिय", "فاطمة الزهراء", "Zoë Иванова"])
def test_the_pdf_sets_every_script_and_reads_back(tmp_path, name):
    lang = Languages().get("fr")
    code = make_code(SECRET.encode(), 1, 1, datetime(2027, 4, 2, tzinfo=timezone.utc))
    pdf = render(sample(name, "fr"), code, lang, f"!certificate verify {shown(code)}")
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    # the skills in the mentee's language, with the scale's words for their levels
    for words in (name, "Иван Петров", "Wikimedia Mentorship", shown(code), "Certificat de réussite",
                  "Interprétation des journaux : bases ou sous supervision, désormais capable de l'enseigner"):
        assert squeeze(words) in text, (words, text)
    pages = subprocess.run(["pdfinfo", str(tmp_path / "certificate.pdf")], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", pages, re.M)
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(tmp_path / "certificate.pdf"), str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png")).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 3000


def test_codes_are_typeable_and_tied_to_their_facts():
    when = datetime(2027, 4, 2, 9, 30, tzinfo=timezone.utc)
    code = make_code(SECRET.encode(), 7, 3, when)
    assert len(code) == LENGTH and re.fullmatch(r"[A-Z2-7]+", code)
    assert normalise(shown(code).lower()) == code and normalise(" ".join(shown(code).split("-"))) == code
    assert normalise("ABCD-EFGH") is None
    assert make_code(b"another secret of thirty-two chars!", 7, 3, when) != code
    assert make_code(SECRET.encode(), 8, 3, when) != code and make_code(SECRET.encode(), 7, 4, when) != code


async def test_without_the_secret_no_certificate_is_issued(tmp_path, monkeypatch):
    monkeypatch.delenv("MENTORBOT_CERTIFICATE_SECRET", raising=False)
    bot = await Bot.start(tmp_path)
    await bot.pair("alice", "bob")
    told = await finish_round(bot)
    assert not [t for t in told if "certificate" in t.lower()]
    out = await bot.say("you", "!certificate issue alice")
    assert "Certificates are not turned on here: an operator sets MENTORBOT_CERTIFICATE_SECRET" in out[0]
    await bot.stop()


@pytest.mark.e2e  # starts processes (the CLI): see tests/conftest.py
async def test_the_cli_verifies_and_writes_the_pdf(tmp_path, secret):
    bot = await Bot.start(tmp_path)
    await bot.pair("alice", "bob")
    out = await bot.say("you", "!certificate issue alice")
    code = CODE.search(out[0]).group(0)
    assert "mentorbot certificate show" in out[0] and "--out FILE" in out[0]  # the console takes no files
    await bot.stop()
    db = harness.database_in(tmp_path)
    env = {"MENTORBOT_CERTIFICATE_SECRET": SECRET}
    result = mentorbot("verify", code, "--db", db, cwd=tmp_path, env=env)
    assert result.returncode == 0 and result.stdout.startswith(f"valid: {code}: alice (alice) completed 2027 Q1"), result
    tampered = ("B" if code[0] == "A" else "A") + code[1:]
    result = mentorbot("verify", tampered, "--db", db, cwd=tmp_path, env=env)
    assert result.returncode == 1 and result.stdout.startswith("not valid"), result
    target = tmp_path / "alice.pdf"
    result = mentorbot("certificate", "show", code, "--out", str(target), "--db", db, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "alice" in pdf_text(target.read_bytes(), tmp_path)
    result = mentorbot("verify", code, "--db", db, cwd=tmp_path, env={"MENTORBOT_CERTIFICATE_SECRET": ""})
    assert result.returncode == 2 and "MENTORBOT_CERTIFICATE_SECRET is not set" in result.stderr


def test_logs_never_show_the_certificate_secret(secret):
    record = logging.LogRecord("chatbot", logging.ERROR, __file__, 1, "signing with %s failed", (SECRET,), None)
    MaskSecrets().filter(record)
    assert record.getMessage() == "signing with *** failed"
