"""Registration: CAP negotiation, SASL PLAIN, the welcome, ISUPPORT and refused nicks."""

from __future__ import annotations

import base64
import logging
import random

import irc.client
import irc.client_aio

from adapters.irc import text
from adapters.irc.link import Link, LinkOwner

log = logging.getLogger("adapters.irc")

#: IRCv3 capabilities requested when offered (``sasl`` is added when an account is set).
WANTED_CAPS = (
    "account-tag", "extended-join", "account-notify", "message-tags", "server-time",
    "away-notify", "multi-prefix", "userhost-in-names", "cap-notify", "chghost",
    "extended-monitor",
)
_SASL_FAILURES = {"saslfail", "sasltoolong", "saslaborted", "nicklocked"}


class Registration(LinkOwner):
    """From ``CAP LS`` to 001, and the bot's own nick and mask afterwards."""

    EVENTS = {
        "cap": "_on_cap", "authenticate": "_on_authenticate", "saslsuccess": "_on_sasl_ok",
        "saslalready": "_on_sasl_ok", **{name: "_on_sasl_failed" for name in _SASL_FAILURES},
        "loggedin": "_on_loggedin", "welcome": "_on_welcome", "featurelist": "_on_isupport",
        "nicknameinuse": "_on_nick_refused", "erroneusnickname": "_on_nick_refused",
        "unavailresource": "_on_nick_refused", "nickcollision": "_on_nick_refused",
    }

    def _on_cap(self, link: Link, ev: irc.client.Event) -> None:
        args = ev.arguments
        sub = args[0].upper() if args else ""
        listed = args[-1].split() if len(args) > 1 else []
        if sub in ("LS", "NEW"):
            for cap in listed:
                name, _, value = cap.partition("=")
                link.offered[name] = value
            if sub == "LS" and len(args) > 2 and args[1] == "*":
                return  # more LS lines follow
            self._request_caps(link)
        elif sub == "DEL":
            for cap in listed:
                link.offered.pop(cap, None)
                link.acked.discard(cap)
        elif sub == "ACK":
            for cap in listed:
                if cap.startswith("-"):
                    link.acked.discard(cap[1:])
                else:
                    link.acked.add(cap)
            if "sasl" in listed and link.sasl == "wanted":
                link.sasl = "pending"
                self._raw(link, "AUTHENTICATE PLAIN")
            elif link.sasl != "pending":
                self._cap_end(link)
        elif sub == "NAK":
            log.warning("IRC: server refused capabilities %s", " ".join(listed))
            if link.sasl == "wanted":
                self._fail(link, "the server refused the sasl capability")
            self._cap_end(link)

    def _request_caps(self, link: Link) -> None:
        wanted = [c for c in WANTED_CAPS if c in link.offered and c not in link.acked]
        if link.negotiating and link.sasl == "wanted":
            mechanisms = link.offered.get("sasl")
            if mechanisms is None or (mechanisms and "PLAIN" not in mechanisms.split(",")):
                self._fail(link, f"{self.settings.host} offers no SASL PLAIN login for sasl_account; remove "
                                 'sasl_account (and set identity = "hostmask" if it has no services)')
                return
            wanted.append("sasl")
        if wanted:
            line = "CAP REQ :" + " ".join(wanted)
            self._raw(link, line) if link.negotiating else self._paced(link, line)
        else:
            self._cap_end(link)

    def _cap_end(self, link: Link) -> None:
        if link.negotiating:
            link.negotiating = False
            self._raw(link, "CAP END")

    def _on_authenticate(self, link: Link, ev: irc.client.Event) -> None:
        if ev.target != "+" or link.sasl != "pending":
            return
        account = self.settings.sasl_account or ""
        blob = base64.b64encode(f"{account}\0{account}\0{self._password or ''}".encode()).decode()
        chunks = [blob[i : i + 400] for i in range(0, len(blob), 400)]
        if len(blob) % 400 == 0:
            chunks.append("+")
        for chunk in chunks:  # straight to the transport: send_raw would log the secret
            link.conn.transport.write(f"AUTHENTICATE {chunk}\r\n".encode())

    def _on_sasl_ok(self, link: Link, ev: irc.client.Event) -> None:
        link.sasl = "ok"
        self._cap_end(link)

    def _on_sasl_failed(self, link: Link, ev: irc.client.Event) -> None:
        detail = ev.arguments[-1] if ev.arguments else ev.type
        self._fail(link, f"SASL login as {self.settings.sasl_account} failed: {detail}")

    def _fail(self, link: Link, reason: str) -> None:
        """A login problem the same settings will not fix: give up on this connection. The reason
        reaches the log once, through the supervisor (start() raises it, or a ``failed`` report).

        Once these settings have logged in on this network, the same problem is the network's
        state, not the settings: after a restart the IRC server takes connections a moment before
        its services link, and offers no SASL until then. So it is retried, with the backoff."""
        if self.registrations:
            log.warning("IRC: %s; these settings logged in before, so I will try again", reason)
            self._raw(link, "QUIT :login failed")
            self._drop(link, reason)
            return
        log.debug("IRC: giving up: %s", reason)
        link.fatal = reason
        self._raw(link, "QUIT :login failed")
        self._drop(link, reason)

    def _on_loggedin(self, link: Link, ev: irc.client.Event) -> None:
        if ev.arguments:
            self._learn_mask(link, ev.arguments[0])

    def _on_welcome(self, link: Link, ev: irc.client.Event) -> None:
        if link.sasl not in ("none", "ok"):
            self._fail(link, "registered without completing the SASL login")
            return
        if self.settings.identity == "services" and not {"sasl", "account-tag"} & set(link.offered):
            self._fail(link, f"{self.settings.host} has no services accounts (it offers neither SASL nor "
                             'account-tag), so nobody could be told apart; set identity = "hostmask" in '
                             "[adapters.irc] to run on this network")
            return
        link.negotiating = False
        link.nick = ev.target or link.nick
        words = (ev.arguments[-1] if ev.arguments else "").split()
        if words and words[-1].startswith(link.nick + "!"):
            self._learn_mask(link, words[-1])
        if not link.registered.done():
            link.registered.set_result(True)

    def _on_isupport(self, link: Link, ev: irc.client.Event) -> None:
        link.isupport = text.parse_isupport(list(ev.arguments), link.isupport)
        self._casemapping = link.isupport.get("CASEMAPPING", "rfc1459")

    def _on_nick_refused(self, link: Link, ev: irc.client.Event) -> None:
        if link.registered.done():
            log.info("IRC: nick %s still taken", ev.arguments[0] if ev.arguments else "?")
            return
        link.nick_attempts += 1
        link.nick = alternative_nick(self.settings.nick, link.nick_attempts)
        log.warning("IRC: nick refused (%s); trying %s", ev.type, link.nick)
        self._raw(link, "NICK " + link.nick)

    def _learn_mask(self, link: Link, mask: str) -> None:
        if "!" in mask and "@" in mask:
            source = irc.client.NickMask(mask)
            link.user, link.host = source.user, source.host


def alternative_nick(nick: str, attempt: int) -> str:
    """The nick to try after ``attempt`` refusals: ``nick_``, ``nick__``, then ``nick``+digits
    (cut to 9 characters, the least NICKLEN a server may have)."""
    if attempt == 1:
        return nick + "_"
    if attempt == 2:
        return nick + "__"
    return nick[:6] + str(random.randint(100, 999))


