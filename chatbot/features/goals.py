"""Goals: a mentee's goal for the round, its milestones, and their mentors' comments.

The goal's text lives in one place, the mentee's ``Signup.goal`` (sign-up, ``!profile set goal``
and ``!goal set`` all write it); steps, comments and completion hang off that sign-up, so each
round has its own goal. A mentee changes their own goal; everyone who mentors them (lead or
co-mentor) sees it and may comment, and coordinators see every goal. The mentee is told of each
comment, the mentors when the goal is reached.
"""

from __future__ import annotations

from datetime import datetime

from chatbot.commands import ActionError, Arg, CommandSpec, Example, UsageError
from chatbot.context import Context, Feature
from chatbot.features.away import local_date, named
from chatbot.features.matchmaking import MY_MENTEE, PAIRED, active_signup
from chatbot.features.rounds import current_round
from chatbot.features.signup import parse_goal
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
            hint = f"{ctx.prefix}goal MENTEE shows a mentee's" if ctx.has_role("mentor") else f"{ctx.prefix}signup mentee first"
            raise ActionError(f"You are not signed up as a mentee in {rnd.name}, and goals are mentees': {hint}.") from None
    return active_signup(ctx, mentee, rnd, "mentee")


def _own_goal(ctx: Context) -> tuple[Member, Round, Signup]:
    me = ctx.require_member()
    rnd = current_round(ctx)
    return me, rnd, _goal_of(ctx, me, rnd, me)


def _when(viewer: Member, instant: datetime) -> str:
    return local_date(viewer, instant).isoformat()


def describe_goal(ctx: Context, viewer: Member, mentee: Member, rnd: Round, signup: Signup) -> str:
    """The goal, its status, the steps one a line and the newest comments (dates in the viewer's zone)."""
    assert signup.id is not None
    whose = "Your goal" if viewer.id == mentee.id else f"{mentee.handle}'s goal"
    if not signup.goal:
        hint = f" ({ctx.prefix}goal set TEXT)" if viewer.id == mentee.id else ""
        return f"{whose} for {rnd.name} is not set yet{hint}."
    steps = ctx.repos.goals.steps(signup.id)
    done = ctx.repos.goals.completion(signup.id)
    status = f"reached on {_when(viewer, done.done_at)}" if done else "open"
    if steps:
        status += f"; {sum(1 for s in steps if s.done_at)} of {len(steps)} steps done"
    lines = [f"{whose} for {rnd.name}: {signup.goal}", f"Status: {status}"]
    lines += [f"{n}. [{'x' if s.done_at else ' '}] {s.text}" for n, s in enumerate(steps, 1)]
    if not steps and viewer.id == mentee.id:
        lines.append(f"No steps yet: {ctx.prefix}goal step add TEXT adds a milestone.")
    comments = ctx.repos.goals.comments(signup.id)
    if comments:
        earlier = len(comments) - COMMENTS_SHOWN
        lines.append(f"Comments ({len(comments)}" + (f", {earlier} earlier not shown):" if earlier > 0 else "):"))
        for c in comments[-COMMENTS_SHOWN:]:
            author = ctx.repos.members.get(c.author_id) if c.author_id is not None else None
            lines.append(f"{author.handle if author else '(gone)'} on {_when(viewer, c.created_at)}: {c.text}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- commands


async def goal_show(ctx: Context, mentee: Member | None) -> str:
    me = ctx.require_member()
    rnd = current_round(ctx)
    target = mentee or me
    assert me.id is not None and target.id is not None
    if target.id != me.id and not ctx.has_role("coordinator") and not ctx.repos.pairs.mentors(me.id, target.id):
        raise ActionError(f"{target.handle} is not your mentee; you can see your own mentees' goals.")
    return describe_goal(ctx, me, target, rnd, _goal_of(ctx, target, rnd, me))


async def goal_set(ctx: Context, text: str) -> str:
    me, rnd, signup = _own_goal(ctx)
    assert signup.id is not None
    try:
        goal = parse_goal(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if goal == signup.goal:
        return f"Your goal for {rnd.name} is that already: {goal}"
    signup.goal = goal
    ctx.repos.signups.save(signup)
    reopened = ctx.repos.goals.reopen(signup.id, ctx.now)
    tail = " It was marked reached; it is open again." if reopened else ""
    return f"Your goal for {rnd.name} is now: {goal}.{tail}"


async def goal_done(ctx: Context) -> str:
    me, rnd, signup = _own_goal(ctx)
    assert signup.id is not None
    if not signup.goal:
        raise ActionError(f"You have no goal for {rnd.name} yet: {ctx.prefix}goal set TEXT.")
    earlier = ctx.repos.goals.completion(signup.id)
    if earlier is not None:
        return f"Your goal was marked reached on {_when(me, earlier.done_at)} already."
    done = ctx.repos.goals.complete(signup.id, signup.goal, ctx.now)
    open_steps = sum(1 for s in ctx.repos.goals.steps(signup.id) if s.done_at is None)
    mentors = ctx.repos.pairs.mentors_of(me.id)  # type: ignore[arg-type]
    for mentor in mentors:
        ctx.dm(
            mentor,
            f"{named(me)} has reached their goal for {rnd.name}: {signup.goal}",
            key=f"goal-done:{done.id}:{mentor.id}",
        )
    tail = f" ({open_steps} step{'s' if open_steps != 1 else ''} left open.)" if open_steps else ""
    told = f" Told: {', '.join(m.handle for m in mentors)}." if mentors else ""
    return f"Well done! Your goal for {rnd.name} is marked reached.{tail}{told}"


async def step_add(ctx: Context, text: str) -> str:
    me, rnd, signup = _own_goal(ctx)
    assert signup.id is not None
    step = " ".join(text.split())
    if len(step) < 3:
        raise UsageError("say a little more about the step")
    if len(step) > STEP_MAX:
        raise UsageError(f"keep a step under {STEP_MAX} characters")
    steps = ctx.repos.goals.steps(signup.id)
    if len(steps) >= STEPS_MAX:
        raise ActionError(f"A goal has {STEPS_MAX} steps at most.")
    ctx.repos.goals.add_step(signup.id, step, ctx.now)
    return f"Step {len(steps) + 1} added: {step}. {ctx.prefix}goal step done {len(steps) + 1} when it is done."


async def step_done(ctx: Context, number: int) -> str:
    me, rnd, signup = _own_goal(ctx)
    assert signup.id is not None
    steps = ctx.repos.goals.steps(signup.id)
    if not steps:
        raise ActionError(f"Your goal has no steps yet: {ctx.prefix}goal step add TEXT.")
    if number > len(steps):
        raise UsageError(f"number: your goal has {len(steps)} step{'s' if len(steps) != 1 else ''}; choose 1 to {len(steps)}")
    step = steps[number - 1]
    if step.done_at is not None:
        return f"Step {number} was done on {_when(me, step.done_at)} already."
    ctx.repos.goals.finish_step(step, ctx.now)
    left = sum(1 for s in steps if s.done_at is None)
    if left:
        return f"Step {number} is done: {step.text}. {left} to go."
    return f"Step {number} is done: {step.text}. That was the last one: {ctx.prefix}goal done when the goal is reached."


async def goal_comment(ctx: Context, mentee: Member, text: str) -> str:
    me = ctx.require_member()
    rnd = current_round(ctx)
    assert me.id is not None and mentee.id is not None
    if mentee.id == me.id or not ctx.repos.pairs.mentors(me.id, mentee.id):
        raise ActionError(f"{mentee.handle} is not your mentee; you can comment on your own mentees' goals.")
    signup = _goal_of(ctx, mentee, rnd, me)
    assert signup.id is not None
    comment = " ".join(text.split())
    if len(comment) > COMMENT_MAX:
        raise UsageError(f"keep a comment under {COMMENT_MAX} characters")
    saved = ctx.repos.goals.add_comment(signup.id, me.id, comment, ctx.now)
    ctx.dm(
        mentee,
        f"{named(me)} commented on your goal: {comment}",
        key=f"goal-comment:{saved.id}",
    )
    return f"Comment saved; {mentee.handle} has been told."


STEPPED = (*PAIRED, "alice: !goal step add Set up a local wiki")
TEXT = Arg("text", kind="text", rest=True, help="a sentence")

FEATURE = Feature(
    name="goals",
    commands=(
        CommandSpec(
            ("goal",),
            "your goal for the round with its steps and comments (mentors: a mentee's)",
            roles=("mentee", "mentor", "coordinator"),
            handler=goal_show,
            private=True,
            args=(Arg("mentee", kind="member", required=False, help="whose goal (your mentee)", complete="my-mentees"),),
            examples=(
                Example("alice: !goal", r"Your goal for 2027 Q1: Land my first patch in core\nStatus: open", setup=PAIRED),
                Example("bob: !goal alice", r"alice's goal for 2027 Q1: Land my first patch in core", setup=PAIRED),
            ),
        ),
        CommandSpec(
            ("goal", "set"),
            "set or change your goal for the round",
            roles=("mentee",),
            handler=goal_set,
            private=True,
            args=(TEXT,),
            examples=(Example("alice: !goal set Get two patches merged", r"Your goal for 2027 Q1 is now: Get two patches merged", setup=PAIRED),),
        ),
        CommandSpec(
            ("goal", "done"),
            "mark your goal reached (your mentors are told)",
            roles=("mentee",),
            handler=goal_done,
            private=True,
            examples=(Example("alice: !goal done", r"Well done! .* Told: bob", setup=PAIRED),),
        ),
        CommandSpec(
            ("goal", "step", "add"),
            "add a milestone to your goal",
            roles=("mentee",),
            handler=step_add,
            private=True,
            args=(TEXT,),
            examples=(Example("alice: !goal step add Set up a local wiki", r"Step 1 added: Set up a local wiki", setup=PAIRED),),
        ),
        CommandSpec(
            ("goal", "step", "done"),
            "mark a milestone done (by its number in !goal)",
            roles=("mentee",),
            handler=step_done,
            private=True,
            args=(Arg("number", kind="int", minimum=1, help="the step's number"),),
            examples=(Example("alice: !goal step done 1", r"Step 1 is done: Set up a local wiki", setup=STEPPED),),
        ),
        CommandSpec(
            ("goal", "comment"),
            "comment on your mentee's goal (they are told)",
            roles=("mentor",),
            handler=goal_comment,
            private=True,
            args=(MY_MENTEE, Arg("text", kind="text", rest=True, help="your comment")),
            examples=(Example("bob: !goal comment alice Try the good-first-bug tag", r"Comment saved; alice has been told", setup=PAIRED),),
        ),
    ),
)
