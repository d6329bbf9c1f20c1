"""The office-hour queue as its visitors' commands read it: plain values, no ORM objects.

Why apart from ``storage.office_hours``: these are what the hot paths (``!q join``, ``!q
leave``, telling whoever is nearly up) get from one prebuilt statement each (issue 24); the
tables and the repository that reads them stay there, and it re-exports these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.addressees import Addressee


@dataclass(frozen=True)
class LineSummary:
    """A line as ``!q join`` and ``!q leave`` need it, read as one row instead of every entry
    as an ORM object (issue 24): how many wait, the last place number, one person's place."""

    count: int
    #: the ``seq`` of the last person waiting (0 when nobody waits): a newcomer gets the next
    last_seq: int
    #: the place (1 = first) of the entry asked about, None if it is not waiting
    place: int | None


@dataclass(frozen=True)
class Waiting:
    """One of the first people in line, as plain values: who to tell they are nearly up."""

    id: int
    member_id: int | None
    platform: str
    account: str | None
    nick: str
    nearly_told: bool


@dataclass(frozen=True)
class OpenHour:
    """An open session as the visitors' commands need it (``!q join``, ``!q leave``): plain
    values from one prebuilt statement, not an ORM object (issue 24)."""

    id: int
    platform: str
    channel: str

    @property
    def pk(self) -> int:
        return self.id


@dataclass(frozen=True)
class Visit:
    """What a visitor's command reads first: the open session, their place in it (None: not in
    line), and when asked the line's summary."""

    hour: OpenHour
    place: Place | None
    line: LineSummary | None


@dataclass(frozen=True)
class Place:
    """A person's waiting or called entry as plain values: what their own commands read of it.
    Changes go through the repository's prebuilt UPDATEs (``back``, ``retopic``, ``end``)."""

    id: int
    status: str
    seq: int
    topic: str | None
    host_id: int | None
    called_at: datetime | None
    left_at: datetime | None


@dataclass(frozen=True)
class HostsNow:
    """The hosts on duty in a session (one per duty, oldest duty first) and, for each who is
    with someone, when they called them: all an estimate needs of the hosts' side, and what
    telling them needs."""

    hosts: list[int]
    busy_since: dict[int, datetime | None]
    #: the hosts as a DM to them needs them
    people: dict[int, Addressee]
