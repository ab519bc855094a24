"""Dates and times: datetime, date, time, timedelta, timezone and ZoneInfo.

Time-zone lookups are bounded: only a key of the time-zone database reaches
`zoneinfo` (see `_zone`)."""

from __future__ import annotations

import os
import re
import sys
import zoneinfo
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from langgraph_redis_saver.errors import UnsafeTypeError

from ._base import _bad, _items
from ._notes import Note, note

__all__ = ["UnknownZoneError"]

# A ZoneInfo key is only handed to the stdlib if it looks like an IANA name
# ("Europe/Paris", "Etc/GMT+5"). zoneinfo falls back to reading resources of
# the `tzdata` package, whose sub-package names come from the key, so dots and
# anything path-like are refused before zoneinfo sees them.
_ZONE_KEY = re.compile(r"[A-Za-z0-9_+\-]{1,40}(?:/[A-Za-z0-9_+\-]{1,40}){0,3}")

# A tz spec is inline data, not a nested extension, so `decode_plain` can
# still compute an offset: None (naive), a ZoneInfo key, or
# [offset seconds, offset microseconds, name or None] for datetime.timezone.


def _tz_spec(tz: tzinfo | None) -> Any:
    if tz is None:
        return None
    if type(tz) is timezone:
        args = tz.__getinitargs__()  # type: ignore[attr-defined]
        offset: timedelta = args[0]
        return [offset.days * 86_400 + offset.seconds, offset.microseconds, *(args[1:2] or [None])]
    if type(tz) is ZoneInfo and tz.key is not None:
        return tz.key
    raise UnsafeTypeError(
        f"Cannot serialize tzinfo of type '{type(tz).__module__}.{type(tz).__qualname__}'"
        f" ({tz!r}): only datetime.timezone and zoneinfo.ZoneInfo(key) are supported."
        " Convert it first, e.g. dt.astimezone(ZoneInfo('Europe/Paris'))."
    )


class UnknownZoneError(LookupError):
    """A stored time-zone key that this machine's time-zone database lacks."""


_known_zones: frozenset[str] | None = None


def _tzdata_zones() -> frozenset[str]:
    """Keys of the `tzdata` package, only if the application already imported it."""
    global _known_zones
    if "tzdata" not in sys.modules:
        return frozenset()
    if _known_zones is None:
        _known_zones = frozenset(zoneinfo.available_timezones())
    return _known_zones


def _zone(key: Any) -> ZoneInfo:
    if type(key) is not str or not _ZONE_KEY.fullmatch(key):
        raise _bad("py.ZoneInfo", key)
    # Only a key of the time-zone database reaches ZoneInfo: for any other,
    # zoneinfo would import `tzdata` sub-packages named after the key. The
    # system database is checked by file name; `tzdata` only if already loaded.
    if not _on_tzpath(key) and key not in _tzdata_zones():
        raise UnknownZoneError(key)
    return ZoneInfo(key)


def _on_tzpath(key: str) -> bool:
    # Keys such as "posix/UTC" are files of the system database that
    # available_timezones() leaves out; ZoneInfo reads them from that file.
    # `_ZONE_KEY` already ruled out "..", dots and absolute paths.
    return any(os.path.isfile(os.path.join(root, key)) for root in zoneinfo.TZPATH)


def _tz_from_spec(spec: Any) -> tzinfo | None:
    if spec is None:
        return None
    if type(spec) is str:
        return _zone(spec)
    seconds, micros, name = _items(spec, "py.timezone", 3)
    offset = timedelta(seconds=seconds, microseconds=micros)
    return timezone(offset) if name is None else timezone(offset, name)


def _datetime_encode(obj: datetime) -> list[Any]:
    return [
        obj.year,
        obj.month,
        obj.day,
        obj.hour,
        obj.minute,
        obj.second,
        obj.microsecond,
        obj.fold,
        _tz_spec(obj.tzinfo),
    ]


def _datetime_decode(value: Any) -> datetime | str:
    y, mo, d, h, mi, s, us, fold, tz = _items(value, "py.datetime", 9)
    try:
        return datetime(y, mo, d, h, mi, s, us, _tz_from_spec(tz), fold=fold)
    except UnknownZoneError:
        return _unknown_zone(tz, _datetime_plain(value))


def _unknown_zone(key: str, shown: str) -> str:
    note(
        Note(
            f"time zone {key!r}",
            f"not in this machine's time-zone database; loaded as text like {shown!r}",
            "install the database to read it as a ZoneInfo: pip install tzdata"
            " (or apt-get install tzdata)",
        )
    )
    return shown


def _datetime_plain(value: Any) -> str:
    y, mo, d, h, mi, s, us, fold, tz = _items(value, "py.datetime", 9)
    try:
        return datetime(y, mo, d, h, mi, s, us, _tz_from_spec(tz), fold=fold).isoformat()
    except UnknownZoneError:  # time zone unknown on this machine: keep wall time and key
        return datetime(y, mo, d, h, mi, s, us, None, fold=fold).isoformat() + f"[{tz}]"


def _time_encode(obj: time) -> list[Any]:
    return [obj.hour, obj.minute, obj.second, obj.microsecond, obj.fold, _tz_spec(obj.tzinfo)]


def _time_decode(value: Any) -> time | str:
    h, mi, s, us, fold, tz = _items(value, "py.time", 6)
    try:
        return time(h, mi, s, us, _tz_from_spec(tz), fold=fold)
    except UnknownZoneError:
        naive = time(h, mi, s, us, None, fold=fold).isoformat()
        return _unknown_zone(tz, f"{naive}[{tz}]")


def _time_plain(value: Any) -> str:
    h, mi, s, us, fold, tz = _items(value, "py.time", 6)
    try:
        return time(h, mi, s, us, _tz_from_spec(tz), fold=fold).isoformat()
    except UnknownZoneError:
        return time(h, mi, s, us, None, fold=fold).isoformat() + f"[{tz}]"


def _zone_decode(key: Any) -> ZoneInfo | str:
    try:
        return _zone(key)
    except UnknownZoneError:
        return _unknown_zone(key, key)


def _zone_plain(key: Any) -> str:
    if type(key) is not str or not _ZONE_KEY.fullmatch(key):
        raise _bad("py.ZoneInfo", key)
    return key


def _date_decode(value: Any) -> date:
    y, mo, d = _items(value, "py.date", 3)
    return date(y, mo, d)


def _timedelta_decode(value: Any) -> timedelta:
    days, seconds, micros = _items(value, "py.timedelta", 3)
    return timedelta(days=days, seconds=seconds, microseconds=micros)


def _timezone_plain(value: Any) -> str:
    tz = _tz_from_spec(_items(value, "py.timezone", 3))
    return (tz.tzname(None) if tz is not None else None) or ""
