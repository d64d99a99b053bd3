"""Market hours: sessions, holidays, early closes and DST on the real XNYS calendar."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from aion_core import market_hours as mh
from aion_core.errors import ConfigurationError

NY = ZoneInfo("America/New_York")


def ny(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=NY)


def test_thanksgiving_week_sessions() -> None:
    days = [d.date() for d in mh.sessions("2026-11-23", "2026-11-29")]
    assert days == [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25),
                    date(2026, 11, 27)]
    assert not mh.is_session("2026-11-26") and mh.is_session(date(2026, 11, 27))


def test_early_close_and_open_minute_bounds() -> None:
    open_, close = mh.session_open_close("2026-11-27")
    assert open_.tz_convert(NY).strftime("%H:%M") == "09:30"
    assert close.tz_convert(NY).strftime("%H:%M") == "13:00"
    assert mh.is_open(ny("2026-11-27T12:59")) and not mh.is_open(ny("2026-11-27T13:00"))
    assert mh.is_open(ny("2026-11-24T09:30")) and not mh.is_open(ny("2026-11-24T09:29"))
    assert not mh.is_open(ny("2026-11-24T16:00")) and not mh.is_open(ny("2026-11-26T11:00"))


def test_dst_change_moves_the_utc_open() -> None:
    before, _ = mh.session_open_close("2026-10-30")
    after, _ = mh.session_open_close("2026-11-02")
    assert (before.hour, after.hour) == (13, 14)  # 09:30 EDT, then 09:30 EST, in UTC
    assert mh.is_open(pd.Timestamp("2026-11-02 14:30"))  # naive means UTC
    assert not mh.is_open(pd.Timestamp("2026-11-02 14:29"))


def test_session_at_uses_the_new_york_date_and_minutes_to_close() -> None:
    assert mh.session_at(ny("2026-11-24T15:59")) == pd.Timestamp("2026-11-24")
    assert mh.session_at(ny("2026-11-24T16:00")) is None
    assert mh.minutes_to_close(ny("2026-11-27T12:45")) == 15.0
    assert mh.minutes_to_close(ny("2026-11-24T09:30")) == 390.0
    with pytest.raises(ConfigurationError):
        mh.minutes_to_close(ny("2026-11-26T10:00"))


def test_last_completed_and_previous_sessions() -> None:
    assert mh.last_completed_session(ny("2026-11-27T12:59")) == pd.Timestamp("2026-11-25")
    assert mh.last_completed_session(ny("2026-11-27T13:00")) == pd.Timestamp("2026-11-27")
    assert mh.previous_session("2026-11-27") == pd.Timestamp("2026-11-25")
    assert mh.previous_session("2026-11-28") == pd.Timestamp("2026-11-27")
    assert mh.next_open(ny("2026-11-25T16:30")).tz_convert(NY) == pd.Timestamp(
        "2026-11-27 09:30", tz=NY)


def test_dates_outside_the_calendar_are_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="outside the NYSE calendar"):
        mh.is_session("1890-01-02")
