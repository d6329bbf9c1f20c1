"""The engine's promises: clear answers for bad input, no half-written records, one place for
permissions, exactly-once handling of replayed events, private replies kept private."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from chatbot.commands import Arg, CommandSpec, Example
from chatbot.context import Context, Feature
from chatbot.events import Identity, TextReceived, Where
from storage.tables import OutboxMessage, Round
from tests.harness import Bot


async def _buggy(ctx: Context) -> str:
    # Writes a record, then fails: the record must not survive.
    ctx.repos.rounds.add("half written", ctx.now.date(), ctx.now.date(), None, ctx.now)
    ctx.repos.db.flush()
    raise RuntimeError("boom")


async def _long(ctx: Context) -> str:
    return "\n".join(f"line {i}" for i in range(30))


async def _hosty(ctx: Context, n: int) -> str:
    return f"hosting {n}"


TEST_FEATURE = Feature(
    name="test",
    commands=(
        CommandSpec(("buggy",), "fails", roles=("member",), handler=_buggy, examples=(Example("!buggy", "wrong"),)),
        CommandSpec(("long",), "says a lot", roles=("member",), handler=_long, examples=(Example("!long", "line"),)),
        CommandSpec(
            ("hosty",), "host only", roles=("host",), handler=_hosty, args=(Arg("n", kind="int", minimum=1),),
            examples=(Example("!hosty 1", "hosting"),),
        ),
    ),
)


async def test_unknown_command_gets_a_one_line_hint(bot):
    assert await bot.say("alice", "!sigup mentee") == ["Unknown command !sigup. Did you mean !signup? Try !help."]
    assert await bot.say("alice", "!xyzzy") == ["Unknown command !xyzzy. Try !help."]
    assert await bot.say("alice", "!round opne") == ["!round has: chart, close, export, open, outcomes, pairs, report, status. Try !help round."]


async def test_channel_chatter_is_ignored_and_punctuation_is_not_a_command(bot):
    assert await bot.say("alice", "hello everyone", channel="#general") == []
    assert await bot.say("alice", "!!!", channel="#general") == []
    assert await bot.say("alice", "! not a command", channel="#general") == []


async def test_a_bug_is_answered_politely_logged_and_leaves_nothing_behind(tmp_path, caplog):
    bot = await Bot.start(tmp_path, extra_features=(TEST_FEATURE,))
    try:
        with caplog.at_level(logging.ERROR):
            out = await bot.say("alice", "!buggy")
        assert out[0].startswith("Sorry, something went wrong on my side (ref ")
        assert "Traceback" not in out[0] and "boom" not in out[0]
        assert any("handler failed" in r.message and r.exc_info for r in caplog.records)
        with Session(bot.app.database) as s:
            assert s.exec(select(Round)).all() == []
        assert "Commands:" in (await bot.say("alice", "!help"))[0]  # still running
    finally:
        await bot.stop()


async def test_permissions_default_deny_and_named_roles(tmp_path):
    bot = await Bot.start(tmp_path, extra_features=(TEST_FEATURE,))
    try:
        assert await bot.say("alice", "!hosty 1") == ["!hosty is for host (you have: no role yet)."]
        await bot.say("you", "!role grant alice host")
        assert await bot.say("alice", "!hosty 1") == ["hosting 1"]
        assert "n must be at least 1" in (await bot.say("alice", "!hosty 0"))[0]
        assert "n: 'x' is not a whole number" in (await bot.say("alice", "!hosty x"))[0]
    finally:
        await bot.stop()


async def test_anonymous_visitors_get_only_public_commands(bot):
    anon = Identity("console", None, "visitor")
    where = Where("console", "#general")
    await bot.handle(TextReceived(anon, where, "!round status"))
    assert "logged in to your account" in bot.channel("#general")[-1]
    await bot.handle(TextReceived(anon, where, "!help"))
    # verifying a certificate is for anybody (an employer reading a CV), an account or not
    assert bot.channel("#general")[-1].startswith("visitor: Commands: !certificate, !help, !oh, !q\n")


async def test_nobody_but_admins_and_coordinators_grants_roles(bot):
    await bot.say("bob", "!help")
    assert "is for coordinator" in (await bot.say("alice", "!role grant bob host"))[0]
    await bot.say("you", "!role grant alice coordinator")
    assert (await bot.say("alice", "!role grant bob host")) == ["bob is now host."]
    assert "Only admins" in (await bot.say("alice", "!role grant bob coordinator"))[0]
    assert "Only admins" in (await bot.say("alice", "!role grant bob admin"))[0]
    assert "already has the host role" in (await bot.say("alice", "!role grant bob host"))[0]
    assert "role must be one of mentee, mentor, host, coordinator, admin" in (await bot.say("alice", "!role grant bob wizard"))[0]
    assert "I don't know anyone called 'nobody'" in (await bot.say("alice", "!role grant nobody host"))[0]
    assert (await bot.say("alice", "!role revoke bob host")) == ["bob is no longer host."]
    assert "does not have" in (await bot.say("alice", "!role revoke bob host"))[0]
    assert "who is missing" in (await bot.say("alice", "!role grant"))[0]


async def test_you_is_not_an_admin_by_role_is_said_to_you_in_the_second_person(bot):
    """Issue 22, item 16: the console's admin "you" read "you is not an admin by role" and
    "you already has the host role" about themself."""
    assert await bot.say("you", "!role revoke you admin") == [
        "You are not an admin by role (admins listed in the config file stay admins)."]
    assert await bot.say("you", "!role grant you host") == ["You are now host."]
    assert await bot.say("you", "!role grant you host") == ["You already have the host role."]
    assert await bot.say("you", "!role revoke you host") == ["You are no longer host."]
    assert await bot.say("you", "!role revoke you host") == ["You do not have the host role."]
    await bot.say("alice", "!help")
    assert await bot.say("you", "!role revoke alice admin") == [
        "alice is not an admin by role (admins listed in the config file stay admins)."]


async def test_private_replies_said_in_a_channel_go_to_a_dm_and_the_room_is_told(bot):
    """Issue 22, item 17: !profile, !whoami and !mentees in a room left nothing there."""
    await bot.say("alice", "!whoami", channel="#general")
    assert bot.channel("#general") == ["alice: I've sent you the answer in a private message."]
    assert len(bot.dm("alice")) == 1 and "You are alice" in bot.dm("alice")[0]
    await bot.pair("alice", "bob")
    await bot.say("alice", "!profile", channel="#general")
    await bot.say("bob", "!mentees", channel="#general")
    assert bot.channel("#general")[1:] == ["alice: I've sent you the answer in a private message.",
                                           "bob: I've sent you the answer in a private message."]
    assert bot.dm("alice")[-1].startswith("alice: timezone Europe/Berlin") and bot.dm("bob")[-1].startswith("alice (Europe/Berlin)")


async def test_long_channel_replies_move_to_a_dm(tmp_path):
    bot = await Bot.start(tmp_path, extra_features=(TEST_FEATURE,))
    try:
        await bot.say("alice", "!long", channel="#general")
        assert bot.channel("#general") == ["alice: That answer is long: I've sent it to you in a private message."]
        assert bot.dm("alice")[0].startswith("line 0")
    finally:
        await bot.stop()


async def test_a_replayed_event_is_handled_once(bot):
    await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31', event_id="e1")
    out = await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31', event_id="e1")
    assert out == []
    await bot.restart()
    assert await bot.say("you", '!round open "2027 Q1" 2027-01-01 2027-03-31', event_id="e1") == []


async def test_every_reply_is_in_the_outbox_and_marked_sent(bot):
    await bot.say("alice", "!help")
    with Session(bot.app.database) as s:
        rows = s.exec(select(OutboxMessage)).all()
    assert [r.status for r in rows] == ["sent"]


async def test_unsent_messages_are_sent_after_a_restart(bot):
    bot.adapters["console"].unreachable.add("nobody")  # not used; make the adapter fail instead:
    original = bot.adapters["console"].send

    async def down(event):  # the platform is unreachable for a moment
        raise ConnectionError("link down")

    bot.adapters["console"].send = down  # type: ignore[method-assign]
    await bot.say("alice", "!help")
    assert bot.dm("alice") == []
    with Session(bot.app.database) as s:
        [row] = s.exec(select(OutboxMessage)).all()
        assert row.status == "pending" and "link down" in row.last_error
    bot.adapters["console"].send = original  # type: ignore[method-assign]
    await bot.restart()
    await bot.advance("1m")  # the first tick after start-up retries what is due
    assert bot.dm("alice")[0].startswith("Commands:")


async def test_linking_joins_two_platforms_into_one_member(bot):
    code = (await bot.say("alice", "!link"))[0].split()[4].rstrip(".")
    await bot.say("you", "!role grant alice host")
    out = await bot.say("alice", f"!link {code}", platform="irc")
    assert out == ["Linked. You are alice on console, irc."]
    assert "roles: host" in (await bot.say("alice", "!whoami", platform="irc"))[0]
    assert "not valid" in (await bot.say("alice", f"!link {code}", platform="irc"))[0]  # used once


async def test_a_configured_admin_is_admin_on_every_linked_platform_and_nowhere_else(bot):
    assert "roles: admin" not in (await bot.say("you", "!whoami", platform="irc"))[0]  # same name, another account
    code = (await bot.say("you", "!link"))[0].split()[4].rstrip(".")
    await bot.say("you", f"!link {code}", platform="irc")
    assert "roles: admin" in (await bot.say("you", "!whoami", platform="irc"))[0]
    await bot.say("alice", "!whoami")
    out = (await bot.say("you", "!role grant alice coordinator", platform="irc"))[0]
    assert out == "alice is now coordinator."


async def test_link_codes_expire_and_cannot_be_self_redeemed(bot):
    code = (await bot.say("alice", "!link"))[0].split()[4].rstrip(".")
    assert "same account" in (await bot.say("alice", f"!link {code}"))[0]
    code = (await bot.say("alice", "!link"))[0].split()[4].rstrip(".")
    await bot.advance("16m")
    assert "has expired" in (await bot.say("alice", f"!link {code}", platform="matrix"))[0]
    assert "alice@matrix" not in (await bot.say("alice", "!whoami"))[0]


def test_outbound_events_survive_the_outbox_round_trip():
    from chatbot.delivery.records import decode, encode
    from chatbot.events import Announce, Button, DirectMessage, Form, Reply

    samples = [
        DirectMessage(Identity("irc", "alice", "al"), "hi", key="k1", buttons=(Button("Answer", "!checkin"),),
                      form=Form("Check-in", ("What did you do?", "What next?"))),
        Reply(Where("matrix", "!room:x"), "ok", in_reply_to="$e", private=True, to=Identity("matrix", "@a:x", "A"),
              mention=Identity("matrix", "@a:x", "A"), key="k2"),
        Announce(Where("discord", "123"), "next!", mention=Identity("discord", "42", "bob"), key="k3"),
    ]
    for event in samples:
        assert decode(encode(event)) == event


async def test_completion_offers_only_what_the_asker_may_use(bot):
    from chatbot.events import CompletionRequested

    await bot.pair("alice", "bob")
    await bot.pair("carol", "dave")
    bob, carol = Identity("console", "bob", "bob"), Identity("console", "carol", "carol")
    dm = Where("console", None)
    ask = lambda who, path, arg, partial="": bot.engine.handle(CompletionRequested(who, dm, path, arg, partial))  # noqa: E731
    assert await ask(bob, ("session", "log"), "mentee") == ["alice"]  # his mentees only, not carol
    assert await ask(carol, ("session", "log"), "mentee") == []  # not a mentor: nothing to offer
    assert await ask(Identity("console", "you", "you"), ("role", "grant"), "role", "co") == ["coordinator"]
    assert await ask(Identity("console", "you", "you"), ("role", "grant"), "who", "ca") == ["carol"]
    assert await ask(bob, ("nonsense",), "x") == []


async def test_a_platform_refusing_a_mentee_is_told_to_their_mentor_once(bot):
    await bot.pair("alice", "bob")
    bot.adapters["console"].unreachable.add("alice")
    await bot.say("bob", '!session log alice 45m "first steps"')
    notices = [t for t in bot.dm("bob") if "cannot send private messages to your mentee alice" in t]
    assert len(notices) == 1
    await bot.say("bob", '!session log alice 30m "second steps"')
    assert len([t for t in bot.dm("bob") if "cannot send private messages" in t]) == 1
    bot.adapters["console"].unreachable.discard("alice")
    await bot.say("alice", "!whoami")  # she writes again: worth trying once more
    assert bot.dm("alice")[-1].startswith("You are alice")


async def test_a_display_name_that_imitates_an_id_or_holds_markup_never_becomes_a_handle(bot):
    """A Matrix display name "@coord:localhost" was listed as "@coord:localhost"; markup became
    "bxbscriptalert1script". Handles come from what people read, else from the own account."""
    await bot.simulate("matrix")

    async def first_contact(account: str, display: str) -> str:
        who = Identity("matrix", account, display)
        await bot.handle(TextReceived(who=who, where=Where("matrix"), text="!whoami"))
        return bot.dm(f"{account}@matrix")[-1]

    imitation = await first_contact("@mallory:localhost", "@coord:localhost")
    assert imitation.startswith("You are mallory (mallory)")
    marked_up = await first_contact("@x:localhost", "<b>Ximena</b><script>alert(1)</script>")
    assert marked_up.startswith("You are ximena (Ximena)")
    accented = await first_contact("@jo:localhost", "José Ortiz")
    assert accented.startswith("You are joseortiz (José Ortiz)")
