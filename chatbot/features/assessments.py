"""Skills assessments: a private interview, skill by skill, and a report of how people grew.

Three kinds of pass over a person's skills (those of their role focus plus the Generalist ones):
a **self**-assessment (``!assess``: mentees, and mentors too, whose 2-3s say what they can
teach), a **mentor review** of a mentee by their mentor or co-mentor (``!assess review``), and
the lead mentor's **final check**, once per round (``!assess final``). Every answer is written to
the assessment tables the moment it is given, so ``stop``, ``!cancel`` or a restart lose nothing,
and the same command resumes at the first unanswered skill.

The interview is one looping flow step (``Step.again``): the skills depend on the person, so a
fixed list of steps cannot hold them. The conversation keeps only where the interview is; the
answers live in ``storage/assessments.py``.

``!assess report`` shows one line per skill ("Log Interpretation: self 1→2, mentor 2, final 3
(+2)"): aligned columns fall apart in the proportional fonts of Discord and Matrix, a line per
skill reads the same everywhere and stays under ~70 characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from chatbot.commands import ActionError, Arg, CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.features.matchmaking import PAIRED
from chatbot.flows import Flow, Step
from chatbot.skills import GENERALIST, Catalogue, CatalogueError, Skill, SkillLookupError, load_catalogue, parse_level, scale_help
from storage.assessments import Assessment, Rating
from storage.mentorship import Pair
from storage.tables import Conversation, Member, Round

FLOW = "assess"
#: the value of the ``at`` answer after "stop": the interview ends, paused
STOPPED = -1
STOP_WORDS = ("stop", "pause")
SKIP_WORDS = ("skip", "pass")
#: skill titles longer than this are shortened in reports, to keep a line under ~70 characters
LABEL_WIDTH = 34
#: the longest line a report writes
LINE_WIDTH = 72
WHAT = {"self": "self-assessment", "mentor": "mentor review", "final": "final check"}

# ---------------------------------------------------------------------------- the catalogue


@lru_cache(maxsize=8)
def _load(path: str | None) -> tuple[Catalogue, dict[str, Skill]]:
    """The catalogue read once per file (not per message), with its skills by title."""
    catalogue = load_catalogue(path)
    return catalogue, {s.title: s for s in catalogue}


def catalogue(ctx: Context) -> tuple[Catalogue, dict[str, Skill]]:
    try:
        return _load(ctx.settings.programme.skills_file)
    except CatalogueError as exc:
        raise ActionError(f"The skills catalogue cannot be used: {exc}") from None


def skills_for(ctx: Context, member: Member, yours: bool) -> list[str]:
    """The titles an assessment of ``member`` asks: their focus's skills, then the Generalist ones."""
    if not member.role_focus:
        if yours:
            raise ActionError(f"Set your role focus first, e.g. {ctx.prefix}profile set focus Generalist.")
        raise ActionError(f"{member.handle} has no role focus yet ({ctx.prefix}profile set focus sets it).")
    try:
        return [s.title for s in catalogue(ctx)[0].for_focus(member.role_focus)]
    except SkillLookupError as exc:
        raise ActionError(f"The skills catalogue does not fit {member.handle}'s focus: {exc}") from None


# ---------------------------------------------------------------------------- the interview


def _prompt(ctx: Context, data: dict[str, Any]) -> str:
    title = data["skills"][data["at"]]
    skill = catalogue(ctx)[1].get(title)
    about = f" — {skill.description}" if skill is not None and skill.description else ""
    subject = {"self": "", "mentor": f"{data['subject']}'s ", "final": f"Final check, {data['subject']}'s "}[data["kind"]]
    return f"{subject}{title}{about}\n{scale_help()}; or skip, stop"


def _answer(ctx: Context, text: str, data: dict[str, Any]) -> int:
    """Save the answer to the current skill; return the index of the next unanswered one
    (``len(skills)`` when none is left, :data:`STOPPED` to pause)."""
    word = text.strip().strip(".!").lower()
    repo, skills, at = ctx.repos.assessments, data["skills"], data["at"]
    if word in STOP_WORDS or repo.get(data["assessment"]) is None:
        return STOPPED
    if word not in SKIP_WORDS:
        try:
            score = parse_level(text)
        except ValueError:
            shown = text.strip()[:20]
            raise ValueError(f"'{shown}' is not on the scale: answer 0, 1, 2, 3 or N/A (or skip, stop).") from None
        repo.answer(data["assessment"], skills[at], score, ctx.now)
    answered = repo.answers(data["assessment"])
    return next((i for i in range(at + 1, len(skills)) if skills[i] not in answered), len(skills))


def _resume_command(ctx: Context, data: dict[str, Any]) -> str:
    if data["kind"] == "self":
        return f"{ctx.prefix}assess"
    return f"{ctx.prefix}assess {'review' if data['kind'] == 'mentor' else 'final'} {data['subject']}"


async def _finish(ctx: Context, data: dict[str, Any]) -> str:
    repo = ctx.repos.assessments
    assessment = repo.get(data["assessment"])
    if assessment is None:
        return "That assessment no longer exists; there is nothing more to ask."
    answered = repo.answers(data["assessment"])
    total, resume = len(assessment.skills), _resume_command(ctx, data)
    if data["at"] == STOPPED:
        return f"Paused: {len(answered)} of {total} answered, all saved. {resume} carries on where you stopped."
    missing = [s for s in assessment.skills if s not in answered]
    if missing:
        return (
            f"That was the last skill. You skipped {len(missing)}: {_clip(', '.join(missing), 120)}. "
            f"{resume} asks them again when you are ready."
        )
    repo.complete(assessment, ctx.now)
    _tell(ctx, assessment, data["subject"])
    report = f"{ctx.prefix}assess report" + ("" if data["kind"] == "self" else f" {data['subject']}")
    return f"Thank you: the {WHAT[assessment.kind]} is complete ({total} skills). {report} shows it."


def _tell(ctx: Context, assessment: Assessment, subject: str) -> None:
    """A finished review or final check is news to the mentee; a finished self-assessment to the mentors."""
    assessor = ctx.require_member()
    if assessment.kind == "self":
        for mentor in ctx.repos.pairs.mentors_of(assessment.member_id):
            ctx.dm(
                mentor,
                f"{subject} completed a self-assessment: {ctx.prefix}assess report {subject} shows it.",
                key=f"assessed:{assessment.id}:{mentor.id}",
            )
        return
    mentee = ctx.repos.members.get(assessment.member_id)
    if mentee is not None:
        ctx.dm(
            mentee,
            f"{assessor.handle} completed a {WHAT[assessment.kind]} of your skills: {ctx.prefix}assess report shows it.",
            key=f"assessed:{assessment.id}",
        )


ASSESS = Flow(
    name=FLOW,
    steps=(
        Step(
            "at",
            _prompt,
            _answer,
            again=lambda d: 0 <= d["at"] < len(d["skills"]),
            progress=lambda d: (d["at"] + 1, len(d["skills"])),
        ),
    ),
    finish=_finish,
    cancelled="Paused; every answer you gave is saved. The same !assess command carries on where you stopped.",
)


def _interview_of(ctx: Context, me: Member) -> Conversation | None:
    """The assessment interview the person is in, if any; another kind of interview is not
    interrupted (its answers are not saved until it ends)."""
    conv = ctx.repos.conversations.get(me.id)  # type: ignore[arg-type]
    if conv is not None and conv.flow != FLOW:
        raise ActionError(
            f"You are in the middle of another interview ({conv.flow}): answer its question, "
            f"or leave it with {ctx.prefix}cancel first."
        )
    return conv


async def _begin(ctx: Context, assessment: Assessment, subject: Member, intro: str) -> str | None:
    """Start (or resume) the interview at the first unanswered skill."""
    me = ctx.require_member()
    assert assessment.id is not None
    conv = _interview_of(ctx, me)
    note = ""
    if conv is not None and conv.data.get("assessment") != assessment.id:
        note = f"Your {WHAT[conv.data['kind']]} in progress is paused, answers saved. "
    data = {"assessment": assessment.id, "kind": assessment.kind, "subject": subject.handle, "skills": list(assessment.skills)}
    answered = ctx.repos.assessments.answers(assessment.id)
    pending = [i for i, s in enumerate(assessment.skills) if s not in answered]
    if not pending:  # every skill has an answer (a catalogue change can do that): just close it
        ctx.repos.conversations.end(me.id)  # type: ignore[arg-type]
        return note + await _finish(ctx, {**data, "at": len(assessment.skills)})
    ctx.start_flow(FLOW, {**data, "at": pending[0]})
    if answered:
        intro = (
            f"Resuming the {WHAT[assessment.kind]}: {len(answered)} of {len(assessment.skills)} answered, "
            f"carrying on at skill {pending[0] + 1}."
        )
    return note + intro if ctx.where is not None and ctx.where.is_direct else None


def _intro(kind: str, subject: Member, rnd: Round | None, skills: Sequence[str]) -> str:
    where = f" for {rnd.name}" if rnd is not None else ""
    whose = "" if kind == "self" else f" of {subject.handle}"
    focus = subject.role_focus or GENERALIST
    scope = focus if focus.casefold() == GENERALIST.casefold() else f"{focus} and {GENERALIST}"
    return (
        f"{WHAT[kind].capitalize()}{whose}{where}: {len(skills)} skills ({scope}). "
        "Each answer is saved as you go; skip moves on, stop pauses."
    )


# ---------------------------------------------------------------------------- commands


async def assess(ctx: Context) -> str | None:
    me = ctx.require_member()
    _interview_of(ctx, me)
    rnd = ctx.repos.rounds.current()
    round_id = rnd.id if rnd is not None else None
    repo = ctx.repos.assessments
    assessment = repo.unfinished(me.id, me.id, "self", round_id)  # type: ignore[arg-type]
    if assessment is None:
        skills = skills_for(ctx, me, yours=True)
        assessment = repo.start(me.id, me.id, "self", round_id, me.role_focus or "", skills, ctx.now)  # type: ignore[arg-type]
    return await _begin(ctx, assessment, me, _intro("self", me, rnd, assessment.skills))


def _pair_with(ctx: Context, me: Member, mentee: Member) -> Pair:
    """The asker's active pair with ``mentee``: only their mentor or co-mentor assesses them."""
    if mentee.id == me.id:
        raise ActionError(f"To rate your own skills, use {ctx.prefix}assess.")
    for pair in ctx.repos.pairs.of_mentee(mentee.id):  # type: ignore[arg-type]
        if pair.mentor_id == me.id:
            return pair
    raise ActionError(f"You do not mentor {mentee.handle}: only their mentor or co-mentor can assess them.")


async def _assess_other(ctx: Context, mentee: Member, kind: str, pair: Pair) -> str | None:
    me = ctx.require_member()
    _interview_of(ctx, me)
    repo = ctx.repos.assessments
    rnd = ctx.repos.session.get(Round, pair.round_id)
    assessment = repo.unfinished(mentee.id, me.id, kind, pair.round_id)  # type: ignore[arg-type]
    if assessment is None:
        skills = skills_for(ctx, mentee, yours=False)
        assessment = repo.start(mentee.id, me.id, kind, pair.round_id, mentee.role_focus or "", skills, ctx.now)  # type: ignore[arg-type]
    return await _begin(ctx, assessment, mentee, _intro(kind, mentee, rnd, assessment.skills))


async def assess_review(ctx: Context, mentee: Member) -> str | None:
    pair = _pair_with(ctx, ctx.require_member(), mentee)
    return await _assess_other(ctx, mentee, "mentor", pair)


async def assess_final(ctx: Context, mentee: Member) -> str | None:
    pair = _pair_with(ctx, ctx.require_member(), mentee)
    if pair.kind != "mentor":
        lead = ctx.repos.pairs.mentors_of(mentee.id)  # type: ignore[arg-type]
        name = f" ({lead[0].handle})" if lead else ""
        raise ActionError(
            f"The final check is for {mentee.handle}'s lead mentor{name}; "
            f"as co-mentor, add a review with {ctx.prefix}assess review {mentee.handle}."
        )
    if ctx.repos.assessments.completed_final(mentee.id, pair.round_id) is not None:  # type: ignore[arg-type]
        rnd = ctx.repos.session.get(Round, pair.round_id)
        raise ActionError(
            f"The final check of {mentee.handle} for {rnd.name if rnd else 'this round'} is done; there is one per round. "
            f"{ctx.prefix}assess report {mentee.handle} shows it."
        )
    return await _assess_other(ctx, mentee, "final", pair)


async def assess_report(ctx: Context, mentee: Member | None) -> str:
    me = ctx.require_member()
    subject = mentee or me
    if subject.id != me.id and not ctx.has_role("coordinator") and not ctx.repos.pairs.mentors(me.id, subject.id):  # type: ignore[arg-type]
        raise ActionError("A report is private: you see your own, mentors their mentees', coordinators anyone's.")
    repo = ctx.repos.assessments
    # the open round; between rounds, the round (or none) of the person's latest assessment
    rnd = ctx.repos.rounds.current()
    latest = repo.latest(subject.id) if rnd is None else None  # type: ignore[arg-type]
    if latest is not None and latest.round_id is not None:
        rnd = ctx.repos.session.get(Round, latest.round_id)
    ratings = repo.ratings(subject.id, rnd.id if rnd else None)  # type: ignore[arg-type]
    where = f"in {rnd.name}" if rnd is not None else "outside rounds"
    if not ratings:
        hint = f" {ctx.prefix}assess starts one." if subject.id == me.id else ""
        scope = f" {where}" if rnd is not None or latest is not None else ""
        return f"No assessment of {subject.handle}{scope} yet.{hint}"
    try:
        order = skills_for(ctx, subject, yours=subject.id == me.id)
    except ActionError:
        order = []  # no (valid) focus: the skills rated are still worth showing
    return render_report(subject.handle, where, order, ratings)


# ---------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class SkillLine:
    """What a report says about one skill."""

    first_self: Rating | None
    latest_self: Rating | None
    mentor: Rating | None
    final: Rating | None

    @property
    def change(self) -> int | None:
        """Latest (the final check, else the latest self-assessment) minus the round's first
        self-assessment; None when there is nothing to compare."""
        current = self.final or self.latest_self
        base = self.first_self
        if base is None or current is None or current is base or base.score is None or current.score is None:
            return None
        return current.score - base.score


def code(rating: Rating | None) -> str:
    if rating is None:
        return "–"
    return "N/A" if rating.score is None else str(rating.score)


def short_label(title: str, width: int = LABEL_WIDTH) -> str:
    """A title cut at a word boundary to ``width`` characters, with an ellipsis."""
    if len(title) <= width:
        return title
    cut = title[: width - 1]
    if title[width - 1] != " ":
        cut = cut.rsplit(" ", 1)[0]
    return re.sub(r"\s+(&|and|with|of|the)$", "", cut.rstrip()) + "…"


def summarise(ratings: Sequence[Rating]) -> dict[str, SkillLine]:
    """Per skill, from ratings oldest first."""
    by_skill: dict[str, list[Rating]] = {}
    for r in ratings:
        by_skill.setdefault(r.skill, []).append(r)
    out = {}
    for skill, rs in by_skill.items():
        selfs = [r for r in rs if r.kind == "self"]
        mentors = [r for r in rs if r.kind == "mentor"]
        finals = [r for r in rs if r.kind == "final"]
        out[skill] = SkillLine(
            selfs[0] if selfs else None, selfs[-1] if selfs else None,
            mentors[-1] if mentors else None, finals[-1] if finals else None,
        )
    return out


def render_report(handle: str, where: str, order: Sequence[str], ratings: Sequence[Rating]) -> str:
    """One line per rated skill in ``order`` (then any other rated ones), the unrated summed up."""
    lines = summarise(ratings)
    kinds = {r.kind for r in ratings}
    skills = [*order, *(s for s in lines if s not in order)]
    out = [f"Skills of {handle} {where} (0-3, N/A; self: first→latest):"]
    up = down = same = 0
    unrated = []
    for skill in skills:
        line = lines.get(skill)
        if line is None:
            unrated.append(skill)
            continue
        first, latest = code(line.first_self), code(line.latest_self)
        parts = [f"self {first}" if first == latest else f"self {first}→{latest}"]
        if "mentor" in kinds:
            parts.append(f"mentor {code(line.mentor)}")
        if "final" in kinds:
            parts.append(f"final {code(line.final)}")
        change = line.change
        if change is not None:
            up, down, same = up + (change > 0), down + (change < 0), same + (change == 0)
        tail = f" ({change:+d})" if change else ""
        out.append(f"{short_label(skill)}: {', '.join(parts)}{tail}")
    if unrated:
        head = f"Not rated yet ({len(unrated)}): "
        out.append(head + _clip(", ".join(short_label(s) for s in unrated), LINE_WIDTH - len(head)))
    if up + down + same:
        out.append(f"Since the first self-assessment: {up} up, {down} down, {same} the same.")
    return "\n".join(out)


def _clip(text: str, n: int) -> str:
    """``text``, a comma-separated list, cut after the last item that fits in ``n`` characters."""
    return text if len(text) <= n else text[: n - 2].rsplit(", ", 1)[0] + ", …"


# ---------------------------------------------------------------------------- declarations

MENTEE = Arg("mentee", kind="member", help="the mentee", complete="my-mentees")
STARTED = (*PAIRED, "alice: !assess", "alice: 1", "alice: stop")

FEATURE = Feature(
    name="assessments",
    commands=(
        CommandSpec(
            ("assess",),
            "rate your skills 0-3 in a private interview (resumes where you stopped)",
            roles=("mentee", "mentor"),
            handler=assess,
            as_subcommand="start",
            examples=(
                Example("alice: !assess", r"\(1/14\) Open Source Ecosystem Awareness — ", setup=PAIRED),
                Example("alice: !assess", r"Resuming the self-assessment: 1 of 14 answered", setup=STARTED),
            ),
        ),
        CommandSpec(
            ("assess", "review"),
            "rate your mentee's skills as their mentor or co-mentor",
            roles=("mentor",),
            handler=assess_review,
            args=(MENTEE,),
            examples=(Example("bob: !assess review alice", r"\(1/14\) alice's Open Source Ecosystem", setup=PAIRED),),
        ),
        CommandSpec(
            ("assess", "final"),
            "the lead mentor's final check of a mentee's skills (once per round)",
            roles=("mentor",),
            handler=assess_final,
            args=(MENTEE,),
            examples=(Example("bob: !assess final alice", r"\(1/14\) Final check, alice's Open Source", setup=PAIRED),),
        ),
        CommandSpec(
            ("assess", "report"),
            "per skill: self (first→latest), mentor and final ratings this round",
            roles=("mentee", "mentor", "coordinator"),
            handler=assess_report,
            private=True,
            args=(Arg("mentee", kind="member", required=False, help="whose report (default: yours)", complete="my-mentees"),),
            examples=(Example("bob: !assess report alice", r"Open Source Ecosystem Awareness: self 1\n", setup=STARTED),),
        ),
    ),
    flows=(ASSESS,),
)
