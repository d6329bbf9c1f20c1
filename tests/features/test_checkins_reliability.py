"""Check-ins keep their promises when time, restarts and platforms misbehave: daylight-saving
changes in four zones, ticks that repeat, crashes on either side of a commit, downtime shorter
and longer than the grace period, a mentee offline on IRC, one who blocks DMs, and a tick whose
number of queries does not grow with the number of mentees."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from adapters.console import MemoryAdapter
from chatbot.context import Context, Feature, Job
from chatbot.events import Delivery, DirectMessage, Identity, Outbound, Seen
from chatbot.features.checkins import prompts as job
from storage.checkins import Checkin
from storage.mentorship import Pair
from storage.repos import Repos
from storage.tables import Member, PlatformIdentity, Signup
from tests.harness import Bot, selects
from tests.features.test_checkins import bot, checkins_of, outbox, paired_db, paired_templates, prompts, run_until, start, utc  # noqa: F401 - fixtures


class FlakyAdapter(MemoryAdapter):
    """A platform where some people are offline (IRC: not connected) for now."""

    def __init__(self, platform: str) -> None:
        super().__init__(platform)
        self.offline: set[str] = set()

    async def send(self, event: Outbound) -> Delivery:
        if isinstance(event, DirectMessage) and self.name_of(event.to) in self.offline:
            return Delivery("offline", "not connected")
        return await super().send(event)


async def sign_up_mentee(bot: Bot, name: str, tz: str = "Europe/Berlin", platform: str = "console") -> None:
    for answer in ["!signup mentee", tz, "en", "3", "programming", "testing", "Ship a feature"]:
        await bot.say(name, answer, platform=platform)


def prompted(bot: Bot) -> list[Checkin]:
    with Session(bot.app.database) as s:
        return list(s.exec(select(Checkin).order_by(Checkin.id)))


# ---------------------------------------------------------------------------- daylight saving


async def test_a_month_across_dst_in_four_zones_gives_exactly_two_prompts_a_week(tmp_path):
    bot = await Bot.start(tmp_path)
    try:
        bot.clock.set(utc(2027, 3, 1, 0))  # a Monday; the US, the EU and New Zealand change clocks in the weeks after
        zones = {"lena": "America/Los_Angeles", "bert": "Europe/Berlin", "kiran": "Asia/Kolkata", "aroha": "Pacific/Auckland"}
        await bot.say("you", '!round open "2027 H1" 2027-01-01 2027-06-30')  # runs past the month watched (a round's end stops prompts)
        for n, (name, tz) in enumerate(zones.items()):
            await bot.pair(name, "bob" if n < 2 else "carl", mentee_tz=tz)
        await run_until(bot, utc(2027, 4, 12, 0))
        rows = prompted(bot)
        with Session(bot.app.database) as s:
            handle = {m.id: m.handle for m in s.exec(select(Member))}
        for name, tz in zones.items():
            mine = [r for r in rows if handle[r.mentee_id] == name]
            local = [r.due_at.astimezone(ZoneInfo(tz)) for r in mine]
            assert {(t.strftime("%a"), t.time()) for t in local} == {("Mon", time(10)), ("Thu", time(10))}, name
            weeks = Counter(t.isocalendar()[:2] for t in local)
            for week in range(10, 15):  # the weeks of 8, 15, 22, 29 March and 5 April, all inside the month
                assert weeks[(2027, week)] == 2, (name, week)
            assert len({t.date() for t in local}) == len(local)  # never two on one day
            assert all(timedelta(0) <= r.prompted_at - r.due_at < timedelta(hours=3) for r in mine)
            assert len(prompts(bot, name)) == len(mine)  # one message per check-in, none lost or doubled
        assert len(rows) == len({(r.mentee_id, r.due_at) for r in rows})
    finally:
        await bot.stop()


# ---------------------------------------------------------------------------- ticks and restarts


async def test_two_ticks_at_the_same_instant_send_one_prompt(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 0))
    await asyncio.gather(bot.engine.run_due(), bot.engine.run_due())
    await bot.tick()
    assert len(prompts(bot)) == 1
    assert len(outbox(bot, "checkin:")) == 1 and len(checkins_of(bot)) == 1


def die_before_sending(bot: Bot) -> None:
    """The process stops between the commit and the send: its senders never hear of it."""
    bot.engine.senders.push = lambda items: None  # type: ignore[method-assign]
    bot.engine.senders.poke = lambda: None  # type: ignore[method-assign]


async def test_a_crash_after_the_prompt_was_recorded_sends_it_once_after_the_restart(bot):
    die_before_sending(bot)
    await run_until(bot, utc(2027, 1, 4, 9, 0))
    # recorded as claimed by the run that recorded it (to send itself); the next start releases it
    assert prompts(bot) == [] and [r.status for r in outbox(bot, "checkin:")] == ["sending"]
    await bot.restart()
    await bot.tick()
    await run_until(bot, utc(2027, 1, 4, 15, 0))
    assert len(prompts(bot)) == 1 and [r.status for r in outbox(bot, "checkin:")] == ["sent"]


async def test_a_crash_before_the_prompt_was_recorded_loses_nothing(bot, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("killed half-way through the tick")

    monkeypatch.setattr(job, "_prompt", crash)
    await run_until(bot, utc(2027, 1, 4, 9, 0))
    assert prompts(bot) == [] and checkins_of(bot) == []  # the whole tick rolled back
    monkeypatch.undo()
    await bot.restart()
    await bot.tick()
    assert len(prompts(bot)) == 1


async def test_a_restart_after_sending_repeats_nothing(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 0))
    await bot.restart()
    await bot.tick()
    await run_until(bot, utc(2027, 1, 4, 20, 0))
    await bot.restart()
    await run_until(bot, utc(2027, 1, 5, 8, 0))
    assert len(prompts(bot)) == 1


async def test_downtime_shorter_than_the_grace_period_sends_the_prompt_late(bot):
    await run_until(bot, utc(2027, 1, 4, 8, 0))
    await bot.stop()
    bot.clock.set(utc(2027, 1, 4, 14, 59))  # 5 h 59 min late
    await bot._boot(("console",))
    await bot.tick()
    assert [p.split("!")[0] for p in prompts(bot)] == ["Time for your check-in (Mon 4 Jan 10:00)"]
    assert [c.status for c in checkins_of(bot)] == ["prompted"]


async def test_downtime_longer_than_the_grace_period_skips_the_prompt(bot):
    await run_until(bot, utc(2027, 1, 4, 8, 0))
    await bot.stop()
    bot.clock.set(utc(2027, 1, 4, 15, 1))  # 6 h 1 min late
    await bot._boot(("console",))
    await run_until(bot, utc(2027, 1, 7, 9, 0))
    assert [p.split("!")[0] for p in prompts(bot)] == ["Time for your check-in (Thu 7 Jan 10:00)"]
    assert [c.status for c in checkins_of(bot)] == ["skipped", "prompted"]
    history = (await bot.say("alice", "!checkins"))[0].splitlines()
    assert history == [
        "Your check-ins: no check-ins closed yet; times in Europe/Berlin",
        "Mon 4 Jan 10:00: skipped (the bot was down)",
        "Thu 7 Jan 10:00: open, not answered yet",
    ]


async def test_a_long_downtime_catches_up_with_one_prompt_not_many(bot):
    await bot.stop()
    bot.clock.set(utc(2027, 1, 14, 11, 0))  # down for ten days; Thursday's check-in is 2 h late
    await bot._boot(("console",))
    await bot.tick()
    assert [p.split("!")[0] for p in prompts(bot)] == ["Time for your check-in (Thu 14 Jan 10:00)"]
    assert [c.status for c in checkins_of(bot)] == ["skipped", "skipped", "skipped", "prompted"]


async def test_an_answer_is_stored_before_it_is_acknowledged(bot):
    await run_until(bot, utc(2027, 1, 4, 9, 0))

    die_before_sending(bot)
    assert await bot.say("alice", "fixed it | tests | none | 4") == []
    [row] = checkins_of(bot)
    assert (row.status, row.answers) == ("answered", ["fixed it", "tests", "none", "4"])
    await bot.restart()
    await bot.tick()
    assert bot.dm("alice")[-1].startswith("Thanks, saved!")
    assert bot.dm("bob")[-1].startswith("alice checked in for Mon 4 Jan 04:00")


# ---------------------------------------------------------------------------- delivery


async def test_a_mentee_offline_on_irc_gets_the_prompt_when_next_seen(bot):
    irc = FlakyAdapter("irc")
    irc.said = bot.said
    bot.adapters["irc"] = irc
    bot.engine.attach(irc)
    await irc.start(bot.engine.handle, bot.engine.specs)
    await sign_up_mentee(bot, "dave", platform="irc")
    assert "bob now mentors dave" in (await bot.say("you", "!match assign dave bob"))[0]
    irc.offline.add("dave@irc")
    await run_until(bot, utc(2027, 1, 4, 12, 0))
    assert prompts(bot, "dave@irc") == [] and len(prompts(bot, "alice")) == 1
    irc.offline.clear()
    await bot.handle(Seen(Identity("irc", "dave", "dave")))
    [prompt] = prompts(bot, "dave@irc")
    assert prompt.startswith("Time for your check-in (Mon 4 Jan 10:00)")
    assert (await bot.say("dave", "a | b | none | 5", platform="irc"))[0].startswith("Thanks, saved!")


async def test_a_mentee_who_blocks_messages_does_not_stop_the_others(bot):
    await sign_up_mentee(bot, "dave")
    await bot.say("you", "!match assign dave bob")
    bot.adapters["console"].unreachable.add("alice")
    await run_until(bot, utc(2027, 1, 4, 12, 0))
    assert prompts(bot, "alice") == [] and len(prompts(bot, "dave")) == 1
    statuses = {r.key.split(":")[1]: r.status for r in outbox(bot, "checkin:")}
    assert sorted(statuses.values()) == ["sent", "undeliverable"]
    await run_until(bot, utc(2027, 1, 5, 0, 0))
    assert prompts(bot, "alice") == []  # undeliverable is not retried


# ---------------------------------------------------------------------------- scale


def _add_mentees(bot: Bot, count: int) -> None:
    """``count`` more mentees paired with bob, written straight to the store (the interviews are
    tested elsewhere; this is about how a tick scales)."""
    paired_at = utc(2027, 1, 3, 12)
    with Session(bot.app.database) as s:
        bob = s.exec(select(Member).where(Member.handle == "bob")).one()
        for n in range(count):
            m = Member(handle=f"m{n}", display_name=f"m{n}", timezone="Asia/Kolkata", preferred_platform="console", created_at=paired_at)
            s.add(m)
            s.flush()
            s.add(PlatformIdentity(platform="console", account=f"m{n}", member_id=m.id, display=f"m{n}", last_seen=paired_at))
            s.add(Signup(member_id=m.id, round_id=1, kind="mentee", tracks=["programming"], created_at=paired_at))
            s.add(Pair(round_id=1, mentee_id=m.id, mentor_id=bob.id, created_at=paired_at))
        s.commit()


async def _selects_of_one_tick(bot: Bot) -> tuple[int, int]:
    with selects(bot.app.database) as seen, Session(bot.app.database) as db:
        ctx = Context(bot.engine, Repos(db), bot.clock.now())
        await job.run_checkins(ctx)
        db.flush()
        db.rollback()
    return len(seen), len(ctx.outbound)


async def test_a_tick_asks_the_same_few_questions_however_many_mentees(bot):
    bot.clock.set(utc(2027, 1, 4, 9, 0))  # alice (Berlin) and the others (Kolkata, 04:30 UTC) are all due
    alone, sent = await _selects_of_one_tick(bot)
    assert sent == 1
    _add_mentees(bot, 60)
    crowd, sent = await _selects_of_one_tick(bot)
    assert sent == 61
    # the job's own state, the timezone check's mark, new pairs, their plans, due plans, who takes
    # part, identities, conversations, earlier check-ins, reminders (and three first-time state reads)
    assert crowd == alone <= 13


async def test_a_big_fan_out_goes_in_batches_and_commands_are_answered_between_them(tmp_path, paired_db):
    bot = await start(tmp_path, paired_db, checkins={"batch": 2})
    try:
        _add_mentees(bot, 5)
        bot.clock.set(utc(2027, 1, 4, 9, 0))  # all six are due

        def prompts_so_far() -> list[str]:
            return [s.target for s in bot.said if s.text.startswith("Time for your check-in")]

        async def command() -> tuple[list[str], int]:
            answer = await bot.say("bob", "!whoami")
            return answer, len(prompts_so_far())

        adapter, asked = bot.adapters["console"], []
        send = adapter.send

        async def send_then_command(event: Outbound) -> Delivery:  # bob writes as the first prompt goes out
            delivery = await send(event)
            if not asked:
                asked.append(asyncio.create_task(command()))
            return delivery

        adapter.send = send_then_command  # type: ignore[method-assign]
        await bot.tick()
        answer, _ = await asked[0]
        assert answer[0].startswith("You are bob")
        # handled between two batches, not after all of them: its answer was recorded before the
        # last prompts (and, being an answer, went out before the bulk still waiting)
        order = [r.payload["text"].split(" ")[0] for r in outbox(bot, "")]
        assert order.index("You") < max(i for i, k in enumerate(order) if k == "Time"), order
        assert sorted(prompts_so_far()) == sorted(["dm alice", *(f"dm m{n}" for n in range(5))])  # one tick, everyone once
    finally:
        await bot.stop()


async def test_a_long_fan_out_does_not_hold_up_the_other_jobs_of_the_tick(tmp_path, paired_db):
    ran_when: list[int] = []

    async def other_duty(ctx: Context) -> None:  # an office hour opening, a digest: anything due now
        ran_when.append(len([s for s in bot.said if s.text.startswith("Time for your check-in")]))

    bot = await start(tmp_path, paired_db, checkins={"batch": 2}, extra_features=(Feature("other", jobs=(Job("other", other_duty),)),))
    try:
        _add_mentees(bot, 5)
        bot.clock.set(utc(2027, 1, 4, 9, 0))  # six prompts due: three batches
        await bot.tick()
        assert ran_when and ran_when[0] < 6  # it ran after the first batch, not after the whole fan-out
        assert len([s for s in bot.said if s.text.startswith("Time for your check-in")]) == 6
    finally:
        await bot.stop()


async def test_a_tick_with_its_time_spent_leaves_the_rest_of_the_fan_out_to_the_next(tmp_path, paired_db):
    bot = await start(tmp_path, paired_db, checkins={"batch": 2})
    try:
        _add_mentees(bot, 5)
        bot.clock.set(utc(2027, 1, 4, 9, 0))  # six prompts due: three batches
        await bot.tick(budget=0)  # spent at once: one batch, no more
        assert len([s for s in bot.said if s.text.startswith("Time for your check-in")]) == 2
        await bot.tick()  # the next tick goes on where it stopped
        assert len({s.target for s in bot.said if s.text.startswith("Time for your check-in")}) == 6
        assert len([s for s in bot.said if s.text.startswith("Time for your check-in")]) == 6
    finally:
        await bot.stop()
