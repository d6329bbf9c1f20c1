"""``mentorbot verify CODE`` and ``mentorbot certificate show CODE --out FILE``: certificates
for operators and coordinators outside chat (the PDF for a mentee on a platform without files).

Output is for operators, in English; the PDF is in the mentee's language, as issued.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from chatbot.certificate_codes import load_secret, normalise, shown
from chatbot.config import Settings

if TYPE_CHECKING:  # the parsers are built at every start; the database only for these commands
    from sqlalchemy.engine import Engine as DbEngine

    from chatbot.certificates import Verification


def add_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]", db_help: str) -> list[argparse.ArgumentParser]:
    """The commands' parsers (returned so the caller adds its common options to each)."""
    v = sub.add_parser("verify", help="check a certificate's code: whose it is, for what, and whether it was revoked "
                                      "(exits 1 unless it is valid)")
    v.add_argument("code", help="the verification code, e.g. ABCD-EFGH-IJKL-MNOP-QRST")
    v.add_argument("--db", help=db_help)
    c = sub.add_parser("certificate", help="certificates issued to mentees")
    actions = c.add_subparsers(dest="action", required=True)
    s = actions.add_parser("show", help="write a certificate's PDF, as it was issued")
    s.add_argument("code", help="the verification code")
    s.add_argument("--out", required=True, type=Path, metavar="FILE", help="the PDF file to write")
    s.add_argument("--db", help=db_help)
    return [v, c, s]


def _found(settings: Settings, database: "DbEngine", typed: str) -> "Verification":
    from sqlmodel import Session

    from chatbot.certificates import verify
    from storage.repos import Repos

    secret = load_secret(settings.certificates.secret_env)
    if secret is None:
        raise ValueError(f"certificates need a secret: {settings.certificates.secret_env} is not set "
                         "(or shorter than 32 characters); use the one the bot runs with")
    code = normalise(typed)
    if code is None:
        raise ValueError(f"{typed!r} is not a code: five groups of four letters and digits, like ABCD-EFGH-IJKL-MNOP-QRST")
    with Session(database) as s:
        found = verify(Repos(s), secret, code)
        if found.certificate is not None:
            s.expunge(found.certificate)
    return found


def describe(found: "Verification", typed: str) -> str:
    if found.certificate is None or found.data is None:
        return f"not valid: no certificate has the code {typed.strip()}"
    d, row = found.data, found.certificate
    what = (f"{shown(row.code)}: {d.name} ({d.handle}) completed {d.round} ({d.starts_on} to {d.ends_on}) of {d.programme}; "
            f"issued on {d.issued_on}")
    if row.revoked_at is not None:
        return f"REVOKED on {row.revoked_at.date()} ({row.revoke_reason}): {what}"
    return f"valid: {what}"


def run(args: argparse.Namespace, settings: Settings, database: "DbEngine") -> int:
    """``verify`` prints what the code is (exit 0 only for a valid certificate); ``certificate
    show`` writes its PDF (exit 1 when no certificate has the code)."""
    from chatbot.certificates import pdf_of
    from chatbot.i18n import Languages

    found = _found(settings, database, args.code)
    if args.command == "verify":
        print(describe(found, args.code))
        return 0 if found.valid else 1
    if found.certificate is None or found.data is None:
        print(describe(found, args.code), file=sys.stderr)
        return 1
    lang = Languages(settings.bot.language, settings.bot.locale_dir).get(found.data.language)
    args.out.write_bytes(pdf_of(found.certificate, lang, f"{settings.bot.prefix}certificate verify {shown(found.certificate.code)}"))
    note = " (revoked: verifying it says so)" if found.certificate.revoked_at is not None else ""
    print(f"wrote the certificate of {found.data.name} for {found.data.round} to {args.out}{note}", file=sys.stderr)
    return 0
