"""Certificates in chat: issued when a mentee completes a round (or by a coordinator), sent as
a PDF where the platform takes files and as a code elsewhere, verified by anyone, revoked by
coordinators. What a certificate says and how codes work: ``chatbot.certificates``."""

from __future__ import annotations

import logging

from chatbot.certificate_codes import load_secret, normalise, shown
from chatbot.certificates import Verification, completed, file_name, issue, pdf_of, verify
from chatbot.commands import ActionError, Arg, CommandSpec, Example, UsageError
from chatbot.context import Context, Feature
from chatbot.events import Attachment
from chatbot.features.matchmaking import PAIRED
from chatbot.features.rounds import ROUND_ARG, chosen_round
from chatbot.i18n import N_
from chatbot.people import named
from storage.certificates import Certificate
from storage.tables import Member, Round

log = logging.getLogger(__name__)

REASON_MAX = 200
CODE_EXAMPLE = "ABCD-EFGH-IJKL-MNOP-QRST"


def _secret(ctx: Context) -> bytes:
    secret = load_secret(ctx.settings.certificates.secret_env)
    if secret is None:
        raise ActionError(ctx._(
            "Certificates are not turned on here: an operator sets {variable} (32 characters or more) in the bot's environment.",
            variable=ctx.settings.certificates.secret_env))
    return secret


def _verify_command(ctx: Context, code: str) -> str:
    return ctx.command("certificate", "verify", shown(code))


def send(ctx: Context, mentee: Member, rnd: Round, certificate: Certificate) -> bool | None:
    """The certificate to the mentee in private, in their language: the PDF where their platform
    takes files, the code elsewhere. As :meth:`Context.dm_file` says what went."""
    lang, code = ctx.language_of(mentee), shown(certificate.code)
    return ctx.dm_file(
        mentee,
        lang._("Congratulations on completing {round}! Here is your certificate; its verification code is {code}.",
               round=rnd.name, code=code),
        lambda: Attachment(file_name(certificate), "application/pdf", pdf_of(certificate, lang, _verify_command(ctx, certificate.code))),
        lang._("Congratulations on completing {round}! Your certificate's verification code is {code}: anyone can check it "
               "with {command}. Ask a coordinator for the PDF.", round=rnd.name, code=code,
               command=_verify_command(ctx, certificate.code)),
        key=f"certificate:{certificate.id}",
    )


def on_progress(ctx: Context, mentee: Member, rnd: Round) -> None:
    """The hook goals and assessments call when a goal is reached or a final check is done:
    once both are, the mentee gets their certificate (once; never again after a revocation,
    which only a coordinator's ``!certificate issue`` overrides)."""
    if not completed(ctx.repos, mentee.pk, rnd.pk) or ctx.repos.certificates.latest(mentee.pk, rnd.pk) is not None:
        return
    secret = load_secret(ctx.settings.certificates.secret_env)
    if secret is None:
        log.warning("%s completed %s, but no certificate is issued: %s is not set",
                    mentee.handle, rnd.name, ctx.settings.certificates.secret_env)
        return
    send(ctx, mentee, rnd, issue(ctx.repos, ctx.settings, secret, mentee, rnd, ctx.now, by=None))


async def certificate_issue(ctx: Context, mentee: Member, round: str | None = None) -> str:
    secret = _secret(ctx)
    rnd = chosen_round(ctx, round)
    if not ctx.repos.signups.of(mentee.pk, rnd.pk, "mentee"):
        raise ActionError(ctx._("{mentee} was not a mentee in {round}.", mentee=mentee.handle, round=rnd.name))
    standing = ctx.repos.certificates.standing(mentee.pk, rnd.pk)
    if standing is not None:
        return ctx._("{mentee} has a certificate for {round} already; its code is {code}.",
                     mentee=mentee.handle, round=rnd.name, code=shown(standing.code))
    me = ctx.require_member()
    certificate = issue(ctx.repos, ctx.settings, secret, mentee, rnd, ctx.now, by=me.id)
    sent = send(ctx, mentee, rnd, certificate)
    code = shown(certificate.code)
    if sent:
        return ctx._("Certificate for {mentee} ({round}) issued, code {code}; I've sent them the PDF.",
                     mentee=mentee.handle, round=rnd.name, code=code)
    cli = f"mentorbot certificate show {code} --out FILE"
    return ctx._("Certificate for {mentee} ({round}) issued, code {code}. Their platform takes no files: "
                 "{command} makes the PDF for you to pass on.", mentee=mentee.handle, round=rnd.name, code=code,
                 command=cli)


def _code(ctx: Context, typed: str) -> str:
    code = normalise(typed)
    if code is None:
        raise UsageError(ctx._("a code is five groups of four letters and digits, like {example}", example=CODE_EXAMPLE))
    return code


def describe(ctx: Context, found: Verification, typed: str) -> str:
    """What a verification says, in one line."""
    if found.certificate is None or found.data is None:
        return ctx._("No certificate has the code {code}: it is not valid. Check it letter by letter.", code=typed.strip())
    data, row, lang = found.data, found.certificate, ctx.language
    fields = dict(code=shown(row.code), name=named(Member(handle=data.handle, display_name=data.name)), round=data.round,
                  programme=data.programme,
                  start=lang.date(data.starts_on, "yMMMd"), end=lang.date(data.ends_on, "yMMMd"),
                  issued=lang.date(data.issued_on, "yMMMd"))
    if row.revoked_at is not None:
        return ctx._("Certificate {code} of {name} for {round} of {programme}, issued on {issued}, was REVOKED "
                     "on {revoked}: {reason}.", revoked=lang.date(row.revoked_at.date(), "yMMMd"), reason=row.revoke_reason, **fields)
    return ctx._("Certificate {code} is valid: {name} completed {round} ({start} – {end}) of {programme}; "
                 "issued on {issued}.", **fields)


async def certificate_verify(ctx: Context, code: str) -> str:
    secret = _secret(ctx)
    return describe(ctx, verify(ctx.repos, secret, _code(ctx, code)), code)


async def certificate_revoke(ctx: Context, code: str, reason: str) -> str:
    secret = _secret(ctx)
    reason = " ".join(reason.split())
    if not 3 <= len(reason) <= REASON_MAX:
        raise UsageError(ctx._("give a reason of 3 to {most} characters", most=REASON_MAX))
    found = verify(ctx.repos, secret, _code(ctx, code))
    if found.certificate is None or found.data is None:
        return describe(ctx, found, code)
    row = found.certificate
    if row.revoked_at is not None:
        return ctx._("That certificate was revoked on {date} already.", date=ctx.language.date(row.revoked_at.date(), "yMMMd"))
    ctx.repos.certificates.revoke(row, ctx.require_member().id, reason, ctx.now)
    return ctx._("Certificate {code} of {name} for {round} is revoked; verifying it now says so.",
                 code=shown(row.code), name=found.data.name, round=found.data.round)


CODE = Arg("code", help=N_("the verification code, e.g. ABCD-EFGH-IJKL-MNOP-QRST"))
#: a code as people copy it, spaces and all
TYPED_CODE = Arg("code", rest=True, help=N_("the verification code, e.g. ABCD-EFGH-IJKL-MNOP-QRST"))

FEATURE = Feature(
    name="certificates",
    commands=(
        CommandSpec(
            ("certificate", "issue"),
            N_("issue a mentee's certificate for a round and send it to them"),
            roles=("coordinator",),
            handler=certificate_issue,
            args=(Arg("mentee", kind="member", help=N_("the mentee")), ROUND_ARG),
            examples=(Example("!certificate issue alice", r"issued, code|not turned on", setup=PAIRED),),
        ),
        CommandSpec(
            ("certificate", "verify"),
            N_("check a certificate's verification code: whose it is, for what, and whether it was revoked"),
            roles=("anyone",),
            handler=certificate_verify,
            args=(TYPED_CODE,),
            examples=(Example(f"!certificate verify {CODE_EXAMPLE}", r"not valid|not turned on"),),
        ),
        CommandSpec(
            ("certificate", "revoke"),
            N_("revoke a certificate, saying why; verifying it then says so"),
            roles=("coordinator",),
            handler=certificate_revoke,
            args=(CODE, Arg("reason", kind="text", rest=True, help=N_("why, in a sentence"))),
            examples=(Example(f"!certificate revoke {CODE_EXAMPLE} issued by mistake", r"not valid|not turned on"),),
        ),
    ),
)
