"""Who is on the bot's channels, and which services account each is logged in to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class _Person:
    nick: str
    account: str | None = None
    #: whether ``account`` was learnt (NAMES alone says nothing about accounts)
    known: bool = False
    channels: set[str] = field(default_factory=set)


class Roster:
    """People on the channels the bot is in, and the services account each is logged in to.

    Kept exact by JOIN/PART/KICK/QUIT/NICK/ACCOUNT, which the server sends only for people
    sharing a channel with the bot; so it answers "who is logged in to account X" with
    confidence for them and for nobody else. Names are folded with the server's casemapping.
    """

    def __init__(self, fold: Callable[[str], str]):
        self._fold = fold
        self._people: dict[str, _Person] = {}

    def get(self, nick: str) -> _Person | None:
        return self._people.get(self._fold(nick))

    def __contains__(self, nick: str) -> bool:
        return self._fold(nick) in self._people

    def __len__(self) -> int:
        return len(self._people)

    def join(self, nick: str, channel: str, account: str | None = None, *, known: bool = False) -> None:
        person = self._people.setdefault(self._fold(nick), _Person(nick))
        person.nick = nick
        person.channels.add(self._fold(channel))
        if known:
            person.account, person.known = account, True

    def set_account(self, nick: str, account: str | None) -> bool:
        """Record what we learnt; False if the nick shares no channel with us."""
        person = self.get(nick)
        if person is None:
            return False
        person.account, person.known = account, True
        return True

    def part(self, nick: str, channel: str) -> bool:
        """Returns True if the person now shares no channel with the bot (and is forgotten)."""
        key = self._fold(nick)
        person = self._people.get(key)
        if person is None:
            return False
        person.channels.discard(self._fold(channel))
        if not person.channels:
            del self._people[key]
            return True
        return False

    def quit(self, nick: str) -> None:
        self._people.pop(self._fold(nick), None)

    def rename(self, old: str, new: str) -> None:
        person = self._people.pop(self._fold(old), None)
        if person is not None:
            person.nick = new
            self._people[self._fold(new)] = person

    def drop_channel(self, channel: str) -> list[str]:
        """The bot left ``channel``: forget it; returns the nicks no longer seen anywhere."""
        key, gone = self._fold(channel), []
        for nick_key, person in list(self._people.items()):
            person.channels.discard(key)
            if not person.channels:
                del self._people[nick_key]
                gone.append(person.nick)
        return gone

    def nick_of(self, account: str) -> str | None:
        folded = self._fold(account)
        for person in self._people.values():
            if person.known and person.account is not None and self._fold(person.account) == folded:
                return person.nick
        return None

    def clear(self) -> None:
        self._people.clear()

