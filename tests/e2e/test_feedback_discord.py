"""Feedback on Discord (the fake Discord on 127.0.0.1): the questions come in a DM with a form
behind a button, and the form's answers are saved for the coordinators alone."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlmodel import select

from storage.feedback import FeedbackAnswer
from tests.discord_fixtures import discord_env, fake  # noqa: F401 (fixtures)
from tests.e2e.test_e2e_discord import Scene, scene  # noqa: F401 (the fixture)


async def test_feedback_questions_in_a_dm_answered_through_their_form(scene: Scene) -> None:
    await scene.pair("alice", "bob")
    scene.clock.set(datetime(2027, 1, 14, 13, 0, tzinfo=timezone.utc))  # 14:00 in Berlin on the window's date
    await scene.bot.engine.run_due()
    dm = await scene.dm_channel("alice")
    asked = await scene.fake.wait(channel=dm, author="bot", match=r"^Feedback time \(initial, 2027 Q1\)")
    buttons = {b["label"]: b["custom_id"] for row in asked["components"] for b in row["components"]}
    assert set(buttons) == {"Answer", "Answer in a form"} and buttons["Answer"] == "mentorbot:cmd:!feedback"

    click, fields = await scene.open_form("alice", asked)
    assert len(fields) == 5 and fields[0]["label"].startswith("When were you last in touch with bob")  # cut to 45
    values = {"q0": "yesterday", "q1": "2", "q2": "4", "q3": "", "q4": "Going well"}
    thanks = await scene.submit_form(click, values, dm)
    assert thanks["content"].startswith("Thanks, saved! Only the coordinators will read it.")
    with scene.db() as s:
        row = s.exec(select(FeedbackAnswer)).one()
    assert (str(row.last_contact), row.frequency, row.progress, row.risk, row.notes) == ("2027-01-13", "biweekly", 4, None, "Going well")
    assert not await scene.bot_messages(await scene.dm_channel("bob"), "Going well")
