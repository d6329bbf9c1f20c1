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

from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from typing import Any, Sequence

from chatbot.access import COORDINATOR, MENTOR, ROUND_MENTOR, SELF, Access
from chatbot.commands import ActionError, Arg, CommandSpec, Example
from chatbot.features.rounds import PERSON_AND_ROUND, named_round, person_and_round
from chatbot.context import Context, Feature
from chatbot.features.assessment_report import cut_list, render_report
from chatbot.features.assessment_round import round_overview
from chatbot.features.assessment_scores import offer_form, read_scores
from chatbot.features.certificates import on_progress
from chatbot.features.matchmaking import PAIRED
from chatbot.flows import Flow, Step
from chatbot.i18n import N_
from chatbot.domain.skills import GENERALIST, Catalogue, CatalogueError, Skill, SkillLookupError, load_catalogue, scale_help
from storage.assessments import Assessment
from storage.mentorship import Pair
from storage.tables import Conversation, Member, Round

FLOW = "assess"
#: the value of the ``at`` answer after "stop": the interview ends, paused
STOPPED = -1
STOP_WORDS = ("stop", "pause")
#: how long after its round closed a lead mentor may still do a mentee's final check
FINAL_CHECK_DAYS = 14
SKIP_WORDS = ("skip", "pass")
#: the longest line a report writes
#: the words a person types to leave the interview or pass a skill: the same in every language
#: (they are commands), so texts name them as fields
KEYWORDS = {"skip": SKIP_WORDS[0], "stop": STOP_WORDS[0]}
#: what an interview is called where it begins, by kind and whether it belongs to a round
HEADINGS = {
    ("self", True): N_("Self-assessment for {round}"),
    ("self", False): N_("Self-assessment"),
    ("mentor", True): N_("Mentor review of {subject} for {round}"),
    ("mentor", False): N_("Mentor review of {subject}"),
    ("final", True): N_("Final check of {subject} for {round}"),
    ("final", False): N_("Final check of {subject}"),
}
#: said before another interview starts over one in progress
PAUSED = {
    "self": N_("Your self-assessment in progress is paused, answers saved."),
    "mentor": N_("Your mentor review in progress is paused, answers saved."),
    "final": N_("Your final check in progress is paused, answers saved."),
}
#: the mentee hears that their mentor finished a review or final check
FINISHED_FOR_MENTEE = {
    "mentor": N_("{assessor} completed a mentor review of your skills: {prefix}assess report shows it."),
    "final": N_("{assessor} completed a final check of your skills: {prefix}assess report shows it."),
}

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
        # the detail names the file and line, for whoever keeps the catalogue: it stays as written
        raise ActionError(ctx._("The skills catalogue cannot be used: {error}", error=exc)) from None


def skills_for(ctx: Context, member: Member, yours: bool) -> list[str]:
    """The titles an assessment of ``member`` asks: their focus's skills, then the Generalist ones."""
    if not member.role_focus:
        if yours:
            raise ActionError(ctx._("Set your role focus first, e.g. {prefix}profile set focus Generalist.", prefix=ctx.prefix))
        raise ActionError(ctx._("{handle} has no role focus yet ({prefix}profile set focus sets it).", handle=member.handle, prefix=ctx.prefix))
    try:
        return [s.title for s in catalogue(ctx)[0].for_focus(member.role_focus)]
    except SkillLookupError as exc:
        if yours:
            raise ActionError(ctx._("The skills catalogue does not fit your focus: {error}", error=exc.in_language(ctx.language))) from None
        raise ActionError(ctx._(
            "The skills catalogue does not fit {handle}'s focus: {error}", handle=member.handle, error=exc.in_language(ctx.language),
        )) from None


# ---------------------------------------------------------------------------- the interview


def _prompt(ctx: Context, data: dict[str, Any]) -> str:
    skill = catalogue(ctx)[1].get(data["skills"][data["at"]])
    # the shipped catalogue's words are in the catalogs; a community's own are as it wrote them
    title = ctx._(data["skills"][data["at"]])
    if data["kind"] == "mentor":
        title = ctx._("{subject}'s {skill}", subject=data["subject"], skill=title)
    elif data["kind"] == "final":
        title = ctx._("Final check, {subject}'s {skill}", subject=data["subject"], skill=title)
    if skill is not None and skill.description:
        title = f"{title} — {ctx._(skill.description)}"
    saved = data.get("_saved", 0)
    if saved > 1:  # several scores in one message: say so, since the next question may be the same one
        title += "\n" + ctx.ngettext("(Saved {n} score.)", "(Saved {n} scores.)", saved)
    return title  # the scale is said once, when the interview begins or resumes (see _how_to_answer)


def _answer(ctx: Context, text: str, data: dict[str, Any]) -> int:
    """Save the answer to the current skill; return the index of the next unanswered one
    (``len(skills)`` when none is left, :data:`STOPPED` to pause)."""
    data.pop("_saved", None)  # said once, with the question after the answer that saved them
    word = text.strip().strip(".!").lower()
    repo, skills, at = ctx.repos.assessments, data["skills"], data["at"]
    if word in STOP_WORDS or repo.get(data["assessment"]) is None:
        return STOPPED
    if word not in SKIP_WORDS:
        scores = read_scores(text, at, len(skills), ctx.language, KEYWORDS)
        for index, score in scores.items():
            repo.answer(data["assessment"], skills[index], score, ctx.now)
        data["_saved"] = len(scores)
        if skills[at] not in repo.answers(data["assessment"]):  # others rated by number: this one still waits
            offer_form(ctx, data, at)
            return at
    answered = repo.answers(data["assessment"])
    following = next((i for i in range(at + 1, len(skills)) if skills[i] not in answered), len(skills))
    offer_form(ctx, data, following)
    return following


def _how_to_answer(ctx: Context) -> str:
    """The scale and the ways to answer, said once rather than with each of 21 questions."""
    return "\n".join((
        ctx._("Scale: {scale}.", scale=scale_help(ctx.language)),
        ctx._("Rate several at once if you like: in order from the skill asked (2 3 1 0 N/A) or by number (5: 2, 7-9: 1)."),
    ))


def _resume_command(ctx: Context, data: dict[str, Any]) -> str:
    if data["kind"] == "self":
        return ctx.command("assess")
    return ctx.command("assess", "review" if data["kind"] == "mentor" else "final", data["subject"])


async def _finish(ctx: Context, data: dict[str, Any]) -> str:
    repo = ctx.repos.assessments
    assessment = repo.get(data["assessment"])
    if assessment is None:
        return ctx._("That assessment no longer exists; there is nothing more to ask.")
    answered = repo.answers(data["assessment"])
    total, resume = len(assessment.skills), _resume_command(ctx, data)
    if data["at"] == STOPPED:
        return ctx.ngettext(
            "Paused: {answered} of {n} answered, all saved. {command} carries on where you stopped.",
            "Paused: {answered} of {n} answered, all saved. {command} carries on where you stopped.",
            total, answered=ctx.language.number(len(answered)), command=resume,
        )
    missing = [s for s in assessment.skills if s not in answered]
    if missing:
        return ctx.ngettext(
            "That was the last skill. You skipped {n}: {skills}. {command} asks it again when you are ready.",
            "That was the last skill. You skipped {n}: {skills}. {command} asks them again when you are ready.",
            len(missing), skills=cut_list(", ".join(missing), 120), command=resume,
        )
    repo.complete(assessment, ctx.now)
    _tell(ctx, assessment, data["subject"])
    _completes(ctx, assessment)
    report = ctx.command("assess", "report") + ("" if data["kind"] == "self" else f" {data['subject']}")
    return _completed(ctx, assessment.kind, total, report)


def _completed(ctx: Context, kind: str, total: int, report: str) -> str:
    if kind == "self":
        return ctx.ngettext(
            "Thank you: the self-assessment is complete ({n} skill). {command} shows it.",
            "Thank you: the self-assessment is complete ({n} skills). {command} shows it.", total, command=report,
        )
    if kind == "mentor":
        return ctx.ngettext(
            "Thank you: the mentor review is complete ({n} skill). {command} shows it.",
            "Thank you: the mentor review is complete ({n} skills). {command} shows it.", total, command=report,
        )
    return ctx.ngettext(
        "Thank you: the final check is complete ({n} skill). {command} shows it.",
        "Thank you: the final check is complete ({n} skills). {command} shows it.", total, command=report,
    )


def _completes(ctx: Context, assessment: Assessment) -> None:
    """A final check done may complete the mentee's round (the certificate's hook)."""
    rnd = ctx.repos.reports.round(assessment.round_id) if assessment.kind == "final" and assessment.round_id else None
    mentee = ctx.repos.members.get(assessment.member_id)
    if rnd is not None and mentee is not None:
        on_progress(ctx, mentee, rnd)


def _tell(ctx: Context, assessment: Assessment, subject: str) -> None:
    """A finished review or final check is news to the mentee; a finished self-assessment to the mentors."""
    assessor = ctx.require_member()
    if assessment.kind == "self":
        for mentor in ctx.repos.pairs.mentors_of(assessment.member_id):
            ctx.dm(
                mentor,
                ctx.language_of(mentor)._(
                    "{mentee} completed a self-assessment: {prefix}assess report {mentee} shows it.", mentee=subject, prefix=ctx.prefix,
                ),
                key=f"assessed:{assessment.id}:{mentor.id}",
            )
        return
    mentee = ctx.repos.members.get(assessment.member_id)
    if mentee is not None:
        ctx.dm(
            mentee,
            ctx.language_of(mentee)._(FINISHED_FOR_MENTEE[assessment.kind], assessor=assessor.handle, prefix=ctx.prefix),
            key=f"assessed:{assessment.id}",
        )


#: what is told when the interview stops (!cancel) or is put aside (!later): each answer is stored as it comes
SAVED_AS_GIVEN = N_("Paused; every answer you gave is saved. The same {prefix}assess command carries on where you stopped.")

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
    cancelled=SAVED_AS_GIVEN,
    later=lambda ctx, data: ctx._(SAVED_AS_GIVEN, prefix=ctx.prefix),
)


def _interview_of(ctx: Context, me: Member) -> Conversation | None:
    """The assessment interview the person is in, if any. Another kind (a check-in, a sign-up)
    is paused when this one starts and carries on after it: refusing ``!assess`` during a
    check-in sent the scores that followed into the check-in."""
    conv = ctx.repos.conversations.get(me.pk)
    return conv if conv is not None and conv.flow == FLOW else None


async def _begin(ctx: Context, assessment: Assessment, subject: Member, intro: str) -> str | None:
    """Start (or resume) the interview at the first unanswered skill."""
    me = ctx.require_member()
    conv = _interview_of(ctx, me)
    note = ""
    if conv is not None and conv.data.get("assessment") != assessment.pk:
        note = ctx._(PAUSED[conv.data["kind"]]) + " "
    data = {"assessment": assessment.pk, "kind": assessment.kind, "subject": subject.handle, "skills": list(assessment.skills)}
    answered = ctx.repos.assessments.answers(assessment.pk)
    pending = [i for i, s in enumerate(assessment.skills) if s not in answered]
    if not pending:  # every skill has an answer (a catalogue change can do that): just close it
        ctx.end_flow(me.pk, FLOW)  # only an assessment's: another interview carries on
        return note + await _finish(ctx, {**data, "at": len(assessment.skills)})
    ctx.start_flow(FLOW, {**data, "at": pending[0]})
    offer_form(ctx, data, pending[0])
    if answered:
        intro = _resuming(ctx, assessment.kind, len(answered), len(assessment.skills), pending[0] + 1)
    else:  # the skills by number, the scale and the ways to answer, once
        skills = (f"{n}. {ctx._(title)}" for n, title in enumerate(assessment.skills, 1))
        intro = "\n".join([intro, *skills, _how_to_answer(ctx)])
    # said in a room too: the engine puts it in the private message, before the first question
    return note + intro


def _resuming(ctx: Context, kind: str, answered: int, total: int, at: int) -> str:
    fields = {"answered": ctx.language.number(answered), "at": ctx.language.number(at)}
    if kind == "self":
        return ctx.ngettext(
            "Resuming the self-assessment: {answered} of {n} answered, carrying on at skill {at}.",
            "Resuming the self-assessment: {answered} of {n} answered, carrying on at skill {at}.", total, **fields,
        )
    if kind == "mentor":
        return ctx.ngettext(
            "Resuming the mentor review: {answered} of {n} answered, carrying on at skill {at}.",
            "Resuming the mentor review: {answered} of {n} answered, carrying on at skill {at}.", total, **fields,
        )
    return ctx.ngettext(
        "Resuming the final check: {answered} of {n} answered, carrying on at skill {at}.",
        "Resuming the final check: {answered} of {n} answered, carrying on at skill {at}.", total, **fields,
    )


def _intro(ctx: Context, kind: str, subject: Member, rnd: Round | None, skills: Sequence[str]) -> str:
    heading = ctx._(HEADINGS[kind, rnd is not None], subject=subject.handle, round=rnd.name if rnd is not None else "")
    focus = subject.role_focus or GENERALIST
    if focus.casefold() == GENERALIST.casefold():
        scope = focus
    else:
        scope = ctx._("{focus} and {generalist}", focus=focus, generalist=GENERALIST)
    return (
        ctx.ngettext("{heading}: {n} skill ({scope}).", "{heading}: {n} skills ({scope}).", len(skills), heading=heading, scope=scope)
        + " " + ctx._("Each answer is saved as you go; {skip} moves on, {stop} pauses.", **KEYWORDS)
    )


# ---------------------------------------------------------------------------- commands


async def assess(ctx: Context) -> str | None:
    me = ctx.require_member()
    _interview_of(ctx, me)
    rnd = ctx.repos.rounds.current(ctx.now.date())
    round_id = rnd.id if rnd is not None else None
    repo = ctx.repos.assessments
    assessment = repo.unfinished(me.pk, me.pk, "self", round_id)
    if assessment is None:
        skills = skills_for(ctx, me, yours=True)
        assessment = repo.start(me.pk, me.pk, "self", round_id, me.role_focus or "", skills, ctx.now)
    return await _begin(ctx, assessment, me, _intro(ctx, "self", me, rnd, assessment.skills))


def _pair_with(ctx: Context, me: Member, mentee: Member, final: bool = False) -> Pair:
    """The asker's active pair with ``mentee``: only their mentor or co-mentor assesses them.
    A final check is still due for a while after the round closed (``FINAL_CHECK_DAYS``)."""
    if mentee.id == me.id:
        raise ActionError(ctx._("To rate your own skills, use {prefix}assess.", prefix=ctx.prefix))
    for pair in ctx.repos.pairs.of_mentee(mentee.pk):
        if pair.mentor_id == me.id:
            return pair
    closed = ctx.repos.pairs.closed_with(me.pk, mentee.pk, ctx.now - timedelta(days=FINAL_CHECK_DAYS)) if final else None
    if closed is not None:
        return closed
    raise ActionError(ctx._("You do not mentor {mentee}: only their mentor or co-mentor can assess them.", mentee=mentee.handle))


async def _assess_other(ctx: Context, mentee: Member, kind: str, pair: Pair) -> str | None:
    me = ctx.require_member()
    _interview_of(ctx, me)
    repo = ctx.repos.assessments
    rnd = ctx.repos.db.get(Round, pair.round_id)
    assessment = repo.unfinished(mentee.pk, me.pk, kind, pair.round_id)
    if assessment is None:
        skills = skills_for(ctx, mentee, yours=False)
        assessment = repo.start(mentee.pk, me.pk, kind, pair.round_id, mentee.role_focus or "", skills, ctx.now)
    return await _begin(ctx, assessment, mentee, _intro(ctx, kind, mentee, rnd, assessment.skills))


async def assess_review(ctx: Context, mentee: Member) -> str | None:
    pair = _pair_with(ctx, ctx.require_member(), mentee)
    return await _assess_other(ctx, mentee, "mentor", pair)


async def assess_final(ctx: Context, mentee: Member) -> str | None:
    pair = _pair_with(ctx, ctx.require_member(), mentee, final=True)
    if pair.kind != "mentor":
        lead = ctx.repos.pairs.mentors_of(mentee.pk)
        fields = {"mentee": mentee.handle, "prefix": ctx.prefix}
        if lead:
            raise ActionError(ctx._(
                "The final check is for {mentee}'s lead mentor ({mentor}); as co-mentor, add a review with {prefix}assess review {mentee}.",
                mentor=lead[0].handle, **fields,
            ))
        raise ActionError(ctx._(
            "The final check is for {mentee}'s lead mentor; as co-mentor, add a review with {prefix}assess review {mentee}.", **fields,
        ))
    if ctx.repos.assessments.completed_final(mentee.pk, pair.round_id) is not None:
        rnd = ctx.repos.db.get(Round, pair.round_id)
        fields = {"mentee": mentee.handle, "prefix": ctx.prefix}
        if rnd is not None:
            raise ActionError(ctx._(
                "The final check of {mentee} for {round} is done; there is one per round. {prefix}assess report {mentee} shows it.",
                round=rnd.name, **fields,
            ))
        raise ActionError(ctx._(
            "The final check of {mentee} for this round is done; there is one per round. {prefix}assess report {mentee} shows it.", **fields,
        ))
    return await _assess_other(ctx, mentee, "final", pair)


def _report_round(ctx: Context, subject: Member, name: str | None) -> tuple[Round | None, bool]:
    """The round named; else the running round if it rates the person, else the round (or
    none) of their latest assessment. With it: whether the person was assessed outside rounds."""
    if name:
        return named_round(ctx, name), False
    repo = ctx.repos.assessments
    rnd = ctx.repos.rounds.running(ctx.now.date())
    if rnd is not None and repo.ratings(subject.pk, rnd.pk):
        return rnd, False
    latest = repo.latest(subject.pk)
    if latest is None:
        return rnd, False
    if latest.round_id is None:
        return None, True
    return ctx.repos.db.get(Round, latest.round_id), False


async def assess_report(ctx: Context, mentee: str | None = None) -> str:
    me = ctx.require_member()
    person, round_name = person_and_round(ctx, mentee)
    if person is None and ctx.has_role("coordinator"):
        rnd = named_round(ctx, round_name) if round_name else ctx.repos.rounds.current(ctx.now.date())
        if rnd is not None:
            return round_overview(ctx, rnd)
    subject = person or me  # one the asker may name: REPORT_OF
    rnd, outside = _report_round(ctx, subject, round_name)
    repo = ctx.repos.assessments
    ratings = repo.ratings(subject.pk, rnd.pk if rnd else None)
    if not ratings:
        return _no_assessment(ctx, subject, rnd, outside=outside)
    try:
        order = skills_for(ctx, subject, yours=subject.id == me.id)
    except ActionError:
        order = []  # no (valid) focus: the skills rated are still worth showing
    return render_report(subject.handle, rnd.name if rnd is not None else None, order, ratings, ctx.language)


def _no_assessment(ctx: Context, subject: Member, rnd: Round | None, outside: bool) -> str:
    """Nothing rated yet: said to "you" when it is the asker's own report, with how to start."""
    if ctx.member is not None and subject.id == ctx.member.id:
        if rnd is not None:
            text = ctx._("You have no assessment in {round} yet.", round=rnd.name)
        elif outside:
            text = ctx._("You have no assessment outside rounds yet.")
        else:
            text = ctx._("You have no assessment yet.")
        return text + " " + ctx._("{prefix}assess starts one.", prefix=ctx.prefix)
    if rnd is not None:
        return ctx._("No assessment of {handle} in {round} yet.", handle=subject.handle, round=rnd.name)
    if outside:
        return ctx._("No assessment of {handle} outside rounds yet.", handle=subject.handle)
    return ctx._("No assessment of {handle} yet.", handle=subject.handle)


# ---------------------------------------------------------------------------- declarations

MENTEE = Arg("mentee", kind="member", help=N_("the mentee"), complete="my-mentees")
#: whose report: your own, your mentee's (now, or in the report's round), anyone's (coordinators)
REPORT_OF = Access.of(
    SELF, MENTOR, ROUND_MENTOR, COORDINATOR, person=person_and_round,
    round=lambda ctx, person, round_name: _report_round(ctx, person, round_name)[0],
    refusal=N_("A report is private: you see your own, mentors their mentees', coordinators anyone's."),
)
STARTED = (*PAIRED, "alice: !assess", "alice: 1", "alice: stop")

FEATURE = Feature(
    name="assessments",
    commands=(
        CommandSpec(
            ("assess",),
            N_("rate your skills 0-3 in a private interview (resumes where you stopped)"),
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
            N_("rate your mentee's skills as their mentor or co-mentor"),
            roles=("mentor",),
            handler=assess_review,
            args=(MENTEE,),
            examples=(Example("bob: !assess review alice", r"\(1/14\) alice's Open Source Ecosystem", setup=PAIRED),),
        ),
        CommandSpec(
            ("assess", "final"),
            N_("the lead mentor's final check of a mentee's skills (once per round)"),
            roles=("mentor",),
            handler=assess_final,
            args=(MENTEE,),
            examples=(Example("bob: !assess final alice", r"\(1/14\) Final check, alice's Open Source", setup=PAIRED),),
        ),
        CommandSpec(
            ("assess", "report"),
            N_("per skill: self (first→latest), mentor and final ratings in a round (default: the running one, else your latest)"),
            roles=("mentee", "mentor", "coordinator"),
            handler=assess_report,
            private=True,
            args=(replace(PERSON_AND_ROUND, access=REPORT_OF),),
            examples=(
                Example("bob: !assess report alice", r"Open Source Ecosystem Awareness: self 1\n", setup=STARTED),
                Example("you: !assess report", r"Assessments in 2027 Q1: 1 mentee\.\nalice: self-assessment under way", setup=STARTED),
                Example("!assess report alice 2027 Q1", r"Skills of alice in 2027 Q1 .*\nOpen Source Ecosystem Awareness: self 1\n",
                        setup=(*STARTED, "!round close")),
            ),
        ),
    ),
    flows=(ASSESS,),
)
