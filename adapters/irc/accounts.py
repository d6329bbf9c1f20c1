"""Identity: who is logged in to which services account, membership, MONITOR and WHOIS, and
which nick to address for a person."""

from __future__ import annotations

import asyncio
import logging

import irc.client
import irc.client_aio

from adapters.irc import text
from adapters.irc.link import Link, LinkOwner
from adapters.irc.settings import PLATFORM
from chatbot.events import (
    Announce,
    Identity,
    Left,
    Renamed,
    Reply,
    Returned,
    Seen,
    Where,
)

log = logging.getLogger("adapters.irc")

#: WHOX token for the join-time channel scan (replies with another token are not ours).
WHOX_TOKEN = "42"
#: How long a WHOIS (checking which account a nick is logged in to) may take.
WHOIS_TIMEOUT = 5.0


class Accounts(LinkOwner):
    """Keeps the roster and the accounts exact; emits ``Seen`` when a person becomes reachable,
    and ``Left``/``Returned``/``Renamed`` as people PART, QUIT, are kicked, JOIN or change nick
    (office hours keep a leaver's place for a while)."""

    EVENTS = {
        "join": "_on_join", "part": "_on_part", "kick": "_on_kick", "quit": "_on_quit",
        "nick": "_on_nick", "account": "_on_account", "namreply": "_on_names",
        "whospcrpl": "_on_whox", "chghost": "_on_chghost", "396": "_on_visiblehost",
        "730": "_on_mononline", "731": "_on_monoffline", "whoisaccount": "_on_whoisaccount",
        "nosuchnick": "_on_nosuchnick", "endofwhois": "_on_endofwhois", "whoisuser": "_on_whoisuser",
    }

    @property
    def _by_mask(self) -> bool:
        """``identity = "hostmask"``: a person's account is their folded ``nick!user@host``."""
        return self.settings.identity == "hostmask"

    def _mask_account(self, nick: str, userhost: str) -> str:
        """The account of ``nick`` with ``user@host`` in hostmask mode (folded as the server
        compares nicks, so ``Ann!a@h`` and ``ann!a@h`` are one person)."""
        return self._fold(f"{nick}!{userhost}")

    def _account_nick(self, account: str) -> str:
        """The nick to try for an account: a mask's nick, or the services account name."""
        return account.split("!", 1)[0] if self._by_mask else account

    def _fold(self, name: str) -> str:
        return text.irc_lower(name, self._casemapping)

    def _is_me(self, link: Link, nick: str) -> bool:
        return self._fold(nick) == self._fold(link.nick)

    def _where(self, channel: str) -> Where:
        """A channel as the config spells it (the server may answer in another case)."""
        configured = {self._fold(c): c for c in self.settings.channels}
        return Where(PLATFORM, configured.get(self._fold(channel), channel))

    def _identity_of(self, nick: str) -> Identity:
        """``nick`` as the roster knows them now (anonymous where no account is known)."""
        person = self.roster.get(nick)
        account = person.account if person is not None and person.known else None
        return Identity(PLATFORM, account, nick)

    def _announce(self, nick: str, account: str | None) -> None:
        """Note that ``account`` is reachable as ``nick``; emit Seen when that is news."""
        if account is None:
            return
        if self._last_nick.get(account) is not None and self._fold(self._last_nick[account]) == self._fold(nick):
            return
        self._last_nick[account] = nick
        self._emit(Seen(Identity(PLATFORM, account, nick)))

    def _forget(self, nick: str) -> None:
        """``nick`` quit or logged out: whoever it was is no longer reachable under it."""
        key = self._fold(nick)
        for account, last in list(self._last_nick.items()):
            if self._fold(last) == key:
                del self._last_nick[account]

    # ----------------------------------------------------------------- membership and accounts

    def _extended_account(self, link: Link, ev: irc.client.Event) -> tuple[str | None, bool]:
        """(account, whether we know) for a JOIN: extended-join, else the account tag; in
        hostmask mode the joiner's mask."""
        if self._by_mask:
            return self._mask_account(ev.source.nick, ev.source.userhost), True
        if "extended-join" in link.acked and ev.arguments:
            return (None if ev.arguments[0] == "*" else ev.arguments[0]), True
        if "account-tag" in link.acked:
            return next((t["value"] for t in ev.tags or [] if t["key"] == "account"), None), True
        return None, False

    def _on_join(self, link: Link, ev: irc.client.Event) -> None:
        nick, channel = ev.source.nick, ev.target
        if self._is_me(link, nick):
            link.joined[self._fold(channel)] = channel
            if {self._fold(c) for c in self.settings.channels} <= set(link.joined):
                link.all_joined.set()
            self._learn_mask(link, ev.source)
            log.info("IRC: joined %s", channel)
            if "WHOX" in link.isupport:
                self._paced(link, f"WHO {channel} %tna,{WHOX_TOKEN}")
            return
        account, known = self._extended_account(link, ev)
        self.roster.join(nick, channel, account, known=known)
        self._emit(Returned(self._identity_of(nick), self._where(channel)))
        self._announce(nick, account)

    def _left(self, link: Link, nick: str, channel: str, how: str) -> None:
        if self._is_me(link, nick):
            link.joined.pop(self._fold(channel), None)
            self.roster.drop_channel(channel)
        elif nick in self.roster:
            self._emit(Left(self._identity_of(nick), self._where(channel), how))
            self.roster.part(nick, channel)

    def _on_part(self, link: Link, ev: irc.client.Event) -> None:
        self._left(link, ev.source.nick, ev.target, "part")

    def _on_kick(self, link: Link, ev: irc.client.Event) -> None:
        if ev.arguments:
            self._left(link, ev.arguments[0], ev.target, "kick")

    def _on_quit(self, link: Link, ev: irc.client.Event) -> None:
        if ev.source.nick in self.roster:
            self._emit(Left(self._identity_of(ev.source.nick), Where(PLATFORM, None), "quit"))
        self.roster.quit(ev.source.nick)
        self._forget(ev.source.nick)

    def _on_nick(self, link: Link, ev: irc.client.Event) -> None:
        old, new = ev.source.nick, ev.target
        if self._is_me(link, old):
            link.nick = new
            if self._fold(new) == self._fold(self.settings.nick):
                log.info("IRC: regained nick %s", new)
                if "MONITOR" in link.isupport:
                    self._paced(link, "MONITOR - " + new)
            return
        was = self._identity_of(old)
        self.roster.rename(old, new)
        if self._by_mask:
            person = self.roster.get(new)
            if person is not None and person.account is not None:
                person.account = self._mask_account(new, person.account.split("!", 1)[1])
                self._announce(new, person.account)
        if new in self.roster:
            self._emit(Renamed(was, self._identity_of(new)))
        for account, last in list(self._last_nick.items()):
            if self._fold(last) == self._fold(old):
                self._last_nick[account] = new

    def _on_account(self, link: Link, ev: irc.client.Event) -> None:
        nick = ev.source.nick
        if self._is_me(link, nick) or self._by_mask:
            return
        account = None if ev.target in (None, "*") else ev.target
        self.roster.set_account(nick, account)
        if account is None:
            self._forget(nick)
            return
        watched = self._watch.get(self._fold(nick))
        if nick in self.roster or watched is not None:  # extended-monitor tells us of watched nicks
            self._unwatch(link, nick)
            self._announce(nick, account)

    def _on_names(self, link: Link, ev: irc.client.Event) -> None:
        if len(ev.arguments) < 3:
            return
        channel = ev.arguments[1]
        prefix = link.isupport.get("PREFIX", "(qaohv)~&@%+").partition(")")[2] or "~&@%+"
        for name in ev.arguments[2].split():
            nick = text.strip_prefixes(name, prefix)
            if not nick or self._is_me(link, nick):
                continue
            _, bang, userhost = name.partition("!")
            if self._by_mask and bang:  # userhost-in-names: the mask is known at once
                self.roster.join(nick, channel, self._mask_account(nick, userhost), known=True)
            else:
                self.roster.join(nick, channel)  # account unknown until WHOX or a message says

    def _on_whox(self, link: Link, ev: irc.client.Event) -> None:
        if len(ev.arguments) < 3 or ev.arguments[0] != WHOX_TOKEN or self._by_mask:
            return
        nick, account = ev.arguments[1], ev.arguments[2]
        account = None if account == "0" else account
        if self.roster.set_account(nick, account):
            self._announce(nick, account)

    def _on_chghost(self, link: Link, ev: irc.client.Event) -> None:
        if self._is_me(link, ev.source.nick) and ev.arguments:
            link.user, link.host = ev.target, ev.arguments[0]

    def _on_visiblehost(self, link: Link, ev: irc.client.Event) -> None:
        if ev.arguments:
            user, _, host = ev.arguments[0].rpartition("@")
            link.host = host
            link.user = user or link.user

    # ----------------------------------------------------------------- MONITOR and WHOIS

    def _monitored(self, ev: irc.client.Event) -> list[str]:
        return [irc.client.NickMask(m).nick for m in (ev.arguments[-1] if ev.arguments else "").split(",") if m]

    def _on_mononline(self, link: Link, ev: irc.client.Event) -> None:
        for nick in self._monitored(ev):
            account = self._watch.get(self._fold(nick))
            if account is not None:
                self._spawn(self._check_watched(link, nick, account))

    async def _check_watched(self, link: Link, nick: str, account: str) -> None:
        """A watched nick came online: if logged in to the account we wait for, emit Seen."""
        exists, logged_in = await self._whois(link, nick)
        if logged_in is not None and self._fold(logged_in) == self._fold(account):
            self._unwatch(link, nick)
            self._announce(nick, logged_in)

    def _unwatch(self, link: Link, nick: str) -> None:
        account = self._watch.get(self._fold(nick))
        if account is None:
            return
        for key in [k for k, a in self._watch.items() if a == account]:
            del self._watch[key]
            if self._fold(key) != self._fold(self.settings.nick):
                self._paced(link, "MONITOR - " + key)

    def _on_monoffline(self, link: Link, ev: irc.client.Event) -> None:
        wanted = self.settings.nick
        if self._fold(link.nick) == self._fold(wanted):
            return
        if any(self._fold(nick) == self._fold(wanted) for nick in self._monitored(ev)):
            self._paced(link, "NICK " + wanted)

    def _on_whoisaccount(self, link: Link, ev: irc.client.Event) -> None:
        if len(ev.arguments) >= 2 and self._fold(ev.arguments[0]) in link.whois_seen:
            link.whois_seen[self._fold(ev.arguments[0])][1] = ev.arguments[1]

    def _on_whoisuser(self, link: Link, ev: irc.client.Event) -> None:
        """311 ``nick user host * :real``: in hostmask mode, the mask is the account."""
        if self._by_mask and len(ev.arguments) >= 3 and self._fold(ev.arguments[0]) in link.whois_seen:
            nick, user, host = ev.arguments[:3]
            link.whois_seen[self._fold(nick)][1] = self._mask_account(nick, f"{user}@{host}")

    def _on_nosuchnick(self, link: Link, ev: irc.client.Event) -> None:
        if ev.arguments and self._fold(ev.arguments[0]) in link.whois_seen:
            link.whois_seen[self._fold(ev.arguments[0])][0] = False

    def _on_endofwhois(self, link: Link, ev: irc.client.Event) -> None:
        key = self._fold(ev.arguments[0]) if ev.arguments else ""
        fut = link.whois.get(key)
        seen = link.whois_seen.pop(key, [False, None])
        if fut is not None and not fut.done():
            fut.set_result((seen[0], seen[1]))

    # ----------------------------------------------------------------- who is the recipient

    def _mention_nick(self, who: Identity) -> str | None:
        """The nick that pings ``who`` in a channel: the one logged in to their account now
        (never a nick somebody else may have taken since), or an anonymous person's own nick."""
        if who.platform != PLATFORM:
            return None
        if who.account is None:
            return who.display if text.valid_target(who.display) else None
        return self.roster.nick_of(who.account)

    def _addressee(self, event: Reply | Announce) -> str | None:
        """Who a channel line is addressed to: the person it mentions; for a Reply without one,
        the asker, under the nick they wrote from unless the roster shows that nick is now
        someone else's (they left and another account took it)."""
        if event.mention is not None:
            return self._mention_nick(event.mention)
        asker = event.to if isinstance(event, Reply) else None
        if asker is None or asker.platform != PLATFORM:
            return None
        nick = self._mention_nick(asker)
        if nick is not None or not text.valid_target(asker.display):
            return nick
        holder = self.roster.get(asker.display)
        assert asker.account is not None  # anonymous askers were answered by _mention_nick
        if holder is not None and holder.known and (
            holder.account is None or self._fold(holder.account) != self._fold(asker.account)
        ):
            return None
        return asker.display

    async def _recipient(self, link: Link, who: Identity) -> str | None:
        """The nick to PRIVMSG for ``who``, or None if their account is not online.

        People sharing a channel are looked up in the roster; others are checked with WHOIS
        under their last known nick, the nick on the identity and the account name (which
        services usually reserve for its owner; in hostmask mode the mask's nick).
        """
        if who.account is None:  # anonymous: only the nick they wrote from
            return who.display if text.valid_target(who.display) else None
        nick = self.roster.nick_of(who.account)
        if nick is not None:
            return nick
        candidates: dict[str, str] = {}
        for cand in (self._last_nick.get(who.account), who.display, self._account_nick(who.account)):
            if cand and text.valid_target(cand):
                candidates.setdefault(self._fold(cand), cand)
        for cand in candidates.values():
            exists, account = await self._whois(link, cand)
            if account is not None and self._fold(account) == self._fold(who.account):
                self._last_nick[who.account] = cand
                return cand
        self._last_nick.pop(who.account, None)
        self._watch_for(link, who.account, list(candidates.values()))
        return None

    async def _whois(self, link: Link, nick: str) -> tuple[bool, str | None]:
        key = self._fold(nick)
        fut = link.whois.get(key)
        if fut is None:
            fut = link.whois[key] = asyncio.get_running_loop().create_future()
            link.whois_seen[key] = [True, None]
            self._paced(link, "WHOIS " + nick)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), WHOIS_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("IRC: no answer to WHOIS %s", nick)
            return False, None
        finally:
            if link.whois.get(key) is fut:
                del link.whois[key]
                link.whois_seen.pop(key, None)

    def _watch_for(self, link: Link, account: str, nicks: list[str]) -> None:
        """MONITOR ``nicks`` so the bot notices when ``account`` comes online (then: Seen)."""
        limit = link.isupport.get("MONITOR")
        if limit is None:
            return
        cap = min(int(limit) - 1, 50) if limit.isdigit() else 50
        new = [n for n in nicks if self._fold(n) not in self._watch]
        for nick in nicks:
            self._watch[self._fold(nick)] = account
        evicted = list(self._watch)[: max(0, len(self._watch) - cap)]
        for key in evicted:
            del self._watch[key]
        self._paced_list(link, "MONITOR - ", evicted)
        self._paced_list(link, "MONITOR + ", [n for n in new if self._fold(n) in self._watch])
