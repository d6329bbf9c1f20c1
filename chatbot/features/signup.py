"""Sign-ups: a short DM interview for mentees and mentors, profiles and withdrawal.

The interview asks only what it does not know yet (a mentor signing up as a mentee too is not
asked their timezone twice). Each answer is saved as it comes, so it survives a restart.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from chatbot.access import COORDINATOR, SELF, Access
from chatbot.commands import ActionError, Arg, CommandSpec, Example, in_language, parse_int
from chatbot.context import Context, Feature
from chatbot.wording import sentences
from chatbot.features.matchmaking.leaving import end_pairs_of
from chatbot.features.matchmaking.pairs import capacity_freed
from chatbot.features.languages import language_name, language_names, parse_languages
from chatbot.features.rounds import OPEN_EXAMPLE, current_round, signup_round, today
from chatbot.features.zones import parse_zone
from chatbot.flows import Flow, Step, carried_on_by
from chatbot.i18n import ENGLISH, N_, Language
from storage.tables import Member, Signup

# ---------------------------------------------------------------------------- answer parsers

def _items(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;\n]+", text) if p.strip()]


def _choose(text: str, options: list[str]) -> str | None:
    """The option ``text`` names (by number, name or the start of a name), else None."""
    raw = text.strip().lower()
    if raw.isdigit() and 1 <= int(raw) <= len(options):
        return options[int(raw) - 1]
    hits = [o for o in options if o.lower() == raw] or [o for o in options if o.lower().startswith(raw)] if raw else []
    return hits[0] if len(hits) == 1 else None


def parse_focus(ctx: Context, text: str) -> str:
    options = list(ctx.settings.programme.role_focuses)
    chosen = _choose(text, options)
    if chosen is None:
        raise ValueError(
            ctx._(
                "'{answer}' is not one of the role focuses (the kind of work you do): reply {numbers}, or a name: {options}",
                answer=text.strip()[:30],
                numbers=ctx.language.either([str(n) for n in range(1, len(options) + 1)]),
                options=", ".join(options),
            )
        )
    return chosen


def track_names(ctx: Context, tracks: list[str]) -> str:
    """Tracks as the reader's language names them (``[programme.track_names]``), else as configured."""
    return ", ".join(ctx.settings.programme.track_name(t, ctx.language) for t in tracks)


def parse_tracks(ctx: Context, text: str, many: bool) -> list[str]:
    """The tracks named in ``text``, as the reader's language names them or by their ids."""
    options = list(ctx.settings.programme.tracks)
    if many and text.strip().lower() in ("all", "both", "any"):
        return options
    names = [ctx.settings.programme.track_name(t, ctx.language) for t in options]
    chosen = []
    for item in _items(text.replace(" and ", ",")):
        name = _choose(item, names)
        track = options[names.index(name)] if name is not None else _choose(item, options)
        if track is None:
            raise ValueError(ctx._("'{answer}' is not one of the tracks: {options}", answer=item.strip()[:30], options=", ".join(names)))
        chosen.append(track)
    if not chosen:
        raise ValueError(ctx._("Pick a track: {options}", options=", ".join(names)))
    if not many and len(chosen) > 1:
        raise ValueError(ctx._("A mentee picks one track"))
    return list(dict.fromkeys(chosen))


def parse_skills(text: str, lang: Language = ENGLISH) -> list[str]:
    skills = list(dict.fromkeys(_items(text)))
    if not skills:
        raise ValueError(lang._("Name at least one, separated by commas"))
    if len(skills) > 12 or any(len(s) > 60 for s in skills):
        raise ValueError(lang._("Twelve at most, each under 60 characters"))
    return skills


def parse_goal(text: str, lang: Language = ENGLISH) -> str:
    goal = " ".join(text.split())
    if len(goal) < 5:
        raise ValueError(lang._("Say a little more about your goal (a sentence is fine)"))
    if len(goal) > 300:
        raise ValueError(lang._("Keep the goal under 300 characters; milestones come later"))
    return goal


def parse_capacity(ctx: Context, text: str) -> int:
    raw = text.strip().lower()
    if raw in ("", "default", "ok", "yes"):
        return ctx.settings.programme.default_capacity
    n = parse_int(raw)
    if not 1 <= n <= 20:
        raise ValueError(ctx._("Capacity is between 1 and 20 mentees"))
    return n


# ---------------------------------------------------------------------------- the interview


def _known(field: str) -> Callable[[dict[str, Any]], bool]:
    return lambda data: field not in data.get("_known", [])


def _kind(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda data: data["kind"] == kind


def _focus_prompt(ctx: Context, data: dict[str, Any]) -> str:
    """Names the kind of answer wanted: newcomers who guessed answered with their availability."""
    focuses = ctx.settings.programme.role_focuses
    opts = ", ".join(f"{i}) {f}" for i, f in enumerate(focuses, 1))
    return ctx._("Which kind of work do you focus on? Reply with a number or a name: {options}", options=opts)


def _tracks_prompt(ctx: Context, data: dict[str, Any]) -> str:
    tracks = track_names(ctx, ctx.settings.programme.tracks)
    if data["kind"] == "mentor":
        return ctx._("Which tracks do you mentor in? ({tracks}, or 'all')", tracks=tracks)
    return ctx._("Which track are you joining? ({tracks})", tracks=tracks)


SIGNUP = Flow(
    name="signup",
    steps=(
        Step(
            "timezone",
            lambda ctx, d: ctx._("Which timezone are you in? (a name like Europe/Berlin or America/New_York)"),
            lambda ctx, text, d: parse_zone(text, ctx.language),
            when=_known("timezone"),
        ),
        Step(
            "languages",
            lambda ctx, d: ctx._("Which languages can you work in? (names or codes, e.g. English, Deutsch, pt-br)"),
            lambda ctx, text, d: parse_languages(text, ctx.language),
            when=_known("languages"),
        ),
        Step("focus", _focus_prompt, lambda ctx, text, d: parse_focus(ctx, text), when=_known("focus")),
        Step(
            "tracks",
            _tracks_prompt,
            lambda ctx, text, d: parse_tracks(ctx, text, many=d["kind"] == "mentor"),
        ),
        Step(
            "skills",
            lambda ctx, d: (
                ctx._("Which skills can you teach? (comma-separated)")
                if d["kind"] == "mentor"
                else ctx._("Which areas or skills do you want to grow in? (comma-separated)")
            ),
            lambda ctx, text, d: parse_skills(text, ctx.language),
        ),
        Step(
            "capacity",
            lambda ctx, d: ctx._(
                "How many mentees can you take at most? (1-20, or 'default' for {default})",
                default=ctx.settings.programme.default_capacity,
            ),
            lambda ctx, text, d: parse_capacity(ctx, text),
            when=_kind("mentor"),
        ),
        Step(
            "goal",
            lambda ctx, d: ctx._("Last one: what is your goal for this round? (a sentence)"),
            lambda ctx, text, d: parse_goal(text, ctx.language),
            when=_kind("mentee"),
        ),
    ),
    finish=lambda ctx, data: _finish_signup(ctx, data),
    title=N_("sign-up"),
    cancelled=N_("Sign-up stopped; nothing was recorded. Start again any time with {prefix}signup."),
    later=carried_on_by("signup", "{kind}"),
)

#: what is said of a sign-up of each kind (the kinds are command words: !signup mentee)
SIGNED_UP_AS = {
    "mentee": N_("You're signed up as a mentee for {round}. Thank you!"),
    "mentor": N_("You're signed up as a mentor for {round}. Thank you!"),
}
ALREADY_AS = {
    "mentee": N_("You are signed up as a mentee for {round} already. {profile} shows it; {set} changes a field."),
    "mentor": N_("You are signed up as a mentor for {round} already. {profile} shows it; {set} changes a field."),
}
GOING_ON_AS = {
    "mentee": N_("You're in the middle of signing up as a mentee; here is where you were ({cancel} stops)."),
    "mentor": N_("You're in the middle of signing up as a mentor; here is where you were ({cancel} stops)."),
}
WELCOME_AS = {
    "mentee": N_("Welcome! A few questions to sign you up as a mentee for {round} ({cancel} stops)."),
    "mentor": N_("Welcome! A few questions to sign you up as a mentor for {round} ({cancel} stops)."),
}
KIND_IN = {
    ("mentee", "active"): N_("mentee in {round}"),
    ("mentor", "active"): N_("mentor in {round}"),
    ("mentee", "withdrawn"): N_("mentee in {round} (withdrawn)"),
    ("mentor", "withdrawn"): N_("mentor in {round} (withdrawn)"),
}


async def _finish_signup(ctx: Context, data: dict[str, Any]) -> str:
    member = ctx.require_member()
    rnd = ctx.repos.rounds.taking_signups(today(ctx))
    if rnd is None or rnd.id != data["round_id"]:
        raise ActionError(ctx._("The round you were signing up for is closed now; nothing was recorded."))
    member.timezone = data.get("timezone", member.timezone)
    member.languages = data.get("languages", member.languages)
    member.role_focus = data.get("focus", member.role_focus)
    member.status = "active"
    ctx.repos.db.add(member)
    kind = data["kind"]
    existing = ctx.repos.signups.of(member.pk, rnd.pk, kind)
    signup = existing[0] if existing else Signup(member_id=member.pk, round_id=rnd.pk, kind=kind, created_at=ctx.now)
    signup.tracks, signup.skills = data["tracks"], data["skills"]
    signup.goal, signup.capacity = data.get("goal"), data.get("capacity")
    signup.status, signup.withdrawn_at = "active", None
    ctx.repos.signups.add(signup)
    ctx.repos.roles.grant(member.pk, kind, None, ctx.now)
    if kind == "mentor":
        capacity_freed(ctx, rnd.pk)
    offer = _offer_language(ctx, member)
    profile = describe(ctx, member, language=offer is None)  # the offer says which language already
    return "\n".join(line for line in (ctx._(SIGNED_UP_AS[kind], round=rnd.name), profile, offer) if line)


def _offer_language(ctx: Context, member: Member) -> str | None:
    """A newcomer who has chosen no language is written to in the first of theirs the bot
    speaks, and told how to change it (only where that is not the bot's own language)."""
    languages = ctx.languages
    code = languages.first_of(member.languages or []) if member.language is None else None
    if code is None or languages.get(code) == languages.default:
        return None
    member.language = code
    return ctx._(
        "I'll write to you in {language} from now on; {command} changes it.",
        language=language_name(code, ctx.language), command=ctx.command("profile", "set", "language"),
    )


def _spoken_language(ctx: Context, text: str) -> str:
    """The code of the language ``text`` names, if the bot has a catalog for it."""
    languages = ctx.languages
    codes = parse_languages(text, ctx.language)
    code = languages.first_of(codes)
    if code is None:
        raise ValueError(
            ctx._(
                "I can't write in {wanted} yet; I write in {spoken}.",
                wanted=language_names(codes, ctx.language),
                spoken=language_names(languages.codes, ctx.language, own=True),
            )
        )
    return code


# ---------------------------------------------------------------------------- commands


async def signup(ctx: Context, kind: str) -> str | None:
    member = ctx.require_member()
    rnd = signup_round(ctx)
    for s in ctx.repos.signups.of(member.pk, rnd.pk, kind):
        if s.status == "active":
            raise ActionError(ctx._(ALREADY_AS[kind], round=rnd.name, profile=ctx.command("profile"), set=ctx.command("profile", "set")))
    going = ctx.continue_flow("signup", kind=kind, round_id=rnd.id)
    if going is not None and going.get("kind") == kind:  # asked again mid-way: go on, do not start over
        return ctx._(GOING_ON_AS[kind], cancel=ctx.command("cancel"))
    known = [f for f, v in (("timezone", member.timezone), ("languages", member.languages), ("focus", member.role_focus)) if v]
    ctx.start_flow("signup", {"kind": kind, "round_id": rnd.id, "_known": known})
    return ctx._(WELCOME_AS[kind], round=rnd.name, cancel=ctx.command("cancel"))


def _given_so_far(ctx: Context, member: Member) -> dict[str, Any]:
    """The answers of a sign-up interview ``member`` is in the middle of (none when not): a
    profile shown mid-way read "timezone ?" for a timezone given a minute before."""
    conv = ctx.repos.conversations.get(member.id) if member.id is not None else None
    return dict(conv.data) if conv is not None and conv.flow == SIGNUP.name else {}


def describe(ctx: Context, member: Member, language: bool = True) -> str:
    """A compact profile: a line for the person, a line per sign-up in the rounds not closed."""
    given = _given_so_far(ctx, member)
    fields = {
        "handle": member.handle,
        "timezone": given.get("timezone") or member.timezone or "?",
        "languages": language_names(given.get("languages") or member.languages, ctx.language) or "?",
        "focus": given.get("focus") or member.role_focus or "?",
    }
    if member.status == "withdrawn":
        lines = [ctx._("{handle}: timezone {timezone}; languages {languages}; focus {focus}; withdrawn", **fields)]
    else:
        lines = [ctx._("{handle}: timezone {timezone}; languages {languages}; focus {focus}", **fields)]
    for rnd in ctx.repos.rounds.not_closed():
        for s in ctx.repos.signups.of(member.pk, rnd.pk):
            tracks, skills = track_names(ctx, s.tracks), ", ".join(s.skills)
            parts = [ctx._(KIND_IN[s.kind, "withdrawn" if s.status == "withdrawn" else "active"], round=rnd.name)]
            if s.kind == "mentee":
                parts += [ctx._("track {tracks}", tracks=tracks), ctx._("interests {skills}", skills=skills)]
            else:
                parts += [ctx._("tracks {tracks}", tracks=tracks), ctx._("teaches {skills}", skills=skills)]
            if s.capacity is not None:
                parts.append(ctx._("capacity {capacity}", capacity=s.capacity))
            if s.goal:
                parts.append(ctx._("goal: {goal}", goal=s.goal))
            lines.append("; ".join(parts))
    if member.language is not None and language:
        name = language_name(member.language, ctx.language)
        if ctx.member is not None and ctx.member.id == member.id:
            lines.append(ctx._("I write to you in {language}.", language=name))
        else:
            lines.append(ctx._("I write to {handle} in {language}.", handle=member.handle, language=name))
    return "\n".join(lines)


async def profile(ctx: Context, who: Member | None) -> str:
    me = ctx.require_member()
    return describe(ctx, who or me)  # one the asker may name: PROFILE_OF


#: whose profile: your own, anyone's (coordinators)
PROFILE_OF = Access.of(SELF, COORDINATOR, refusal=N_("You can see your own profile; coordinators can see others'."))
PROFILE_FIELDS = ("timezone", "languages", "focus", "platform", "name", "tracks", "skills", "capacity", "goal", "language")
#: why a field of a sign-up cannot be changed, by the kind of sign-up it needs
NOT_SIGNED_UP_AS = {
    "mentee": N_("{field} belongs to a sign-up: you are not signed up as a mentee in {round}."),
    "mentor": N_("{field} belongs to a sign-up: you are not signed up as a mentor in {round}."),
    None: N_("{field} belongs to a sign-up: you are not signed up as a mentee or mentor in {round}."),
}


def _signup_for(ctx: Context, member: Member, field: str, kind: str | None = None) -> Signup:
    """The sign-up a field belongs to: in the latest round not closed where the person has one."""
    for rnd in reversed(ctx.repos.rounds.not_closed()):
        signups = [s for s in ctx.repos.signups.of(member.pk, rnd.pk) if s.status == "active" and (not kind or s.kind == kind)]
        if signups:
            return signups[0]
    raise ActionError(ctx._(NOT_SIGNED_UP_AS[kind], field=field, round=current_round(ctx).name))


async def profile_set(ctx: Context, field: str, value: str) -> str:
    member = ctx.require_member()
    try:
        if field == "timezone":
            member.timezone = parse_zone(value, ctx.language)
        elif field == "languages":
            member.languages = parse_languages(value, ctx.language)
        elif field == "language":
            member.language = _spoken_language(ctx, value)
        elif field == "focus":
            member.role_focus = parse_focus(ctx, value)
        elif field == "name":
            name = " ".join(value.split())
            if not 1 <= len(name) <= 40:
                raise ValueError(ctx._("A name is 1 to 40 characters"))
            member.display_name = name
        elif field == "platform":
            platforms = sorted({i.platform for i in ctx.repos.members.identities(member.pk)})
            choice = value.strip().lower()
            if choice not in platforms:
                raise ValueError(
                    ctx._("You have accounts on {platforms}; link another with {command}", platforms=", ".join(platforms), command=ctx.command("link"))
                )
            member.preferred_platform = choice
        else:
            kind = {"capacity": "mentor", "goal": "mentee"}.get(field)
            signup = _signup_for(ctx, member, field, kind)
            if field == "tracks":
                signup.tracks = parse_tracks(ctx, value, many=signup.kind == "mentor")
            elif field == "skills":
                signup.skills = parse_skills(value, ctx.language)
            elif field == "capacity":
                signup.capacity = parse_capacity(ctx, value)
                capacity_freed(ctx, signup.round_id)
            else:
                signup.goal = parse_goal(value, ctx.language)
            ctx.repos.signups.save(signup)
    except ValueError as exc:
        raise ActionError(in_language(exc, ctx.language)) from None
    ctx.repos.db.add(member)
    _correct_interview(ctx, member, field)
    return ctx._("Saved. {profile}", profile=describe(ctx, member))


def _correct_interview(ctx: Context, member: Member, field: str) -> None:
    """A field set mid-interview (or with the interview put aside) replaces the interview's answer,
    which would undo it at the end."""
    value = {"timezone": member.timezone, "languages": member.languages, "focus": member.role_focus}.get(field)
    if value is not None:
        ctx.amend_flow(member.pk, SIGNUP.name, {field: value})


async def withdraw(ctx: Context, confirm: str | None) -> str:
    member = ctx.require_member()
    rounds = {r.id: r for r in ctx.repos.rounds.not_closed()}
    active = [s for r in rounds.values() for s in ctx.repos.signups.of(member.pk, r.pk) if s.status == "active"]
    if not active and member.status == "withdrawn":
        return ctx._("You have withdrawn already.")
    if confirm is None:
        go_ahead = ctx._("Send {command} to go ahead.", command=ctx.command("withdraw", "confirm"))
        if active:
            what = ctx.language.join(ctx._(KIND_IN[s.kind, "active"], round=rounds[s.round_id].name) for s in active)
            return sentences(ctx._("This withdraws you as {what}. Your records are kept, marked withdrawn.", what=what), go_ahead)
        return sentences(ctx._("This withdraws you from the programme. Your records are kept, marked withdrawn."), go_ahead)
    for s in active:
        s.status, s.withdrawn_at = "withdrawn", ctx.now
        ctx.repos.signups.save(s)
        ctx.repos.roles.revoke(member.pk, s.kind)
    end_pairs_of(ctx, member, "withdrew")
    member.status = "withdrawn"
    ctx.repos.db.add(member)
    ctx.end_flow(member.pk)
    return ctx._("You have withdrawn. Thank you for taking part; {command} brings you back.", command=ctx.command("signup"))


SIGNED_UP = (
    OPEN_EXAMPLE,
    "alice: !signup mentee",
    "alice: Europe/Berlin",
    "alice: en, de",
    "alice: 3",
    "alice: programming",
    "alice: code review, testing",
    "alice: Land my first patch in core",
)

FEATURE = Feature(
    name="signup",
    commands=(
        CommandSpec(
            ("signup",),
            N_("sign up for the open round as a mentee or a mentor (a short interview in private)"),
            roles=("member",),
            handler=signup,
            args=(Arg("kind", choices=("mentee", "mentor"), help=N_("mentee or mentor")),),
            examples=(
                Example("alice: !signup mentee", r"Which timezone", setup=(OPEN_EXAMPLE,)),
                Example("!signup mentee", r"No round is open"),
            ),
        ),
        CommandSpec(
            ("profile",),
            N_("show your profile (coordinators: anyone's)"),
            roles=("member",),
            handler=profile,
            private=True,
            args=(Arg("who", kind="member", required=False, help=N_("whose profile"), access=PROFILE_OF),),
            examples=(Example("alice: !profile", r"alice: timezone Europe/Berlin; languages English, German", setup=SIGNED_UP),),
        ),
        CommandSpec(
            ("profile", "set"),
            N_("change one field of your profile"),
            roles=("member",),
            handler=profile_set,
            private=True,
            args=(
                Arg("field", choices=PROFILE_FIELDS, help=N_("what to change")),
                Arg("value", kind="text", rest=True, help=N_("the new value")),
            ),
            examples=(Example("alice: !profile set timezone Asia/Kolkata", r"Saved\. alice: timezone Asia/Kolkata", setup=SIGNED_UP),),
        ),
        CommandSpec(
            ("withdraw",),
            N_("leave the programme (your records are kept, marked withdrawn)"),
            roles=("member",),
            handler=withdraw,
            private=True,
            args=(Arg("confirm", choices=("confirm",), required=False, help=N_("confirm")),),
            examples=(Example("alice: !withdraw confirm", r"You have withdrawn", setup=SIGNED_UP),),
        ),
    ),
    flows=(SIGNUP,),
)
