"""Pure text-safety functions for IRC: what may go on the wire, and how long it may be.

Everything here is a plain function of its arguments (no sockets, no state), so the rules
that keep the bot from breaking the protocol or triggering other bots are property-tested.

The rules:

* **No protocol injection.** CR, LF and NUL would end or corrupt the line; ``\\x01`` would turn
  text into a CTCP request. They are removed from every parameter (:func:`clean_param`), and
  text is split on line breaks first so each line becomes its own PRIVMSG.
* **No accidental formatting or terminal control.** The bot never means to send IRC formatting
  (bold ``\\x02``, colour ``\\x03``/``\\x04`` with their digits, reset, reverse, italic, strike,
  underline, monospace) so every C0 control character and DEL is removed from text
  (:func:`strip_controls`); a tab becomes a space.
* **No triggering other bots or services.** A line whose first visible character is ASCII
  punctuation (``!``, ``.``, ``/``, ``@``, ``$``, ``~``, ``?``, ``,`` ... the characters bots
  and ChanServ "fantasy" commands use as prefixes) gets a ZERO WIDTH SPACE (U+200B) in front.
  It is invisible to people, survives ``str.strip()`` (it is not whitespace), and makes the
  line's first character something no bot answers to. Inbound text has such zero-width
  characters removed again (:func:`clean_inbound`), so a person who copies a command from the
  bot's output still sends the command.
* **512 bytes.** The line the *server relays* to others is ``:nick!user@host PRIVMSG target
  :text\\r\\n``, which must fit in 512 bytes; :func:`text_budget` gives the bytes left for
  ``text`` and :func:`render_lines` splits on UTF-8 character boundaries, at a space when one
  is near the end, so every piece fits.
"""

from __future__ import annotations

import codecs
import re
import string
from typing import Iterator, Mapping

#: The server's limit for one line, tags excluded, CR LF included (RFC 1459 / modern.ircdocs).
MAX_LINE = 512
#: Invisible character put in front of lines that would look like a command to another bot.
GUARD = "\u200b"
#: First characters that other bots, services and clients may act on.
TRIGGERS = frozenset(string.punctuation)
#: Conservative lengths used until the server tells us (ISUPPORT USERLEN/HOSTLEN, our own mask).
DEFAULT_USERLEN = 10
DEFAULT_HOSTLEN = 63

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Colour codes take their digits with them: \x03[fg[,bg]] and \x04[RRGGBB[,RRGGBB]].
_COLOUR = re.compile(r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?")
#: C0 controls, DEL and the C1 controls (U+0080-U+009F, what a UTF-8 line misread as Latin-1 is
#: full of): none of them is text a person meant.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PARAM_UNSAFE = re.compile(r"[\r\n\x00\x01]")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
#: Characters a channel name or nick we send to must not contain (they would split the target
#: list or the command), in addition to every control character.
_TARGET_UNSAFE = re.compile(r"[\s,\x00-\x1f\x7f]")


def clean_param(value: str) -> str:
    """Remove CR, LF, NUL and the CTCP delimiter from one command parameter."""
    return _PARAM_UNSAFE.sub("", value)


def decode_line(data: bytes) -> str:
    """One line from the server as text: UTF-8, with a character the server cut off at the end
    of an over-long line dropped, and any other undecodable byte replaced (U+FFFD).

    Servers cut relayed lines at 512 bytes, often inside a multi-byte character; decoding the
    whole line as Latin-1 instead (what irc's lenient buffer does) turns every emoji and accent
    into mojibake full of C1 control bytes, which the bot would store and repeat.
    """
    return codecs.getincrementaldecoder("utf-8")("replace").decode(data, final=False)


def strip_controls(text: str) -> str:
    """Remove IRC formatting (colour codes with their digits) and every other C0 or C1 control.

    A tab becomes a space, since it is whitespace the sender meant. Line breaks are removed
    too: call this on single lines (see :func:`split_lines`).
    """
    text = _COLOUR.sub("", text.replace("\t", " "))
    return _CONTROL.sub("", text)


def clean_inbound(text: str) -> str:
    """Inbound text as the engine should see it: no formatting, no zero-width characters.

    People bold or colour a command now and then, and copy lines that carry our own guard;
    neither is part of what they meant to type.
    """
    return _ZERO_WIDTH.sub("", strip_controls(text)).strip()


def split_lines(text: str) -> list[str]:
    """Split on CR LF, CR or LF only (not ``str.splitlines``, which also splits on
    ``\\x1c``-``\\x1e``, IRC's italic and strike-through codes)."""
    return _LINE_BREAK.split(text)


def needs_guard(line: str) -> bool:
    """True if the line's first visible character could make a bot or service act on it."""
    visible = line.lstrip()
    return bool(visible) and visible[0] in TRIGGERS


def guard(line: str) -> str:
    """Put :data:`GUARD` in front of a line that starts like a command."""
    return GUARD + line if needs_guard(line) else line


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


#: A command's usage as the bot writes it, kept on one line: a prefix character, the command's
#: words, then its placeholders (``!q join [TOPIC]``, ``!help COMMAND``, ``!goal add <text>``).
_USAGE = re.compile(
    r"(?<!\S)[^\w\s][a-z][\w-]*(?: [a-z][\w-]*){0,2}(?: (?:\[[^\]\n]*\]|<[^>\n]*>|[A-Z][A-Z_]+(?:\.\.\.)?))*(?!\S)"
)


def unbreakable(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` (start, end) a split must not fall inside: command usages."""
    return [m.span() for m in _USAGE.finditer(text) if " " in m.group()]


def cut(text: str, budget: int) -> tuple[str, str]:
    """Split ``text`` into a head of at most ``budget`` UTF-8 bytes and the rest.

    The cut falls at the last space that fits, so words (and names) stay whole, and never
    inside a command's usage (:func:`unbreakable`); that space is dropped. Only a word or
    usage longer than the whole budget is cut inside, on a character boundary.
    """
    if budget < 4:
        raise ValueError("budget must leave room for at least one character")
    data = text.encode("utf-8")
    if len(data) <= budget:
        return text, ""
    end = budget
    while end > 0 and (data[end] & 0xC0) == 0x80:  # back off a continuation byte
        end -= 1
    fits = len(data[:end].decode("utf-8"))  # characters that fit
    kept = [(a, b) for a, b in unbreakable(text) if utf8_len(text[a:b]) <= budget]
    for i in range(fits, 0, -1):
        if text[i] == " " and text[:i].strip() and not any(a < i < b for a, b in kept):
            return text[:i], text[i + 1 :]
    return text[:fits], text[fits:]


def wrap(line: str, budget: int) -> Iterator[str]:
    """Pieces of one (clean) line, each ``guard``-ed and within ``budget`` UTF-8 bytes."""
    if budget < utf8_len(GUARD) + 4:
        raise ValueError(f"a budget of {budget} bytes cannot hold a guarded character")
    rest = line
    while rest:
        room = budget - (utf8_len(GUARD) if needs_guard(rest) else 0)
        head, rest = cut(rest, room)
        head = head.rstrip()
        if head.strip():
            yield guard(head)


def render_lines(text: str, budget: int) -> list[str]:
    """Turn any text into the PRIVMSG texts to send, in order.

    One entry per non-blank line of ``text`` (blank lines are dropped: IRC has no empty
    message), longer lines split to ``budget`` bytes, every entry free of control characters
    and guarded against triggering bots.
    """
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be sent
    out: list[str] = []
    for raw in split_lines(text):
        out.extend(wrap(strip_controls(raw).rstrip(), budget))
    return out


def mask_length(nick: str, user: str | None, host: str | None, *, userlen: int = DEFAULT_USERLEN,
                hostlen: int = DEFAULT_HOSTLEN) -> int:
    """Length in bytes of ``nick!user@host`` as other clients see the bot.

    Parts not learnt from the server yet are assumed as long as the server allows: the user
    name one more than USERLEN (for an ident ``~``) and the host HOSTLEN.
    """
    user_bytes = utf8_len(user) if user else userlen + 1
    host_bytes = utf8_len(host) if host else hostlen
    return utf8_len(nick) + 1 + user_bytes + 1 + host_bytes


def text_budget(mask_len: int, target: str, command: str = "PRIVMSG") -> int:
    """Bytes of text that fit in ``:<mask> <command> <target> :<text>\\r\\n`` within 512."""
    overhead = 1 + mask_len + 1 + len(command) + 1 + utf8_len(target) + 2 + 2
    return MAX_LINE - overhead


def relayed_line(mask: str, target: str, text: str, command: str = "PRIVMSG") -> bytes:
    """The line the server relays for our message (what :func:`text_budget` measures)."""
    return f":{mask} {command} {target} :{text}\r\n".encode("utf-8")


def valid_target(target: str) -> bool:
    """A nick or channel we may address: non-empty, no spaces, commas or control characters."""
    return bool(target) and not _TARGET_UNSAFE.search(target) and not target.startswith(":")


# --------------------------------------------------------------------------- names and ISUPPORT

_RFC1459 = str.maketrans(string.ascii_uppercase + "[]\\^", string.ascii_lowercase + "{}|~")
_STRICT = str.maketrans(string.ascii_uppercase + "[]\\", string.ascii_lowercase + "{}|")
_ASCII = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def irc_lower(name: str, casemapping: str = "rfc1459") -> str:
    """Fold a nick or channel name as the server compares them (ISUPPORT CASEMAPPING)."""
    table = {"ascii": _ASCII, "strict-rfc1459": _STRICT}.get(casemapping, _RFC1459)
    return name.translate(table)


def parse_isupport(tokens: list[str], into: Mapping[str, str] | None = None) -> dict[str, str]:
    """Fold one RPL_ISUPPORT (005) line's tokens into a dict (``WHOX`` -> ``""``).

    ``tokens`` are the arguments after our nick, the last being the human text, which is
    ignored; ``-TOKEN`` removes a token. (irc.client's FeatureSet drops value-less tokens such
    as WHOX, hence this.)
    """
    result = dict(into or {})
    for token in tokens[:-1] if tokens and " " in tokens[-1] else tokens:
        if token.startswith("-"):
            result.pop(token[1:], None)
            continue
        key, _, value = token.partition("=")
        result[key.upper()] = value
    return result


def strip_prefixes(name: str, prefixes: str = "~&@%+") -> str:
    """``@+nick!u@h`` (multi-prefix, userhost-in-names) -> ``nick``."""
    return name.lstrip(prefixes).split("!", 1)[0]


def mask_matches(pattern: str, mask: str, casemapping: str = "rfc1459") -> bool:
    """Whether ``nick!user@host`` matches an IRC ban-style ``pattern`` (``*`` any run, ``?`` one
    character), folded with the server's casemapping (``[`` in a nick is a plain character)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in irc_lower(pattern, casemapping))
    return re.fullmatch(regex, irc_lower(mask, casemapping), re.DOTALL) is not None
