"""Timezones as people type them: ``Europe/Berlin``, but also ``PST``, ``NZST``, ``UTC+1`` or ``NZ``.

Only canonical IANA names are ever stored (``Pacific/Auckland``, never the old link ``NZ``): a
name is canonicalised through CLDR's zone aliases (Babel's locale data). An abbreviation or an
offset does not name one zone (``PST`` is Los Angeles and Vancouver, which may differ one day;
``UTC+1`` is half of Europe and Africa), so the answer is a question back: which of these zones?
The abbreviations are CLDR's English short names of its metazones ("America_Pacific" → PST, PDT,
PT), so the list is as good as the data Babel keeps up to date, not a table of ours.
"""

from __future__ import annotations

import difflib
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from babel import localedata
from babel.core import Locale, get_global

from chatbot.commands import parse_timezone
from chatbot.i18n import ENGLISH, Language

#: how many zones a question offers at most
CHOICES = 5
#: the instants offsets are compared at: one in each half of the year, so daylight time counts too
_SEASONS = (datetime(2026, 1, 15, 12, tzinfo=timezone.utc), datetime(2026, 7, 15, 12, tzinfo=timezone.utc))
_OFFSET = re.compile(r"(?:utc|gmt|z)?\s*([+\-−])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_UTC_NAMES = {"utc", "gmt", "z", "zulu", "etc/utc", "universal"}
#: where people live (research stations in Antarctica share their zones with a city: never offered)
_REGIONS = ("Africa/", "America/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")


def canonical(name: str) -> str:
    """The canonical IANA name of a zone name or old link (``NZ`` → ``Pacific/Auckland``)."""
    if name.lower() in _UTC_NAMES:
        return "UTC"
    return get_global("zone_aliases").get(name, name)


@lru_cache(maxsize=1)
def _golden() -> tuple[str, ...]:
    """CLDR's main zone of each Windows timezone (America/New_York for Eastern, Europe/Berlin for
    W. Europe, ...): the zones most people of a region use, offered first, in CLDR's order."""
    zones = [canonical(z) for z in get_global("windows_zone_mapping").values()]
    return tuple(dict.fromkeys(z for z in zones if z.startswith(_REGIONS)))


def _rank(zone: str) -> tuple[int, str]:
    golden = _golden()
    return (golden.index(zone) if zone in golden else len(golden), zone)


@lru_cache(maxsize=1)
def _zones_by_metazone() -> dict[str, list[str]]:
    """Canonical zones in each CLDR metazone, the main ones first."""
    out: dict[str, list[str]] = {}
    for zone, metazone in get_global("meta_zones").items():
        if zone.startswith(_REGIONS) and canonical(zone) == zone:
            out.setdefault(metazone, []).append(zone)
    for zones in out.values():
        zones.sort(key=_rank)
    return out


@lru_cache(maxsize=1)
def _abbreviations() -> dict[str, list[tuple[str, str]]]:
    """``PST`` → [(metazone, territory of the English locale that uses it)], from CLDR."""
    out: dict[str, list[tuple[str, str]]] = {}
    for ident in sorted(localedata.locale_identifiers()):
        if not (ident == "en" or ident.startswith("en_")):
            continue
        locale = Locale.parse(ident)
        for metazone in locale.meta_zones:
            for abbr in dict(locale.meta_zones[metazone].get("short", {})).values():
                if abbr.isascii() and abbr.isalpha():
                    entry = (metazone, locale.territory or "US")  # plain "en" is American English
                    if entry not in out.setdefault(abbr.upper(), []):
                        out[abbr.upper()].append(entry)
    return out


def _for_abbreviation(abbr: str) -> list[str]:
    territories = get_global("zone_territories")
    entries = _abbreviations().get(abbr.upper(), [])
    homes = {home for _, home in entries}
    zones = {z for metazone, _ in entries for z in _zones_by_metazone().get(metazone, [])}
    # zones where an English speaker writes the abbreviation first (PST: Los Angeles and
    # Vancouver before Tijuana), the main zone of each region before its neighbours
    return sorted(zones, key=lambda z: (territories.get(z) not in homes, z not in _golden(), _rank(z)))


def _offset_of(text: str) -> timedelta | None:
    m = _OFFSET.fullmatch(text.strip())
    if m is None:
        return None
    sign = -1 if m.group(1) in "-−" else 1
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes >= 60:
        return None
    return sign * timedelta(hours=hours, minutes=minutes)


def _for_offset(offset: timedelta) -> list[str]:
    """The main zones at this offset, standard time before daylight time, then the fixed offset."""
    standard, summer = [], []
    for name in _golden():
        zone = ZoneInfo(name)
        offsets = [zone.utcoffset(at.astimezone(zone).replace(tzinfo=None)) for at in _SEASONS]
        if min(offsets) == offset:  # the zone's standard (winter) offset
            standard.append(name)
        elif offset in offsets:  # only in daylight-saving time
            summer.append(name)
    zones = standard + summer
    hours, rest = divmod(int(offset.total_seconds()) // 60, 60)
    if not rest and offset and f"Etc/GMT{-hours:+d}" in _all_zones():
        zones = zones[: CHOICES - 1] + [f"Etc/GMT{-hours:+d}"]  # POSIX signs: Etc/GMT+8 is UTC-8
    return zones


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """``new_york`` → America/New_York: the city a zone is named after, typed on its own."""
    return {z.rsplit("/", 1)[-1].casefold(): z for zones in _zones_by_metazone().values() for z in zones}


@lru_cache(maxsize=1)
def _all_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _which(what: str, zones: list[str], lang: Language) -> ValueError:
    # Etc/GMT-1 is UTC+1 (POSIX signs): say so, or the list reads as a mistake
    shown = [lang._("{zone} ({offset} all year)", zone=z, offset=what) if z.startswith("Etc/") else z for z in zones[:CHOICES]]
    if len(zones) > CHOICES:
        text = lang._(
            "{what} is used in several places: which one is yours? {options} (or another zone name). Reply with the name.",
            what=what, options=lang.either(shown),
        )
    else:
        text = lang._("{what} is used in several places: which one is yours? {options}. Reply with the name.", what=what, options=lang.either(shown))
    return ValueError(text)


def parse_zone(text: str, lang: Language = ENGLISH) -> str:
    """A timezone as a person types it, as a canonical IANA name; an abbreviation or offset
    raises a ValueError that asks (in ``lang``) which zone they mean (the interview asks it again)."""
    raw = text.strip()
    if raw.lower() in _UTC_NAMES:
        return "UTC"
    offset = _offset_of(raw)
    if offset is not None:
        if not offset:
            return "UTC"
        zones = _for_offset(offset)
        if not zones:
            raise ValueError(lang._("No timezone I know is at {offset}; give a name like Europe/Berlin.", offset=_offset_text(offset)))
        raise _which(_offset_text(offset), zones, lang)
    if raw.isalpha() and raw.upper() in _abbreviations():
        zones = _for_abbreviation(raw)
        if len(zones) == 1:
            return zones[0]
        if zones:
            raise _which(raw.upper(), zones, lang)
    city = _cities().get(raw.replace(" ", "_").casefold())
    if city is not None:
        return city
    try:
        return canonical(parse_timezone(raw))
    except ValueError:
        # suggest only canonical names: the tz database's old links (NZ, MST) are no answer
        names = sorted({z for zones in _zones_by_metazone().values() for z in zones})
        hint = difflib.get_close_matches(raw, names, n=1) or difflib.get_close_matches(raw.title(), names, n=1)
        if hint:
            why = lang._(
                "'{answer}' is not a timezone I know (did you mean {zone}?); give a name like Europe/Berlin, or UTC+1.",
                answer=raw[:40], zone=hint[0],
            )
        else:
            why = lang._("'{answer}' is not a timezone I know; give a name like Europe/Berlin, or UTC+1.", answer=raw[:40])
        raise ValueError(why) from None
