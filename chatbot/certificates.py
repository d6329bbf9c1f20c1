"""What a certificate says, how it is issued and how a code is verified (platform-free).

A mentee *completed* a round when their goal for it is marked reached and their lead mentor's
final check is done; a coordinator may issue a certificate without that (``!certificate
issue``). The facts are copied into the stored row when it is issued (:class:`CertificateData`),
so the PDF drawn again later, and a verification, say what was certified then. The chat
commands are in ``chatbot.features.certificates``; the CLI's ``verify`` and ``certificate
show`` use :func:`verify` and :func:`pdf_of` here too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from chatbot.certificate_codes import genuine, make_code
from chatbot.config import Settings
from chatbot.i18n import Language
from storage.certificates import Certificate
from storage.repos import Repos
from storage.tables import Member, Round


@dataclass(frozen=True)
class SkillLevel:
    """One skill on the certificate: the catalogue's title (translated when printed), the
    mentee's first self-assessed score of the round (None: none) and the level reached (the
    final check's score, else the latest mentor review's)."""

    title: str
    first: int | None
    reached: int | None


@dataclass(frozen=True)
class CertificateData:
    name: str
    handle: str
    programme: str
    round: str
    starts_on: date
    ends_on: date
    goal: str | None
    mentors: tuple[str, ...]
    skills: tuple[SkillLevel, ...]
    #: the mentee's language when it was issued (the PDF's language)
    language: str | None
    issued_on: date

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw.update(starts_on=self.starts_on.isoformat(), ends_on=self.ends_on.isoformat(), issued_on=self.issued_on.isoformat())
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "CertificateData":
        fields = dict(raw)
        for key in ("starts_on", "ends_on", "issued_on"):
            fields[key] = date.fromisoformat(fields[key])
        fields["mentors"] = tuple(fields["mentors"])
        fields["skills"] = tuple(SkillLevel(**s) for s in fields["skills"])
        return cls(**fields)


def completed(repos: Repos, member_id: int, round_id: int) -> bool:
    """Goal reached (and not reopened) and the final check done, in this round."""
    signup = next(iter(repos.signups.of(member_id, round_id, "mentee")), None)
    if signup is None or signup.id is None or repos.goals.completion(signup.id) is None:
        return False
    return repos.assessments.completed_final(member_id, round_id) is not None


def _skills(repos: Repos, member_id: int, round_id: int) -> tuple[SkillLevel, ...]:
    firsts: dict[str, int] = {}
    mentor: dict[str, int | None] = {}
    final: dict[str, int | None] = {}
    for r in repos.assessments.ratings(member_id, round_id):
        if r.kind == "self" and r.score is not None:
            firsts.setdefault(r.skill, r.score)
        elif r.kind in ("mentor", "final"):
            (final if r.kind == "final" else mentor)[r.skill] = r.score
    reached = {**mentor, **final}
    return tuple(SkillLevel(skill, firsts.get(skill), score) for skill, score in reached.items() if score is not None)


def facts(repos: Repos, settings: Settings, member: Member, rnd: Round, today: date) -> CertificateData:
    """What a certificate for ``member`` in ``rnd`` says, from the records as they are now."""
    signup = next(iter(repos.signups.of(member.pk, rnd.pk, "mentee")), None)
    mentor_ids = [m for m, mentee, kind in sorted(repos.outcomes.pairs(rnd.pk), key=lambda p: p[2] != "mentor") if mentee == member.pk]
    mentors = [repos.members.get(m) for m in dict.fromkeys(mentor_ids)]
    return CertificateData(
        name=member.display_name, handle=member.handle, programme=settings.certificates.programme, round=rnd.name,
        starts_on=rnd.starts_on, ends_on=rnd.ends_on, goal=signup.goal if signup is not None else None,
        mentors=tuple(m.display_name for m in mentors if m is not None), skills=_skills(repos, member.pk, rnd.pk),
        language=member.language, issued_on=today,
    )


def issue(repos: Repos, settings: Settings, secret: bytes, member: Member, rnd: Round, now: datetime,
          by: int | None) -> Certificate:
    """Record a certificate for ``member`` in ``rnd`` (the caller checked none stands)."""
    data = facts(repos, settings, member, rnd, now.date())
    code = make_code(secret, member.pk, rnd.pk, now)
    row = Certificate(code=code, member_id=member.pk, round_id=rnd.pk, issued_at=now, issued_by=by, details=data.to_json())
    return repos.certificates.add(row)


@dataclass(frozen=True)
class Verification:
    """What a code turned out to be: None certificate when no genuine one has it."""

    certificate: Certificate | None
    data: CertificateData | None

    @property
    def valid(self) -> bool:
        return self.certificate is not None and self.certificate.revoked_at is None


def verify(repos: Repos, secret: bytes | None, code: str | None) -> Verification:
    """The certificate behind a (normalised) code, if its row still matches the code under
    the secret: a tampered code is not found, a tampered row does not match."""
    row = repos.certificates.by_code(code) if code else None
    if row is None or secret is None or not genuine(secret, row.code, row.member_id, row.round_id, row.issued_at):
        return Verification(None, None)
    return Verification(row, CertificateData.from_json(row.details))


def pdf_of(certificate: Certificate, lang: Language, verify_command: str) -> bytes:
    """The certificate's PDF, drawn from what was stored when it was issued."""
    from chatbot.certificate_pdf import render

    return render(CertificateData.from_json(certificate.details), certificate.code, lang, verify_command)


def file_name(certificate: Certificate) -> str:
    """``certificate-alice-2027-Q1.pdf``."""
    data = CertificateData.from_json(certificate.details)
    return f"certificate-{data.handle}-{data.round.replace(' ', '-')}.pdf"
