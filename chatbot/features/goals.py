"""Goals: a mentee's goal for the round, its milestones, and their mentors' comments.

The goal's text lives in one place, the mentee's ``Signup.goal`` (sign-up, ``!profile set goal``
and ``!goal set`` all write it); steps, comments and completion hang off that sign-up, so each
round has its own goal. A mentee changes their own goal; everyone who mentors them (lead or
co-mentor) sees it and may comment, and coordinators see every goal. The mentee is told of each
comment, the mentors when the goal is reached.
"""

from __future__ import annotations

from datetime import datetime

from chatbot.access import COORDINATOR, ROUND_MENTOR, SELF, Access
from chatbot.commands import ActionError, Arg, CommandSpec, Example, UsageError, in_language
from chatbot.context import Context, Feature
from chatbot.features.certificates import on_progress
from chatbot.wording import sentences
from chatbot.features.matchmaking import MY_MENTEE, PAIRED
from chatbot.features.matchmaking.pairs import active_signup
from chatbot.features.rounds import mentee_round
from chatbot.features.signup import parse_goal
from chatbot.i18n import N_
from chatbot.people import local_date, named, told_text
from storage.progress import GoalStep
from storage.tables import Member, Round, Signup

STEPS_MAX = 20
STEP_MAX = 200
COMMENT_MAX = 500
#: the newest comments a goal shows; older ones are counted
COMMENTS_SHOWN = 3


def _goal_of(ctx: Context, mentee: Member, rnd: Round, me: Member) -> Signup:
    """The mentee's sign-up for the round, whose ``goal`` is the goal."""
    if mentee.id == me.id:
        try:
            return active_signup(ctx, mentee, rnd, "mentee")
        except ActionError:
            if ctx.has_role("mentor"):
                why = ctx._(
                    "You are not signed up as a mentee in {round}, and goals are mentees': {command} shows a mentee's.",
                    round=rnd.name, command=ctx.command("goal", "MENTEE"),
                )
            else:
                why = ctx._(
                    "You are not signed up as a mentee in {round}, and goals are mentees': {command} first.",
                    round=rnd.name, command=ctx.command("signup", "mentee"),
                )
            raise ActionError(why) from None
    return active_signup(ctx, mentee, rnd, "mentee")


def _own_goal(ctx: Context) -> tuple[Member, Round, Signup]:
    me = ctx.require_member()
    rnd = mentee_round(ctx, me)
    return me, rnd, _goal_of(ctx, me, rnd, me)


def _when(ctx: Context, viewer: Member, instant: datetime) -> str:
    """The day of ``instant`` in the viewer's timezone, as the answer's language writes it."""
    return ctx.language.short_date(local_date(viewer, instant))


def describe_goal(ctx: Context, viewer: Member, mentee: Member, rnd: Round, signup: Signup) -> str:
    """The goal, its status, the steps one a line and the newest comments (dates in the viewer's zone)."""
    own = viewer.id == mentee.id
    fields = {"round": rnd.name, "mentee": mentee.handle, "goal": signup.goal}
    if not signup.goal:
        if own:
            return ctx._("Your goal for {round} is not set yet ({command}).", command=ctx.command("goal", "set", "TEXT"), **fields)
        return ctx._("{mentee}'s goal for {round} is not set yet.", **fields)
    steps = ctx.repos.goals.steps(signup.pk)
    done = ctx.repos.goals.completion(signup.pk)
    lines = [ctx._("Your goal for {round}: {goal}", **fields) if own else ctx._("{mentee}'s goal for {round}: {goal}", **fields)]
    lines.append(_status(ctx, viewer, steps, done.done_at if done else None))
    lines += [f"{n}. [{'x' if s.done_at else ' '}] {s.text}" for n, s in enumerate(steps, 1)]
    if not steps and own:
        lines.append(ctx._("No steps yet: {command} adds a milestone.", command=ctx.command("goal", "step", "add", "TEXT")))
    comments = ctx.repos.goals.comments(signup.pk)
    if comments:
        earlier = len(comments) - COMMENTS_SHOWN
        if earlier > 0:
            lines.append(ctx._("Comments ({count}, {earlier} earlier not shown):", count=len(comments), earlier=earlier))
        else:
            lines.append(ctx._("Comments ({count}):", count=len(comments)))
        for c in comments[-COMMENTS_SHOWN:]:
            author = ctx.repos.members.get(c.author_id) if c.author_id is not None else None
            lines.append(
                ctx._("{author} on {date}: {comment}", author=author.handle if author else ctx._("(gone)"), date=_when(ctx, viewer, c.created_at), comment=c.text)
            )
    return "\n".join(lines)


def _status(ctx: Context, viewer: Member, steps: list[GoalStep], reached: datetime | None) -> str:
    """The goal's status line: open or reached, and how many of its steps are done."""
    if not steps:
        return ctx._("Status: reached on {date}", date=_when(ctx, viewer, reached)) if reached else ctx._("Status: open")
    finished = sum(1 for s in steps if s.done_at)
    if reached:
        return ctx.ngettext(
            "Status: reached on {date}; {done} of {n} step done", "Status: reached on {date}; {done} of {n} steps done",
            len(steps), date=_when(ctx, viewer, reached), done=finished,
        )
    return ctx.ngettext("Status: open; {done} of {n} step done", "Status: open; {done} of {n} steps done", len(steps), done=finished)


# ---------------------------------------------------------------------------- commands


async def goal_show(ctx: Context, mentee: Member | None) -> str:
    me = ctx.require_member()
    target = mentee or me  # whom the asker may name: GOAL_OF
    rnd = mentee_round(ctx, target)
    return describe_goal(ctx, me, target, rnd, _goal_of(ctx, target, rnd, me))


async def goal_set(ctx: Context, text: str) -> str:
    me, rnd, signup = _own_goal(ctx)
    try:
        goal = parse_goal(text, ctx.language)
    except ValueError as exc:
        raise UsageError(in_language(exc, ctx.language)) from None
    if goal == signup.goal:
        return ctx._("Your goal for {round} is that already: {goal}", round=rnd.name, goal=goal)
    signup.goal = goal
    ctx.repos.signups.save(signup)
    reopened = ctx.repos.goals.reopen(signup.pk, ctx.now)
    return sentences(
        ctx._("Your goal for {round} is now: {goal}.", round=rnd.name, goal=goal),
        ctx._("It was marked reached; it is open again.") if reopened else None,
    )


async def goal_done(ctx: Context) -> str:
    me, rnd, signup = _own_goal(ctx)
    if not signup.goal:
        raise ActionError(ctx._("You have no goal for {round} yet: {command}.", round=rnd.name, command=ctx.command("goal", "set", "TEXT")))
    earlier = ctx.repos.goals.completion(signup.pk)
    if earlier is not None:
        return ctx._("Your goal was marked reached on {date} already.", date=_when(ctx, me, earlier.done_at))
    done = ctx.repos.goals.complete(signup.pk, signup.goal, ctx.now)
    open_steps = sum(1 for s in ctx.repos.goals.steps(signup.pk) if s.done_at is None)
    mentors = ctx.repos.pairs.mentors_of(me.pk)
    for mentor in mentors:
        ctx.dm(
            mentor,
            ctx.language_of(mentor)._("{mentee} has reached their goal for {round}: {goal}", mentee=named(me), round=rnd.name, goal=signup.goal),
            key=f"goal-done:{done.id}:{mentor.id}",
        )
    on_progress(ctx, me, rnd)
    return sentences(
        ctx._("Well done! Your goal for {round} is marked reached.", round=rnd.name),
        ctx.ngettext("({n} step left open.)", "({n} steps left open.)", open_steps) if open_steps else None,
        told_text(ctx.language, mentors),
    )


async def step_add(ctx: Context, text: str) -> str:
    me, rnd, signup = _own_goal(ctx)
    step = " ".join(text.split())
    if len(step) < 3:
        raise UsageError(ctx._("say a little more about the step"))
    if len(step) > STEP_MAX:
        raise UsageError(ctx._("keep a step under {most} characters", most=STEP_MAX))
    steps = ctx.repos.goals.steps(signup.pk)
    if len(steps) >= STEPS_MAX:
        raise ActionError(ctx._("A goal has {most} steps at most.", most=STEPS_MAX))
    ctx.repos.goals.add_step(signup.pk, step, ctx.now)
    number = len(steps) + 1
    done = ctx.command("goal", "step", "done", str(number))
    return ctx._(
        "Step {number} added: {step}. {command} when it is done.", number=number, step=step, command=done
    )


async def step_done(ctx: Context, number: int) -> str:
    me, rnd, signup = _own_goal(ctx)
    steps = ctx.repos.goals.steps(signup.pk)
    if not steps:
        raise ActionError(ctx._("Your goal has no steps yet: {command}.", command=ctx.command("goal", "step", "add", "TEXT")))
    if number > len(steps):
        raise UsageError(ctx.ngettext("number: your goal has {n} step; choose 1 to {n}", "number: your goal has {n} steps; choose 1 to {n}", len(steps)))
    step = steps[number - 1]
    if step.done_at is not None:
        return ctx._("Step {number} was done on {date} already.", number=number, date=_when(ctx, me, step.done_at))
    ctx.repos.goals.finish_step(step, ctx.now)
    left = sum(1 for s in steps if s.done_at is None)
    if left:
        return ctx._("Step {number} is done: {step}. {left} to go.", number=number, step=step.text, left=left)
    return ctx._(
        "Step {number} is done: {step}. That was the last one: {command} when the goal is reached.",
        number=number, step=step.text, command=ctx.command("goal", "done"),
    )


async def goal_comment(ctx: Context, mentee: Member, text: str) -> str:
    me = ctx.require_member()
    rnd = mentee_round(ctx, mentee)
    if mentee.pk == me.pk or not ctx.repos.pairs.mentors(me.pk, mentee.pk):
        raise ActionError(ctx._("{who} is not your mentee; you can comment on your own mentees' goals.", who=mentee.handle))
    signup = _goal_of(ctx, mentee, rnd, me)
    comment = " ".join(text.split())
    if len(comment) > COMMENT_MAX:
        raise UsageError(ctx._("keep a comment under {most} characters", most=COMMENT_MAX))
    saved = ctx.repos.goals.add_comment(signup.pk, me.pk, comment, ctx.now)
    ctx.dm(
        mentee,
        ctx.language_of(mentee)._("{mentor} commented on your goal: {comment}", mentor=named(me), comment=comment),
        key=f"goal-comment:{saved.id}",
    )
    return ctx._("Comment saved; {mentee} has been told.", mentee=mentee.handle)


#: whose goal: your own, your mentee's (in their round: mentored then counts), anyone's (coordinators)
GOAL_OF = Access.of(
    SELF, ROUND_MENTOR, COORDINATOR,
    round=lambda ctx, mentee, _: mentee_round(ctx, mentee),
    refusal=N_("{name} is not your mentee; you can see your own mentees' goals."),
)
STEPPED = (*PAIRED, "alice: !goal step add Set up a local wiki")
TEXT = Arg("text", kind="text", rest=True, help=N_("a sentence"))

FEATURE = Feature(
    name="goals",
    commands=(
        CommandSpec(
            ("goal",),
            N_("your goal for the round with its steps and comments (mentors: a mentee's)"),
            roles=("mentee", "mentor", "coordinator"),
            handler=goal_show,
            private=True,
            args=(Arg("mentee", kind="member", required=False, help=N_("whose goal (your mentee)"), complete="my-mentees", access=GOAL_OF),),
            examples=(
                Example("alice: !goal", r"Your goal for 2027 Q1: Land my first patch in core\nStatus: open", setup=PAIRED),
                Example("bob: !goal alice", r"alice's goal for 2027 Q1: Land my first patch in core", setup=PAIRED),
            ),
        ),
        CommandSpec(
            ("goal", "set"),
            N_("set or change your goal for the round"),
            roles=("mentee",),
            handler=goal_set,
            private=True,
            args=(TEXT,),
            examples=(Example("alice: !goal set Get two patches merged", r"Your goal for 2027 Q1 is now: Get two patches merged", setup=PAIRED),),
        ),
        CommandSpec(
            ("goal", "done"),
            N_("mark your goal reached (your mentors are told)"),
            roles=("mentee",),
            handler=goal_done,
            private=True,
            examples=(Example("alice: !goal done", r"Well done! .* Told: bob", setup=PAIRED),),
        ),
        CommandSpec(
            ("goal", "step", "add"),
            N_("add a milestone to your goal"),
            roles=("mentee",),
            handler=step_add,
            private=True,
            args=(TEXT,),
            examples=(Example("alice: !goal step add Set up a local wiki", r"Step 1 added: Set up a local wiki", setup=PAIRED),),
        ),
        CommandSpec(
            ("goal", "step", "done"),
            N_("mark a milestone done (by its number in {prefix}goal)"),
            roles=("mentee",),
            handler=step_done,
            private=True,
            args=(Arg("number", kind="int", minimum=1, help=N_("the step's number")),),
            examples=(Example("alice: !goal step done 1", r"Step 1 is done: Set up a local wiki", setup=STEPPED),),
        ),
        CommandSpec(
            ("goal", "comment"),
            N_("comment on your mentee's goal (they are told)"),
            roles=("mentor",),
            handler=goal_comment,
            private=True,
            args=(MY_MENTEE, Arg("text", kind="text", rest=True, help=N_("your comment"))),
            examples=(Example("bob: !goal comment alice Try the good-first-bug tag", r"Comment saved; alice has been told", setup=PAIRED),),
        ),
    ),
)
