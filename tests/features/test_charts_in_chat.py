"""``!round chart``: a PNG where the platform takes files, one line with the dashboard's link
elsewhere; and the attachment's way through the outbox.

The platform that takes files here is a MemoryAdapter that says so (``Capabilities.attachments``)
and records what it got; the real uploads are tested against the fake Discord and Synapse in
``test_e2e_discord.py`` and ``test_e2e_matrix.py``.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import Session, select

from adapters.base import Capabilities
from adapters.console import MemoryAdapter, Said
from chatbot.delivery.records import decode, encode
from chatbot.events import Attachment, Delivery, Outbound, Reply, Where
from storage.tables import OutboxMessage
from tests.dashboard_seed import SECRET, seeded_bot
from tests.harness import Bot

PNG = b"\x89PNG\r\n\x1a\n"


class FilesAdapter(MemoryAdapter):
    """A chat platform that takes files, recording each one it was given."""

    capabilities = dataclasses.replace(MemoryAdapter.capabilities, attachments=True)

    def __init__(self) -> None:
        super().__init__("files")
        self.files: list[tuple[Outbound, Attachment]] = []

    async def send(self, event: Outbound) -> Delivery:
        if getattr(event, "attachment", None) is not None:
            self.files.append((event, event.attachment))  # type: ignore[union-attr]
        return await super().send(event)


async def with_files(bot: Bot) -> Bot:
    """The bot, also on the "files" platform (one transcript across platforms)."""
    files = FilesAdapter()
    files.said = bot.said
    bot.adapters["files"] = files
    bot.engine.attach(files)
    await files.start(bot.engine.handle, bot.engine.specs)
    return bot


@pytest.fixture
async def bot(tmp_path, monkeypatch):
    monkeypatch.setenv("MENTORBOT_DASHBOARD_SECRET", SECRET)
    bot = await with_files(await seeded_bot(tmp_path))
    yield bot
    await bot.stop()


async def test_a_chart_arrives_as_a_png_where_the_platform_takes_files(bot):
    out = await bot.say("you", "!round chart answers", channel="#coordinators", platform="files")
    files = bot.adapters["files"].files
    assert len(files) == 1
    event, image = files[0]
    assert isinstance(event, Reply) and event.where == Where("files", "#coordinators")
    assert image.name == "answers-2027-Q1.png" and image.media_type == "image/png"
    assert image.data.startswith(PNG) and len(image.data) > 5000
    assert out == ["you: Check-in answers in 2027 Q1: 50% in the week of 11 Jan (1 of 2), 60% over the round "
                   "(3 of 5 check-ins)."]
    for chart, words in (("sessions", "3 sessions logged over 4 weeks"), ("waits", "median 10 min, p90 30 min"),
                         ("skills", "average change +1 points")):
        out = await bot.say("you", f"!round chart {chart}", platform="files")
        assert words in out[0]
        assert bot.adapters["files"].files[-1][1].name == f"{chart}-2027-Q1.png"


async def test_elsewhere_the_chart_is_one_line_with_the_dashboard_link(bot):
    out = await bot.say("you", "!round chart sessions", channel="#coordinators")
    assert out == [f"you: Sessions in 2027 Q1: 3 sessions logged over 4 weeks, 0 sessions in the week of 18 Jan. "
                   f"Chart: {bot.engine.web_url}/round/1"]
    assert "\n" not in out[0]
    out = await bot.say("you", "!round chart skills")
    assert out[0].endswith(f"Chart: {bot.engine.web_url}/skills/1")


async def test_without_a_dashboard_the_line_has_no_link(tmp_path, monkeypatch):
    bot = await seeded_bot(tmp_path, listen=None)
    try:
        out = await bot.say("you", "!round chart waits")
        assert out == ["Office-hour waits: median 10 min, p90 30 min over 3 people called in 2 weeks."]
        out = await bot.say("bob", "!dashboard")
        assert "not turned on" in out[0]
    finally:
        await bot.stop()


async def test_bad_chart_names_and_other_roles_get_a_clear_answer(bot):
    out = await bot.say("you", "!round chart pies")
    assert "answers|sessions|waits|skills" in out[0] and "Traceback" not in out[0]
    out = await bot.say("bob", "!round chart")
    assert "is for coordinator" in out[0]
    assert bot.adapters["files"].files == []


async def test_the_file_waits_in_the_outbox_beside_its_message_and_goes_once_sent(bot):
    image = Attachment("chart.png", "image/png", PNG + b"rest")
    event = Reply(where=Where("files", "#x"), text="here", attachment=image)
    payload = encode(event)
    assert payload["attachment"] == {"name": "chart.png", "media_type": "image/png"}
    assert "data" not in str(payload)  # the bytes never go in the JSON
    assert decode(payload, image.data) == event
    assert decode(payload).attachment is None  # sent already: the text alone
    await bot.say("you", "!round chart", platform="files")
    with Session(bot.engine.database) as s:
        row = s.exec(select(OutboxMessage).where(OutboxMessage.platform == "files")).one()
    assert row.status == "sent" and row.payload["attachment"]["name"] == "answers-2027-Q1.png"
    assert row.attachment_data is None  # kept only until it was sent


async def test_a_file_whose_send_failed_goes_again_with_its_bytes(bot):
    files = bot.adapters["files"]
    real_send, failures = files.send, [1]

    async def flaky(event):  # noqa: ANN001, ANN202 - the adapter's send, failing once
        if failures and getattr(event, "attachment", None) is not None:
            failures.pop()
            return Delivery("failed", "test: the platform is down")
        return await real_send(event)

    files.send = flaky
    await bot.say("you", "!round chart sessions", platform="files")
    assert files.files == []
    with Session(bot.engine.database) as s:
        row = s.exec(select(OutboxMessage).where(OutboxMessage.platform == "files")).one()
        assert row.status == "pending" and row.attachment_data.startswith(PNG)  # kept for the retry
    bot.clock.advance(__import__("datetime").timedelta(seconds=31))
    await bot.settle()
    [(event, image)] = files.files
    assert image.name == "sessions-2027-Q1.png" and image.data == row.attachment_data


async def test_a_persons_data_export_leaves_out_a_waiting_file(bot):
    """The outbox is the bot's bookkeeping: a file waiting there is not the person's record
    (and an earlier export waiting there would make each export grow)."""
    from chatbot.delivery.records import row_for
    from chatbot.events import DirectMessage, Identity
    from storage.repos import Repos

    with Session(bot.engine.database) as s:
        repos = Repos(s)
        alice = repos.members.by_handle("alice")
        dm = DirectMessage(to=Identity("files", "alice", "alice"), text="your certificate",
                           attachment=Attachment("certificate.pdf", "application/pdf", b"%PDF-1.7 ..."))
        repos.outbox.insert_many([row_for(dm, "test:1", alice.id, bot.clock.now(), bulk=False)])
        exported = repos.privacy.export(alice.id)
    assert "outbox" not in exported and "alice" in str(exported["member"])
    assert "certificate.pdf" not in str(exported) and "%PDF" not in str(exported)
