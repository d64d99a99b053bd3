"""NYSE sessions, holidays and early closes (exchange_calendars XNYS): the one helper every
job and page asks whether, and when, the market is open.

Conventions: a session is a tz-naive midnight Timestamp (the New York date); instants are
tz-aware (a naive instant means UTC). A session's minutes run from its open (inclusive) to its
close (exclusive), so 16:00 on a normal day, and 13:00 on an early close, is already closed.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

import exchange_calendars as xc
import pandas as pd

from aion_core.errors import ConfigurationError

NY = "America/New_York"
CALENDAR_START = "1900-01-01"
"""Early enough for the long histories a user imports (the S&P 500 large caps from 1962)."""


@lru_cache(maxsize=1)
def calendar() -> xc.ExchangeCalendar:
    return xc.get_calendar("XNYS", start=CALENDAR_START)


def _day(d: date | str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(d).tz_localize(None).normalize() if pd.Timestamp(d).tz is not None \
        else pd.Timestamp(d).normalize()


def _check_range(*days: pd.Timestamp) -> None:
    cal = calendar()
    for d in days:
        if d < cal.first_session or d > cal.last_session:
            raise ConfigurationError(
                f"date {d.date()} is outside the NYSE calendar's range "
                f"({cal.first_session.date()} .. {cal.last_session.date()})")


def sessions(start: date | str | pd.Timestamp, end: date | str | pd.Timestamp) -> pd.DatetimeIndex:
    """Trading sessions in [start, end], tz-naive midnight timestamps."""
    a, b = _day(start), _day(end)
    _check_range(a, b)
    return calendar().sessions_in_range(a, b)


def is_session(d: date | str | pd.Timestamp) -> bool:
    day = _day(d)
    _check_range(day)
    return bool(calendar().is_session(day))


def last_completed_session(now: datetime | pd.Timestamp) -> pd.Timestamp:
    """The latest session whose close is at or before `now` (tz-aware; naive means UTC)."""
    ts = pd.Timestamp(now)
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    cal = calendar()
    day = _day(ts.tz_convert(NY))
    _check_range(day)
    candidate = cal.date_to_session(day, direction="previous")
    if cal.session_close(candidate) > ts:
        candidate = cal.previous_session(candidate)
    return candidate


def previous_session(d: date | str | pd.Timestamp) -> pd.Timestamp:
    """The session strictly before `d`."""
    cal = calendar()
    day = _day(d)
    _check_range(day)
    if cal.is_session(day):
        return cal.previous_session(day)
    return cal.date_to_session(day, direction="previous")


def session_open_close(d: date | str | pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC open and close of session `d` (early closes included)."""
    day = _day(d)
    _check_range(day)
    return calendar().session_open_close(day)


def utc(ts: datetime | pd.Timestamp | str) -> pd.Timestamp:
    """`ts` as a UTC Timestamp; a naive value is taken to be UTC already."""
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tz is None else t.tz_convert("UTC")


def is_open(ts: datetime | pd.Timestamp) -> bool:
    """Whether NYSE's regular session is open at `ts` (naive means UTC)."""
    t = utc(ts)
    _check_range(_day(t.tz_convert(NY)))
    return bool(calendar().is_open_on_minute(t, ignore_breaks=True))


def next_open(ts: datetime | pd.Timestamp) -> pd.Timestamp:
    return calendar().next_open(utc(ts))


def session_at(ts: datetime | pd.Timestamp) -> pd.Timestamp | None:
    """The session whose regular hours contain `ts`, or None when the market is closed then.

    Jobs key everything of an intraday cycle (bars file, order ids) on this, never on the UTC
    date, which differs from the New York one in the evening.
    """
    if not is_open(ts):
        return None
    return _day(utc(ts).tz_convert(NY))


def minutes_to_close(ts: datetime | pd.Timestamp) -> float:
    """Minutes from `ts` to the close of the session open at `ts` (early closes included).

    Raises ConfigurationError when the market is closed at `ts`: callers gate on `is_open`.
    """
    day = session_at(ts)
    if day is None:
        raise ConfigurationError(f"the market is closed at {utc(ts).isoformat()}")
    _, close = session_open_close(day)
    return (close - utc(ts)).total_seconds() / 60.0
