"""Repositories: the only place with queries. Features call these, never SQL.

Each repository works inside the caller's session (one unit of work per inbound event), so a
handler's changes commit or roll back together.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, delete, exists, false, func, literal, or_, select as core_select, tuple_, union_all, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel, col, select

from storage import lean
from storage.addressees import Addressee, addressee
from storage.assessments import AssessmentRepo
from storage.aside import AsideInterview, AsideRepo
from storage.certificates import CertificateRepo
from storage.checkins import CheckinRepo
from storage.conversations import ConversationRepo
from storage.dashboard import DashboardLinkRepo
from storage.insert_new import InsertNew
from storage.keyed import by_key, hold_for_unit
from storage.feedback import FeedbackRepo
from storage.mentorship import PairRepo
from storage.office_hours import OfficeHoursRepo
from storage.outcomes import OutcomeRepo
from storage.outbox import OutboxRepo
from storage.pending_roles import PendingRoleRepo
from storage.leavers import LeaverRepo
from storage.privacy import PrivacyRepo
from storage.progress import AwayRepo, GoalRepo, MentoringSessionRepo
from storage.reports import ReportRepo
from storage.round_reports import RoundReportRepo
from storage.tables import (
    Conversation,
    KeyValue,
    LinkCode,
    Member,
    MemberRole,
    PlatformIdentity,
    ProcessedEvent,
    Round,
    Signup,
    table_of,
)


# Statements asked at every inbound event, built once: building a statement and its cache key
# cost more than running it (see bench/RESULTS.md, issue 24).
_SIGNUP = table_of(Signup)
_SIGNUPS_OF = (  # rows made ORM objects by ``lean.objects``, as those below
    core_select(*_SIGNUP.c).where(_SIGNUP.c.member_id == bindparam("member_id"), _SIGNUP.c.round_id == bindparam("round_id"))
    .order_by(_SIGNUP.c.id)
)
_PI = table_of(PlatformIdentity)
_IDENTITIES = core_select(*_PI.c).where(_PI.c.member_id == bindparam("member_id")).order_by(_PI.c.last_seen.desc())
#: an identity's columns that choosing where to DM looks at: rows, no ORM objects to build (one
#: per DM; ``storage.lean`` flushes the session first, as a query would)
_REACHABLE = (
    core_select(_PI.c.platform, _PI.c.account, _PI.c.display, _PI.c.last_seen, _PI.c.undeliverable_since)
    .where(_PI.c.member_id == bindparam("member_id"))
)
_NOT_CLOSED = select(Round).where(Round.status == "open")
_ROUND = table_of(Round)
_NOT_CLOSED_IN_ORDER = core_select(*_ROUND.c).where(_ROUND.c.status == "open").order_by(_ROUND.c.starts_on)
_MEMBER = table_of(Member)
_ROLE = table_of(MemberRole)
#: members as rows of their columns, made ORM objects by ``lean.objects``
_MEMBER_BY_IDENTITY = (
    core_select(*_MEMBER.c).join(_PI, _PI.c.member_id == _MEMBER.c.id)
    .where(_PI.c.platform == bindparam("platform"), _PI.c.account == bindparam("account"))
)
_BY_HANDLE = core_select(*_MEMBER.c).where(func.lower(_MEMBER.c.handle) == bindparam("handle"))
_TOUCH = (
    update(_PI).where(_PI.c.id == bindparam("ident_id"))
    .values(display=bindparam("display"), last_seen=bindparam("now"), undeliverable_since=None)
)
_PE = table_of(ProcessedEvent)
_OLDEST_EVENT = core_select(func.min(ProcessedEvent.handled_at))
#: a group's events, each inserted only when it is not there yet: one statement, whose rows say
#: which were new (each dialect has its own construct for the same clause)
_RECORD_NEW = InsertNew(_PE, [_PE.c.platform, _PE.c.event_id], [_PE.c.platform, _PE.c.event_id])
_FORGET_EVENTS = delete(_PE).where(tuple_(_PE.c.platform, _PE.c.event_id).in_(bindparam("keys", expanding=True)))


@lru_cache(maxsize=8)
def _seen_statement(admins: frozenset[str]) -> Any:
    """The member's columns, each granted role (one row per role), whether one of the member's
    identities is a configured admin, and the identity's columns the gate looks at: everything
    the gate needs, in one statement, run by ``storage.lean`` (the admins are values bound in
    the statement, not an IN list, which SQLAlchemy would expand at every run)."""
    other = _PI.alias()
    address = other.c.platform + ":" + other.c.account
    admin = exists().where(other.c.member_id == _MEMBER.c.id, or_(*(address == a for a in sorted(admins)))) if admins else false()
    return (
        core_select(*_MEMBER.c, _ROLE.c.role, admin, _PI.c.id, _PI.c.display, _PI.c.last_seen, _PI.c.undeliverable_since)
        .select_from(_PI)
        .join(_MEMBER, _MEMBER.c.id == _PI.c.member_id)
        .outerjoin(_ROLE, _ROLE.c.member_id == _MEMBER.c.id)
        .where(_PI.c.platform == bindparam("platform"), _PI.c.account == bindparam("account"))
    )


#: a display name shaped like somebody's id on a platform (Matrix "@coord:server", a Discord
#: mention, "irc:alice"): a handle made from it could pass for that person
_LOOKS_LIKE_AN_ID = re.compile(r"^[@#!+]|<@|:")
_MARKUP = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)


def _unaccented(text: str) -> str:
    """``José`` -> ``Jose``: letters people recognise, in the ASCII a handle is made of."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def handle_source(account: str, display: str) -> str:
    """A new person's name as the bot shows it, and what their handle is made from: their
    display name as people read it (markup removed), unless it is empty or looks like an id,
    then their own account's name (a Matrix id's localpart), so nobody is listed under a name
    that imitates someone else's."""
    return readable_display(display) or account.lstrip("@").split(":")[0] or account


def readable_display(display: str) -> str | None:
    """A display name as people read it (markup removed, on one line), or None when it is empty
    or looks like an id (``@coord:localhost``, ``<@123>``, ``#room``): such a name imitates."""
    shown = " ".join(_MARKUP.sub("", display).split())
    return shown if shown and not _LOOKS_LIKE_AN_ID.search(shown) else None


@dataclass(frozen=True)
class SeenIdentity:
    """What the gate reads of the identity a command came from (see ``identity_with_roles``)."""

    id: int
    display: str
    last_seen: datetime
    undeliverable_since: datetime | None


class MemberRepo:
    def __init__(self, db: Session):
        self.db = db

    def get(self, member_id: int) -> Member | None:
        return by_key(self.db, Member, member_id)

    def addressee(self, member_id: int) -> Addressee | None:
        """The member as a DM to them needs them: a row, no ORM object (``storage.addressees``)."""
        return addressee(self.db, member_id)

    def by_identity(self, platform: str, account: str) -> Member | None:
        return lean.first_object(self.db, Member, _MEMBER_BY_IDENTITY, {"platform": platform, "account": account})

    def by_handle(self, handle: str) -> Member | None:
        return lean.first_object(self.db, Member, _BY_HANDLE, {"handle": handle.lower()})

    def identity_with_roles(
        self, platform: str, account: str, admins: frozenset[str] = frozenset()
    ) -> tuple[SeenIdentity, Member, set[str]] | None:
        """The identity, its member and their roles (granted, and "admin" when one of their
        identities is among ``admins``), in one query: the gate asks it at every command. Read
        fresh in every transaction, never cached, so a role granted a moment ago counts."""
        rows = lean.rows(self.db, _seen_statement(admins), {"platform": platform, "account": account})
        if not rows:
            return None
        role = len(_MEMBER.c)  # the member's columns come first, then the role, admin, identity
        member = lean.adopt(self.db, Member, rows[0])
        roles = {row[role] for row in rows if row[role] is not None}
        if rows[0][role + 1]:
            roles.add("admin")
        return SeenIdentity(*rows[0][role + 2:]), member, roles

    def identities(self, member_id: int) -> list[PlatformIdentity]:
        return lean.objects(self.db, PlatformIdentity, _IDENTITIES, {"member_id": member_id})

    def reachable(self, member_id: int) -> list[Any]:
        """The member's identities as rows with the columns ``choose_identity`` reads (platform,
        account, display, last_seen, undeliverable_since): asked for every DM."""
        return lean.rows(self.db, _REACHABLE, {"member_id": member_id})

    def handles_starting(self, prefix: str, limit: int = 25) -> list[str]:
        stmt = (
            select(Member.handle)
            .where(func.lower(Member.handle).startswith(prefix.lower(), autoescape=True))
            .order_by(Member.handle)
            .limit(limit)
        )
        return list(self.db.exec(stmt))

    def by_display(self, platform: str, display: str) -> list[Member]:
        """People last seen on ``platform`` under this display name (for naming, never for rights)."""
        stmt = (
            select(Member)
            .join(PlatformIdentity, col(PlatformIdentity.member_id) == col(Member.id))
            .where(PlatformIdentity.platform == platform, func.lower(PlatformIdentity.display) == display.lower())
        )
        return list(self.db.exec(stmt))

    def unique_handle(self, wanted: str) -> str:
        base = re.sub(r"[^a-z0-9_\-]", "", _unaccented(wanted).lower())[:24] or "member"
        if base[0].isdigit() or base[0] in "-_":
            base = "m" + base
        handle, n = base, 1
        while self.by_handle(handle) is not None:
            n += 1
            handle = f"{base}{n}"
        return handle

    def create(self, platform: str, account: str, display: str, now: datetime) -> Member:
        shown = handle_source(account, display)
        member = Member(
            handle=self.unique_handle(shown),
            display_name=shown,
            preferred_platform=platform,
            created_at=now,
        )
        self.db.add(member)
        self.db.flush()
        self.db.add(PlatformIdentity(platform=platform, account=account, member_id=member.pk, display=display, last_seen=now))
        self.db.flush()
        PendingRoleRepo(self.db).claim(platform, account, member.pk)  # roles a coordinator gave ahead of time
        return member

    def touch(self, ident_id: int, display: str, now: datetime) -> None:
        """The person wrote to us from this identity now, as ``display``: worth trying DMs
        there again.

        One prebuilt UPDATE; an ORM object of the identity the session holds is given the same
        values as committed state (changed as an object, it would cost an ORM flush at the next
        query: most of a command's first message in five minutes, issue 24). A savepoint rolled
        back after this does not expire that object (the ORM did not see it change): whoever
        rolls one back expires the session."""
        lean.run(self.db, _TOUCH, {"ident_id": ident_id, "display": display, "now": now})
        loaded = self.db.identity_map.get(identity_key(PlatformIdentity, (ident_id,)))
        if loaded is not None:
            for name, value in (("display", display), ("last_seen", now), ("undeliverable_since", None)):
                set_committed_value(loaded, name, value)

    def merge(self, keep: Member, gone: Member) -> None:
        """Join ``gone`` into ``keep``: identities, roles and every record move; ``gone`` is deleted.

        Records are found through the foreign keys to ``member.id`` in the metadata, so a table a
        feature adds later moves too without this code knowing it."""
        kept_roles = {r.role for r in self.db.exec(select(MemberRole).where(MemberRole.member_id == keep.pk))}
        for role in list(self.db.exec(select(MemberRole).where(MemberRole.member_id == gone.pk))):
            if role.role not in kept_roles:
                self.db.add(MemberRole(member_id=keep.pk, role=role.role, granted_by=role.granted_by, granted_at=role.granted_at))
            self.db.delete(role)
        self.db.exec(delete(Conversation).where(col(Conversation.member_id) == gone.pk))
        self.db.exec(delete(AsideInterview).where(col(AsideInterview.member_id) == gone.pk))
        self.db.flush()
        for table in SQLModel.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table.name == Member.__tablename__ and table.name != Member.__tablename__:
                    column = fk.parent
                    self.db.execute(update(table).where(column == gone.pk).values({column.name: keep.pk}))
        for field in ("timezone", "role_focus"):
            if getattr(keep, field) is None and getattr(gone, field) is not None:
                setattr(keep, field, getattr(gone, field))
        if not keep.languages and gone.languages:
            keep.languages = list(gone.languages)
        self.db.add(keep)
        self.db.flush()
        self.db.expire_all()
        self.db.delete(self.db.get(Member, gone.pk))
        self.db.flush()


class RoleRepo:
    def __init__(self, db: Session):
        self.db = db

    def of(self, member_id: int, admins: Iterable[str] = ()) -> set[str]:
        """The member's granted roles, plus "admin" when one of their identities is among
        ``admins`` ("platform:account", from the config): one query, asked at every command."""
        granted = select(MemberRole.role).where(MemberRole.member_id == member_id)
        admins = list(admins)
        if not admins:
            return set(self.db.exec(granted))
        configured = select(literal("admin")).where(
            PlatformIdentity.member_id == member_id,
            (col(PlatformIdentity.platform) + ":" + col(PlatformIdentity.account)).in_(admins),
        )
        return set(self.db.exec(union_all(granted, configured)).scalars())  # type: ignore[call-overload]

    def grant(self, member_id: int, role: str, by: int | None, now: datetime) -> bool:
        if self.db.get(MemberRole, (member_id, role)) is not None:
            return False
        self.db.add(MemberRole(member_id=member_id, role=role, granted_by=by, granted_at=now))
        return True

    def revoke(self, member_id: int, role: str) -> bool:
        row = self.db.get(MemberRole, (member_id, role))
        if row is None:
            return False
        self.db.delete(row)
        return True

    def holders(self, role: str) -> list[Member]:
        stmt = select(Member).join(MemberRole, col(MemberRole.member_id) == col(Member.id)).where(MemberRole.role == role)
        return list(self.db.exec(stmt))


class RoundRepo:
    """Rounds and their states, which follow from their dates (``today``, a UTC date) until a
    round is closed: *taking sign-ups* (``signups_from`` ≤ today ≤ ``signups_until``) and
    *running* (from ``starts_on`` until it is closed, by hand or the day after ``ends_on``).
    Opening a round refuses overlaps, so at most one round does each at a time."""

    def __init__(self, db: Session):
        self.db = db

    def get(self, round_id: int) -> Round | None:
        return by_key(self.db, Round, round_id)

    def _not_closed(self):  # noqa: ANN202 - a select
        return _NOT_CLOSED

    def running(self, today: date) -> Round | None:
        """The round in progress: started and not closed yet."""
        stmt = self._not_closed().where(col(Round.starts_on) <= today)
        return self.db.exec(stmt.order_by(col(Round.starts_on).desc())).first()

    def taking_signups(self, today: date) -> Round | None:
        """The round people sign up for today."""
        stmt = self._not_closed().where(col(Round.signups_from) <= today, col(Round.signups_until) >= today)
        return self.db.exec(stmt.order_by(col(Round.signups_from))).first()

    def current(self, today: date) -> Round | None:
        """The round pairs are made and work in: the running round, else the one taking sign-ups."""
        return self.running(today) or self.taking_signups(today)

    def not_closed(self) -> list[Round]:
        return lean.objects(self.db, Round, _NOT_CLOSED_IN_ORDER)  # `!profile` asks it

    def by_name(self, name: str) -> Round | None:
        return self.db.exec(select(Round).where(func.lower(Round.name) == name.lower())).first()

    def add(
        self, name: str, starts: date, ends: date, by: int | None, now: datetime,
        signups: tuple[date, date] | None = None,
    ) -> Round:
        """A new round; sign-ups from ``now``'s day until it starts when no dates are given."""
        signups_from, signups_until = signups or (now.date(), max(now.date(), starts))
        rnd = Round(
            name=name, starts_on=starts, ends_on=ends, opened_by=by, opened_at=now,
            signups_from=signups_from, signups_until=signups_until,
        )
        self.db.add(rnd)
        self.db.flush()
        return rnd

    def latest(self) -> Round | None:
        return self.db.exec(select(Round).order_by(col(Round.opened_at).desc())).first()

    def latest_started(self, today: date) -> Round | None:
        """The round that started last (between rounds: the one that just ended), else the
        latest opened (a first round still taking sign-ups)."""
        stmt = select(Round).where(col(Round.starts_on) <= today).order_by(col(Round.starts_on).desc())
        return self.db.exec(stmt).first() or self.latest()

    def close(self, rnd: Round, now: datetime) -> None:
        rnd.status, rnd.closed_at = "closed", now
        self.db.add(rnd)

    def ending_by(self, day: date) -> list[Round]:
        """Rounds not closed whose last day is ``day`` or earlier."""
        return list(self.db.exec(self._not_closed().where(col(Round.ends_on) <= day).order_by(col(Round.ends_on))))


@dataclass(frozen=True)
class SignupCounts:
    mentees: int
    mentors: int
    withdrawn: int


class SignupRepo:
    def __init__(self, db: Session):
        self.db = db

    def of(self, member_id: int, round_id: int, kind: str | None = None) -> list[Signup]:
        if kind is None:  # every `!profile`
            return lean.objects(self.db, Signup, _SIGNUPS_OF, {"member_id": member_id, "round_id": round_id})
        stmt = select(Signup).where(Signup.member_id == member_id, Signup.round_id == round_id)
        if kind:
            stmt = stmt.where(Signup.kind == kind)
        return list(self.db.exec(stmt.order_by(col(Signup.id))))

    def add(self, signup: Signup) -> Signup:
        self.db.add(signup)
        self.db.flush()
        return signup

    def active(self, round_id: int, kind: str) -> list[Signup]:
        stmt = select(Signup).where(Signup.round_id == round_id, Signup.kind == kind, Signup.status == "active")
        return list(self.db.exec(stmt.order_by(col(Signup.id))))

    def counts(self, round_id: int) -> SignupCounts:
        rows = self.db.exec(
            select(Signup.kind, Signup.status, func.count()).where(Signup.round_id == round_id).group_by(Signup.kind, Signup.status)
        ).all()
        active = {(k, st): n for k, st, n in rows}
        return SignupCounts(
            mentees=active.get(("mentee", "active"), 0),
            mentors=active.get(("mentor", "active"), 0),
            withdrawn=sum(n for (k, st), n in active.items() if st == "withdrawn"),
        )

    def save(self, signup: Signup) -> None:
        self.db.add(signup)

    def latest_round_of(self, member_id: int, kind: str) -> Round | None:
        """The latest round the person signed up for as ``kind``."""
        stmt = (
            select(Round).join(Signup, col(Signup.round_id) == col(Round.id))
            .where(Signup.member_id == member_id, Signup.kind == kind)
            .order_by(col(Round.starts_on).desc())
        )
        return self.db.exec(stmt).first()


class LinkRepo:
    ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread

    def __init__(self, db: Session):
        self.db = db

    def issue(self, member_id: int, platform: str, expires: datetime, rng: random.Random) -> str:
        self.db.exec(delete(LinkCode).where(col(LinkCode.member_id) == member_id))
        code = "".join(rng.choice(self.ALPHABET) for _ in range(8))
        self.db.add(LinkCode(code=code, member_id=member_id, platform=platform, expires_at=expires))
        return code

    def take(self, code: str) -> LinkCode | None:
        """The code's row, removed so it cannot be used twice (expired ones too)."""
        row = self.db.get(LinkCode, code.upper().replace("-", ""))
        if row is not None:
            self.db.delete(row)
        return row


class EventRepo:
    def __init__(self, db: Session):
        self.db = db

    def record_new(self, keys: Iterable[tuple[str, str] | None], now: datetime) -> set[tuple[str, str]]:
        """Record these (platform, event id) as handled, in one statement for a whole group of
        events; the ones that were not recorded before (the others are replays). None: an
        event without an id, left out."""
        rows = [{"platform": k[0], "event_id": k[1], "handled_at": now} for k in dict.fromkeys(keys) if k is not None]
        return {(p, e) for p, e in _RECORD_NEW(self.db, rows)}

    def forget(self, keys: Sequence[tuple[str, str] | None]) -> None:
        """Unrecord events :meth:`record_new` recorded that were not handled after all (a
        group's time ran out): they are handled by the next group, and a crash before then
        must leave them to be delivered again."""
        wanted = [k for k in keys if k is not None]
        if wanted:
            self.db.connection().execute(_FORGET_EVENTS, {"keys": wanted})

    def oldest(self) -> datetime | None:
        """When the oldest remembered event was handled (indexed): nothing to forget before it
        is a week old."""
        return self.db.connection().execute(_OLDEST_EVENT).scalar()

    def forget_before(self, cutoff: datetime) -> int:
        result = self.db.exec(delete(ProcessedEvent).where(col(ProcessedEvent.handled_at) < cutoff))  # type: ignore[call-overload]
        return int(result.rowcount or 0)


class KeyValueRepo:
    def __init__(self, db: Session):
        self.db = db

    def get(self, namespace: str, key: str) -> str | None:
        row = by_key(self.db, KeyValue, namespace, key)
        return row.value if row else None

    def set(self, namespace: str, key: str, value: str) -> None:
        row = by_key(self.db, KeyValue, namespace, key)
        if row is None:
            self.db.add(KeyValue(namespace=namespace, key=key, value=value))
        else:
            row.value = value
            self.db.add(row)

    def forget(self, namespace: str, key: str) -> None:
        row = by_key(self.db, KeyValue, namespace, key)
        if row is not None:
            self.db.delete(row)


class Repos:
    """Every repository over one database session (``db``): what a handler's ``ctx.repos`` is."""

    def __init__(self, db: Session):
        hold_for_unit(db)  # one Repos per unit of work (an event, a job's batch)
        self.db = db
        self.members = MemberRepo(db)
        self.roles = RoleRepo(db)
        self.rounds = RoundRepo(db)
        self.signups = SignupRepo(db)
        self.conversations = ConversationRepo(db)
        self.aside = AsideRepo(db)
        self.links = LinkRepo(db)
        self.outbox = OutboxRepo(db)
        self.events = EventRepo(db)
        self.kv = KeyValueRepo(db)
        self.pairs = PairRepo(db)
        self.office_hours = OfficeHoursRepo(db)
        self.checkins = CheckinRepo(db)
        self.assessments = AssessmentRepo(db)
        self.privacy = PrivacyRepo(db)
        self.leavers = LeaverRepo(db)
        self.goals = GoalRepo(db)
        self.mentoring_sessions = MentoringSessionRepo(db)
        self.away = AwayRepo(db)
        self.dashboard_links = DashboardLinkRepo(db)
        self.reports = ReportRepo(db)
        self.feedback = FeedbackRepo(db)
        self.certificates = CertificateRepo(db)
        self.outcomes = OutcomeRepo(db)
        self.pending_roles = PendingRoleRepo(db)
        self.round_reports = RoundReportRepo(db)
