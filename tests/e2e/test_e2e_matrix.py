"""Issue 9 end to end on Matrix: the real bot inside a real Synapse.

The bot is the whole App (engine, every feature, a SQLite file) with the Matrix adapter, talking
to the Synapse of ``tests.matrix_fixtures``; the people are matrix-nio clients. Where the clock
matters (check-ins) the App runs in-process with a FakeClock; where the *process* matters (a
SIGKILL in the middle of a burst) it is ``python -m chatbot --config FILE run`` with its secret in
the environment. Pings are judged by the homeserver itself: its push rules decide whom a message
notifies or highlights (``GET /notifications``), exactly what a phone would ring for.
"""

from __future__ import annotations

import asyncio
import html.parser
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from nio import InviteMemberEvent, RoomMessageFile, RoomMessageImage, RoomMessageNotice, RoomMessageText

from chatbot.app import App
from chatbot.clock import Clock, FakeClock, SystemClock
from chatbot.config import from_dict
from chatbot.features import all_features
from tests.matrix_fixtures import (  # noqa: F401 - fixtures are used by name
    BOT,
    PASSWORD,
    Person,
    bot_password,
    homeserver,
    people,
    server,
    uid,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
MONDAY_8_BERLIN = datetime(2027, 1, 4, 7, 0, tzinfo=timezone.utc)
MONDAY_10_BERLIN = datetime(2027, 1, 4, 9, 0, tzinfo=timezone.utc)  # the default "mon,thu 10:00"
ROUND = '!round open "2027 Q1" 2027-01-01 2027-03-31'
#: markup, a room ping, a fake pill for alice and markdown, all in one display name
EVIL = '<b>@room</b> **Dave** [site](https://evil.example) <a href="https://matrix.to/#/@alice:localhost">alice</a>'


def settings(homeserver: str, tmp_path: Path, rooms: list[str]) -> dict[str, Any]:
    """The bot's config: carol is the admin; the Matrix adapter reconnects fast for the tests."""
    return {
        "admins": [f"matrix:{uid('carol')}"],
        "database": {"url": f"sqlite:///{tmp_path / 'bot.db'}", "synchronous": "normal"},
        "state_dir": str(tmp_path / "state"),
        "adapters": {"matrix": {
            "enabled": True, "homeserver": homeserver, "user_id": BOT, "rooms": rooms,
            "sync_timeout_ms": 2000, "reconnect_min_delay": 0.05, "reconnect_max_delay": 0.5, "stop_grace": 2.0,
        }},
    }


@pytest.fixture
async def bot(homeserver: str, tmp_path: Path, bot_password: None):
    """``await bot(rooms, clock)`` -> a started App (its first sync done); stopped at the end."""
    apps: list[App] = []

    async def start(rooms: list[str], clock: Clock | None = None) -> App:
        app = App(from_dict(settings(homeserver, tmp_path, rooms)), clock=clock or SystemClock())
        apps.append(app)
        await app.start(schedule=False, wait=60)  # returns once the adapter's first sync is done
        return app

    yield start
    for app in apps:
        await app.stop()


# --------------------------------------------------------------------------- reading what the bot sent


def content(event: Any) -> dict[str, Any]:
    return event.source["content"]


def has(text: str):  # noqa: ANN201 - a predicate for Person.bot_said
    return lambda e: text in e.body


def relation(event: Any) -> str | None:
    """The event a bot message answers (its ``m.in_reply_to``)."""
    return content(event).get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")


def answer_to(event_id: str):  # noqa: ANN201
    return lambda e: relation(e) == event_id


class Tags(html.parser.HTMLParser):
    """The live tags of a ``formatted_body``: what a client would render as markup."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(event: Any, pinged: str | None = None) -> None:
    """No markup but line breaks (and the one pill of ``pinged``); ``m.mentions`` names only them."""
    c = content(event)
    tags = [t for t in Tags(c.get("formatted_body", "")).tags if t[0] != "br"]
    if pinged is None:
        assert tags == [] and c["m.mentions"] == {}, c
    else:
        assert tags == [("a", {"href": f"https://matrix.to/#/{pinged}"})], c
        assert c["m.mentions"] == {"user_ids": [pinged]}, c


async def pings(person: Person, room: str, said: list[Any]) -> list[str]:
    """Which of the bot's messages ``said`` in ``room`` the homeserver highlighted for ``person``
    (people's own lines are left out: a human naming bob pings bob, as it should)."""
    ours = {e.event_id for e in said}
    return [i for i in await person.notifications(room, highlights=True) if i in ours]


async def converse(person: Person, room: str, lines: list[tuple[str, str]]) -> list[Any]:
    """Say each line in ``room`` and wait for the bot's next message holding the expected text."""
    got = []
    for line, expected in lines:
        since = len(person.timeline)  # what the bot says in return comes after this
        await person.say(room, line)
        got.append(await person.bot_said(room, has(expected), what=f"{expected!r} after {line!r}", since=since))
    return got


async def accept_dm(person: Person) -> str:
    """The direct room the bot invited ``person`` to (it must be marked direct), joined."""
    dm = await person.wait_invite()
    mine = [e for e in person.invites[dm] if isinstance(e, InviteMemberEvent) and e.state_key == person.user_id]
    assert mine and mine[-1].content.get("is_direct") is True
    await person.join(dm)
    return dm


async def office_room(bot: Any, people: Any, visitor: tuple[str, str],
                      name: str = "office hours", clock: Clock | None = None) -> tuple[App, str, dict[str, Person]]:
    """Carol's room ``name``, the bot in it with power level 50 (enough for a body ``@room`` to
    ping the room under the legacy push rules), bob made host, and alice plus ``visitor`` there
    (the bot on ``clock``, else the system's)."""
    carol, bob, alice = await people("carol", "Carol"), await people("bob", "Bob"), await people("alice", "Alice")
    guest = await people(*visitor)
    room = await carol.room(name=name, power_level_override={"users": {BOT: 50}})
    for p in (bob, alice, guest):
        await p.join(room)
    app = await bot([room], clock)
    await carol.bot_joined(room)
    await bob.say(room, "!q")  # bob becomes known to the bot
    await bob.bot_said(room, has("closed"))
    await converse(carol, room, [("!role grant bob host", "bob is now host")])
    return app, room, {"carol": carol, "bob": bob, "alice": alice, "guest": guest}


# --------------------------------------------------------------------------- the stories


async def test_a_mentee_signs_up_in_a_direct_room_and_answers_a_check_in_there(bot, people):
    carol, alice, bob = await people("carol", "Carol"), await people("alice", "Alice"), await people("bob", "Bob")
    room = await carol.room(name="mentoring")
    await alice.join(room)
    clock = FakeClock(MONDAY_8_BERLIN)
    app = await bot([room], clock)
    await carol.bot_joined(room)
    await converse(carol, room, [(ROUND, "Round 2027 Q1 is open")])

    # alice asks in the room; the bot opens a direct room with her and interviews her there
    await converse(alice, room, [("!signup mentee", "sent you a private message")])
    dm = await accept_dm(alice)
    await alice.bot_said(dm, has("Which timezone are you in?"))
    await converse(alice, dm, [
        ("Europe/Berlin", "Which languages"), ("en, de", "Which kind of work"), ("3", "Which track"),
        ("programming", "Which areas or skills"), ("code review, testing", "what is your goal"),
        ("Land my first patch in core", "You're signed up as a mentee for 2027 Q1"),
    ])

    # bob opens the direct room himself; the bot uses that one
    bob_dm = await bob.room(invite_bot=True, direct=True)
    await bob.bot_joined(bob_dm)
    await converse(bob, bob_dm, [
        ("!signup mentor", "Which timezone"), ("America/New_York", "Which languages"), ("en", "Which kind of work"),
        ("1", "Which tracks do you mentor in"), ("all", "Which skills can you teach"),
        ("code review, python", "How many mentees"), ("default", "You're signed up as a mentor for 2027 Q1"),
    ])
    await converse(carol, room, [("!match assign alice bob", "bob now mentors alice")])
    await alice.bot_said(dm, has("Meet your mentor, Bob"))
    await bob.bot_said(bob_dm, has("You are now mentor of Alice"))

    # Monday 10:00 in Berlin: the check-in comes to the same direct room, and rings
    await app.engine.run_due()  # plans the new pair's check-ins
    clock.set(MONDAY_10_BERLIN)
    await app.engine.run_due()
    prompt = await alice.bot_said(dm, has("Time for your check-in"))
    assert prompt.event_id in await alice.notifications(dm)  # a DM the person did not ask for notifies
    await converse(alice, dm, [
        ("Read the contributor guide", "What will you do next?"),
        ("Set up the dev environment", "Is anything blocking you?"),
    ])
    await alice.say(dm, "none")
    mood = await alice.bot_said(dm, has("How is it going, from 1 (badly) to 5 (great)?"))
    await alice.react(dm, mood.event_id, "4\ufe0f\u20e3")  # the keycap answers the 1-5 question
    await alice.bot_said(dm, has("Thanks, saved! bob will see it."))
    copy = await bob.bot_said(bob_dm, has("checked in for"))
    assert copy.body.splitlines()[1:] == [
        "done: Read the contributor guide", "next: Set up the dev environment", "blocker: none", "mood: 4/5"]
    assert list(alice.invites) == [dm]  # one direct room with alice for all of it
    assert all(content(e)["m.mentions"] == {} for e in alice.bot_says(dm))


async def test_a_host_runs_an_office_hour_and_the_call_pings_exactly_the_called_person(bot, people):
    _app, room, p = await office_room(bot, people, ("dave", "Dave"))
    carol, bob, alice, dave = p["carol"], p["bob"], p["alice"], p["guest"]
    await converse(bob, room, [("!oh open Rebasing and first patches", "Office hours are open with Bob")])
    await converse(alice, room, [("!q join rebasing my patch", "You're #1 in line")])
    await converse(dave, room, [("!q join", "You're #2 in line")])
    await converse(carol, room, [("!q", "2 waiting, 1 host: 1 Alice now, 2 Dave ~10m.")])

    called_by = await bob.say(room, "!next")
    call = await carol.bot_said(room, has("ready for you now"))
    assert call.body == "Alice: Bob is ready for you now."
    assert content(call)["formatted_body"] == (
        f'<a href="https://matrix.to/#/{alice.user_id}">Alice</a>: Bob is ready for you now.')
    assert_inert(call, pinged=alice.user_id)
    answer = await bob.bot_said(room, answer_to(called_by))
    assert answer.body.startswith("You're with Alice (waited ") and answer.body.endswith("1 still waiting.")
    await converse(bob, room, [("!done", "Done with Alice after"), ("!oh close", "Office hours are closed. 1 helped")])
    closing = await carol.bot_said(room, has("Office hours are closed. "))
    assert "Still waiting: Dave; sorry!" in closing.body

    said = carol.bot_says(room)
    assert [e for e in said if content(e)["m.mentions"] != {}] == [call]
    assert isinstance(call, RoomMessageText)  # m.text, or the default push rules would not ring
    assert all(isinstance(e, RoomMessageNotice) for e in said if e is not call)
    assert await pings(alice, room, said) == [call.event_id]
    for person in (carol, bob, dave):
        assert await pings(person, room, said) == []


async def test_someone_who_leaves_the_room_keeps_their_place_and_is_called_when_back(bot, people):
    """Issue 16 on Matrix: leaving the room counts as leaving the line, for the grace period."""
    clock = FakeClock(MONDAY_10_BERLIN)
    app, room, p = await office_room(bot, people, ("dave", "Dave"), clock=clock)
    bob, alice, dave = p["bob"], p["alice"], p["guest"]
    await converse(bob, room, [("!oh open", "Office hours are open with Bob")])
    await converse(alice, room, [("!q join", "You're #1 in line")])
    await converse(dave, room, [("!q join", "You're #2 in line")])
    await alice.c.room_leave(room)
    await wait_for(lambda: _left_at(app, alice.user_id) is not None, what="the bot records Alice as away")
    clock.advance(timedelta(minutes=3))
    await converse(bob, room, [(
        "!next",
        "Alice left the channel 3 minutes ago and keeps their place for now; calling Dave. You're with Dave",
    )])
    await alice.join(room)
    await wait_for(lambda: _left_at(app, alice.user_id) is None, what="the bot records Alice as back")
    await converse(bob, room, [("!next", "Done with Dave (under a minute). You're with Alice (waited 3 min")])


def _left_at(app: App, user_id: str) -> datetime | None:
    with sqlite3.connect(app.settings.database.url.removeprefix("sqlite:///")) as db:
        [(left_at,)] = db.execute("SELECT left_at FROM oh_entry WHERE account = ?", (user_id,)).fetchall()
    return left_at


async def test_markup_and_room_pings_in_names_and_messages_come_out_escaped_and_ping_nobody(bot, people):
    _app, room, p = await office_room(bot, people, ("dave", EVIL))
    carol, bob, alice, dave = p["carol"], p["bob"], p["alice"], p["guest"]
    await converse(bob, room, [("!oh open", "Office hours are open with Bob")])
    await converse(dave, room, [("!q join <i>help</i> @room **now**", "You're #1 in line")])
    listing = (await converse(alice, room, [("!q", "1 waiting")]))[0]
    assert listing.body == "1 waiting, 1 host: 1 dave now."  # a name with "@room" in it imitates: lists show the handle

    await bob.say(room, "!next")
    call = await alice.bot_said(room, has("ready for you now"))
    assert call.body == "dave: Bob is ready for you now."  # the call pings dave, by handle
    with_whom = await bob.bot_said(room, has("You're with"))
    assert "topic: <i>help</i> @room **now**" in with_whom.body

    # a name chosen with !profile set, shown back in private
    await dave.say(room, "!profile set name <b>@room</b> <img src=x>")
    dm = await accept_dm(dave)
    await dave.bot_said(dm, has("Saved."))
    await converse(dave, dm, [("!whoami", "(<b>@room</b> <img src=x>)")])

    said = alice.bot_says(room)
    for event in said + dave.bot_says(dm):
        assert_inert(event, pinged=dave.user_id if event is call else None)
    for person in (carol, bob, alice):  # the bot may ping the room (power 50): nobody was pinged
        assert await pings(person, room, said) == []
    assert await pings(dave, room, said) == [call.event_id]


async def test_office_hour_dms_name_the_room_and_a_hostile_room_name_stays_inert(bot, people):
    _app, room, p = await office_room(bot, people, ("dave", "Dave"), name="<b>x</b>\n@room")
    bob, alice = p["bob"], p["alice"]
    await converse(bob, room, [("!oh open", "Office hours are open with Bob")])
    await converse(alice, room, [("!q join", "You're #1 in line")])
    bob_dm = await accept_dm(bob)
    joined = await bob.bot_said(bob_dm, has("joined the line"))
    assert joined.body == "Alice joined the line in <b>x</b> @room (#1). !next there takes the first."
    await bob.say(room, "!next")
    alice_dm = await accept_dm(alice)
    ready = await alice.bot_said(alice_dm, has("is ready for you in"))
    assert ready.body == "Bob is ready for you in <b>x</b> @room now."  # the room's name, not its id, on one line
    for person, dm, said in ((bob, bob_dm, joined), (alice, alice_dm, ready)):
        assert_inert(said)  # no markup, m.mentions names nobody
        assert "&lt;b&gt;x&lt;/b&gt; @room" in content(said)["formatted_body"]
        assert await pings(person, dm, [said]) == []  # the bot is admin of the DM room: @room would ring


async def test_a_chart_arrives_as_an_image_in_the_room(bot, people):
    carol = await people("carol", "Carol")
    room = await carol.room(name="coordinators")
    await bot([room])
    await carol.bot_joined(room)
    await converse(carol, room, [(ROUND, "Round 2027 Q1 is open")])
    since = len(carol.timeline)
    await carol.say(room, "!round chart answers")
    summary = await carol.bot_said(room, has("Check-in answers in 2027 Q1: no check-in"), since=since)
    image = await carol.wait(lambda r, e: r == room and isinstance(e, RoomMessageImage) and e.sender == BOT,
                             what="the chart", since=since)
    assert carol.timeline.index((room, summary)) < carol.timeline.index((room, image))  # the words, then the picture
    assert image.body == "answers-2027-Q1.png" and content(image)["info"]["mimetype"] == "image/png"
    server, media = image.url.removeprefix("mxc://").split("/", 1)
    resp = await carol.c.send("GET", f"/_matrix/client/v1/media/download/{server}/{media}",
                              headers={"Authorization": f"Bearer {carol.c.access_token}"})
    assert resp.status == 200
    data = await resp.read()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) == content(image)["info"]["size"]


async def test_a_certificate_arrives_as_a_pdf_file_in_the_mentees_direct_room(bot, people, monkeypatch):
    monkeypatch.setenv("MENTORBOT_CERTIFICATE_SECRET", "c" * 40)
    carol, alice = await people("carol", "Carol"), await people("alice", "Alice")
    room = await carol.room(name="mentoring")
    await alice.join(room)
    await bot([room])
    await carol.bot_joined(room)
    await converse(carol, room, [(ROUND, "Round 2027 Q1 is open")])
    await converse(alice, room, [("!signup mentee", "sent you a private message")])
    dm = await accept_dm(alice)
    await alice.bot_said(dm, has("Which timezone are you in?"))
    await converse(alice, dm, [
        ("Europe/Berlin", "Which languages"), ("en", "Which kind of work"), ("3", "Which track"),
        ("programming", "Which areas or skills"), ("testing", "what is your goal"),
        ("Land my first patch in core", "You're signed up as a mentee for 2027 Q1"),
    ])
    since = len(alice.timeline)
    await converse(carol, room, [("!certificate issue alice", "I've sent them the PDF")])
    text = await alice.bot_said(dm, has("Here is your certificate"), since=since)
    pdf = await alice.wait(lambda r, e: r == dm and isinstance(e, RoomMessageFile) and e.sender == BOT,
                           what="the certificate", since=since)
    assert alice.timeline.index((dm, text)) < alice.timeline.index((dm, pdf))  # the words, then the file
    assert pdf.body == "certificate-alice-2027-Q1.pdf" and content(pdf)["info"]["mimetype"] == "application/pdf"
    server, media = pdf.url.removeprefix("mxc://").split("/", 1)
    resp = await alice.c.send("GET", f"/_matrix/client/v1/media/download/{server}/{media}",
                              headers={"Authorization": f"Bearer {alice.c.access_token}"})
    assert resp.status == 200 and (await resp.read()).startswith(b"%PDF")


async def test_the_bot_carries_on_after_the_homeserver_restarts(bot, people):
    carol = await people("carol", "Carol")
    room = await carol.room(name="restart")
    await bot([room])
    await carol.bot_joined(room)
    await converse(carol, room, [("!round status", "There has been no round yet.")])
    server("stop")
    server()  # the same data directory: accounts, rooms and tokens survive
    await carol.say(room, ROUND)
    await carol.bot_said(room, has("Round 2027 Q1 is open"), timeout=40)
    await converse(carol, room, [("!round status", ": 0 mentees, 0 mentors signed up")])
    said = [e.body for e in carol.bot_says(room)]
    assert len(said) == 3 and said[0].startswith("There has been no round yet.")
    assert said[1].startswith("Round 2027 Q1 is open: it runs Fri, 1 Jan 2027 → Wed, 31 Mar 2027, sign-ups ")
    assert said[2].startswith("Round 2027 Q1 (Fri, 1 Jan 2027 → Wed, 31 Mar 2027)") and said[2].endswith(
        ": 0 mentees, 0 mentors signed up, 0 withdrawn.")


# --------------------------------------------------------------------------- the process, killed


#: 70 different commands (every command and group of commands to ask help for), each with its own
#: answer in the room
BURST = sorted({"!help " + " ".join(s.path[:n]) for f in all_features() for s in f.commands if not s.hidden
                for n in range(1, len(s.path) + 1)})


def spawn(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTORBOT_")}
    env |= {"PYTHONPATH": str(ROOT), "MENTORBOT_MATRIX_PASSWORD": PASSWORD}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "chatbot", "--config", str(config), "run"],
                                cwd=config.parent, env=env, stdout=subprocess.DEVNULL, stderr=out)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:  # only the bot processes this test started
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def toml(raw: dict[str, Any]) -> str:
    """Just enough TOML for the config above (strings, numbers, lists of strings, tables)."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, v in raw.items():
        (tables.append((key, v)) if isinstance(v, dict) else lines.append(f"{key} = {value(v)}"))
    for name, table in tables:
        inner = {k: v for k, v in table.items() if not isinstance(v, dict)}
        lines += [f"[{name}]", *(f"{k} = {value(v)}" for k, v in inner.items())]
        for sub, subtable in ((k, v) for k, v in table.items() if isinstance(v, dict)):
            lines += [f"[{name}.{sub}]", *(f"{k} = {value(v)}" for k, v in subtable.items())]
    return "\n".join(lines) + "\n"


async def test_a_bot_killed_in_the_middle_of_a_burst_answers_every_command_exactly_once(
    homeserver, people, tmp_path, processes
):
    carol = await people("carol", "Carol")
    room = await carol.room(name="burst")
    config = tmp_path / "bot.toml"
    config.write_text(toml(settings(homeserver, tmp_path, [room])))
    log = tmp_path / "bot.log"
    processes.append(spawn(config, log))
    await wait_for(lambda: "running with matrix" in log.read_text(), 60, "the bot to start")

    asked = list(await asyncio.gather(*(carol.say(room, line) for line in BURST)))  # one sync batch, or a few

    def answers() -> set[str]:
        return {relation(e) for e in carol.bot_says(room)} & set(asked)

    deadline = time.monotonic() + 30
    while len(answers()) < 3:  # some answers are out: the bot is in the middle of the burst
        assert time.monotonic() < deadline, "the bot did not start answering"
        await carol.sync(0)
    processes[0].send_signal(signal.SIGKILL)
    processes[0].wait(timeout=10)
    await carol.sync(0)
    before = len(answers())
    assert before < len(asked), f"the kill came after {before} of {len(asked)} answers"

    processes.append(spawn(config, log))
    for event_id in asked:
        await carol.bot_said(room, answer_to(event_id), timeout=60, what="an answer to every command")
    marker = await carol.say(room, "!round status")
    await carol.bot_said(room, answer_to(marker), timeout=30)

    said = carol.bot_says(room)
    per_command = Counter(relation(e) for e in said)
    assert per_command == Counter([*asked, marker])  # every command answered exactly once
    assert len(said) == len(asked) + 1  # nothing else either
    texts = {e.body for e in said}
    assert len(texts) == len(asked) + 1  # each command got its own answer
    processes[1].send_signal(signal.SIGTERM)
    assert processes[1].wait(timeout=30) == 0
    db = sqlite3.connect(tmp_path / "bot.db")
    statuses = db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()
    db.close()
    assert statuses == [("sent", len(asked) + 1)]
    # the kill left something in doubt, and the restarted bot settled it: either it was handed
    # again events the killed one had handled (their batch was never acknowledged), which the
    # engine dropped by their Matrix event id, or it sent answers the killed one had committed and
    # claimed but not marked sent (Matrix drops a repeat by its transaction id)
    text = log.read_text()
    assert "ignoring replayed event" in text or "sending again what a stopped run had claimed" in text
    assert PASSWORD not in log.read_text()  # the secret came from the environment and stayed there
