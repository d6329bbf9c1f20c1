"""Outbound events as outbox rows, and what a send's outcome does to its row.

An outbound event is stored as JSON (``encode``/``decode``) with the recipient it is for (the
ordering key) and its priority. A failed send is retried with growing delays and then given
up; a platform's refusal is final; "offline" waits until the person is seen again.
"""

from __future__ import annotations

import dataclasses
import logging
from functools import lru_cache
from datetime import datetime, timedelta
from typing import Any, Iterable, Protocol, Sequence

from chatbot.delivery.fairness import BULK, URGENT, Pending
from chatbot.events import Announce, Attachment, Button, Delivery, DirectMessage, Form, Identity, Outbound, Reply, Where
from storage.outbox import OutboxRepo, OutboxRow

log = logging.getLogger(__name__)

#: how often a failed delivery is retried, and for how long
RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))


def platform_of(out: Outbound) -> str:
    return out.to.platform if isinstance(out, DirectMessage) else out.where.platform


def recipient_of(out: Outbound) -> str:
    """Who sees the message, as the sender orders them: a person ("@account") or a channel."""
    if isinstance(out, DirectMessage):
        return _person(out.to)
    if isinstance(out, Reply) and (out.where.is_direct or out.private) and out.to is not None:
        return _person(out.to)
    return "#" + (out.where.channel or "")


def _person(who: Identity) -> str:
    return "@" + (who.account or who.display)


def priority_of(out: Outbound, bulk: bool) -> int:
    """Direct messages of a scheduled job are bulk; answers, and anything said in a channel
    (an office hour opening, a call), are what people wait for."""
    return BULK if bulk and isinstance(out, DirectMessage) else URGENT


def row_for(out: Outbound, key: str, member_id: int | None, now: datetime, bulk: bool,
            claim: tuple[str, datetime] | None = None) -> dict[str, Any]:
    """The outbox row of ``out``. With ``claim`` (owner, until) it is recorded as claimed by the
    process that recorded it, which sends it itself: another process serving the same platform
    leaves it alone unless that process dies or the claim runs out."""
    event = out if out.key == key else dataclasses.replace(out, key=key)
    owner, until = claim if claim is not None else (None, None)
    return dict(key=key, platform=platform_of(out), member_id=member_id, payload=encode(event),
                attachment_data=event.attachment.data if event.attachment is not None else None,
                status="pending" if claim is None else "sending", claimed_by=owner, claimed_until=until,
                attempts=0, created_at=now, next_attempt_at=now, recipient=recipient_of(out),
                priority=priority_of(out, bulk))


def pending_of(row_id: int, row: dict[str, Any], group: str | None, event: Outbound) -> Pending:
    """What the sender holds of a row just recorded: ``event`` is the message as recorded (its
    ``key`` set, as ``row_for`` stores it), so its payload is not decoded back."""
    return Pending(row_id, row["platform"], row["member_id"], row["recipient"], row["priority"],
                   event, group, row["claimed_until"])


def pending_from(row: OutboxRow) -> Pending:
    return Pending(row.id, row.platform, row.member_id, row.recipient, row.priority, decode(row.payload, row.attachment_data))


def apply_results(outbox: OutboxRepo, results: Sequence[tuple[Pending, Delivery]], now: datetime) -> list[tuple[int, str]]:
    """Record what became of each message; returns (member id, platform) refused for good."""
    outbox.mark_sent([item.outbox_id for item, delivery in results if delivery.ok], now)
    refused: list[tuple[int, str]] = []
    for item, delivery in results:
        if delivery.ok:
            continue
        row = outbox.get(item.outbox_id)
        if row is None:
            continue  # erased meanwhile (!mydata delete)
        row.attempts += 1
        row.last_error = (delivery.detail or delivery.status)[:300]
        row.claimed_by = row.claimed_until = None
        if delivery.status == "offline":
            row.status = "offline"
        elif delivery.status == "undeliverable" or row.attempts > len(RETRY_DELAYS):
            row.status = "undeliverable" if delivery.status == "undeliverable" else "failed"
            log.warning("outbox %s to %s given up: %s", row.key, row.platform, row.last_error)
            if delivery.status == "undeliverable" and row.member_id is not None:
                refused.append((row.member_id, row.platform))
        else:
            row.status = "pending"
            row.next_attempt_at = now + RETRY_DELAYS[row.attempts - 1]
            log.info("outbox %s to %s set aside until %s: %s", row.key, row.platform,
                     row.next_attempt_at.isoformat(timespec="seconds"), row.last_error)
        outbox.db.add(row)
    # written now: the claims that follow in the same transaction are Core statements, which do
    # not flush the session, and must not see these rows as still being sent
    outbox.db.flush()
    return refused


# ---------------------------------------------------------------------- (de)serialising outbound

_TYPES: dict[str, type] = {"reply": Reply, "dm": DirectMessage, "announce": Announce}
_NAMES = {v: k for k, v in _TYPES.items()}


def encode(out: Outbound) -> dict[str, Any]:
    """The event as JSON. An attachment keeps only its name and media type here: its bytes go
    in the row's own column (``row_for``), so the payload stays small and text."""
    payload = {"type": _NAMES[type(out)], **_plain(out)}
    if out.attachment is not None:
        payload["attachment"] = {"name": out.attachment.name, "media_type": out.attachment.media_type}
    return payload


@lru_cache(maxsize=None)
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _plain(value: Any) -> Any:
    """``dataclasses.asdict`` for the events' fields (dataclasses, tuples, strings, numbers),
    which are immutable, so nothing is deep-copied: ``asdict`` was a third of recording a
    message (issue 24). An attachment's bytes are left out (``encode`` says why)."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: None if name == "attachment" else _plain(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def decode(payload: dict[str, Any], attachment_data: bytes | None = None) -> Outbound:
    """The event back from its payload and, if it carries a file, the file's bytes. A file
    whose bytes are gone (they are dropped once the message is sent) is left off."""
    data = dict(payload)
    kind = _TYPES[data.pop("type")]
    meta = data.pop("attachment", None)
    if isinstance(meta, dict) and attachment_data is not None:
        data["attachment"] = Attachment(meta["name"], meta["media_type"], attachment_data)
    for name in ("to", "mention"):
        if isinstance(data.get(name), dict):
            data[name] = Identity(**data[name])
    if isinstance(data.get("where"), dict):
        data["where"] = Where(**data["where"])
    if "buttons" in data:
        data["buttons"] = tuple(Button(**b) for b in data["buttons"])
    if isinstance(data.get("form"), dict):
        form = data["form"]
        data["form"] = Form(title=form["title"], questions=tuple(form["questions"]), label=form["label"], first=form.get("first", 1))
    return kind(**data)


class Reachable(Protocol):
    """What choosing where to DM reads of an identity: a ``PlatformIdentity``, or a row of
    those columns (``MemberRepo.reachable``)."""

    platform: str
    account: str
    display: str
    last_seen: datetime
    undeliverable_since: datetime | None


class Recipient(Protocol):
    """What a DM reads of the member it goes to: a ``Member``, or a row of those columns
    (``storage.addressees.Addressee``)."""

    @property
    def id(self) -> int | None: ...
    @property
    def pk(self) -> int: ...
    @property
    def handle(self) -> str: ...
    @property
    def language(self) -> str | None: ...
    @property
    def preferred_platform(self) -> str | None: ...


def choose_identity(member: Recipient, idents: Iterable[Reachable], running: Iterable[str]) -> Identity | None:
    """The identity to DM: on a running platform; the preferred one first, else the latest seen;
    a platform that refused the person for good comes last."""
    platforms = set(running)
    usable = [i for i in idents if i.platform in platforms]
    if not usable:
        return None
    usable.sort(key=lambda i: (i.undeliverable_since is not None, i.platform != member.preferred_platform, -i.last_seen.timestamp()))
    chosen = usable[0]
    return Identity(chosen.platform, chosen.account, chosen.display)
