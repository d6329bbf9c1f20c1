"""The IRC adapter (see :mod:`adapters.irc.adapter`): ``adapters.irc:create`` is its entry point.

Parts, one module each: ``settings`` (the config), ``link`` (one connection's state),
``registration`` (CAP, SASL, 001), ``accounts`` (who is who), ``inbound`` (events in),
``sending`` (lines out, paced), ``connection`` (the reconnect loop), ``text`` (what may go on
the wire), ``roster`` (people on the bot's channels).
"""

from adapters.irc.adapter import IrcAdapter, create
from adapters.irc.registration import alternative_nick
from adapters.irc.settings import PLATFORM, IrcLoginError, IrcSettings

__all__ = ["PLATFORM", "IrcAdapter", "IrcLoginError", "IrcSettings", "alternative_nick", "create"]
