"""Vendor headers and date encodings, as every importer and reader sees them."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from aion_core.errors import DataError
from aion_core.ingest import columns

EXPECTED = pd.to_datetime(["2014-06-09", "2014-06-10"]).astype("datetime64[ns]")


@pytest.mark.parametrize("values", [
    ["2014-06-09", "2014-06-10"],
    ["2014-06-09 00:00:00-04:00", "2014-06-10 00:00:00-04:00"],
    [dt.date(2014, 6, 9), dt.date(2014, 6, 10)],
    [20140609, 20140610],
    ["06/09/2014", "06/10/2014"],
    pd.to_datetime(["2014-06-09", "2014-06-10"]).tz_localize("America/New_York"),
    pd.to_datetime(["2014-06-09", "2014-06-10"]).tz_localize("UTC"),
    pd.to_datetime(["2014-06-09 16:00", "2014-06-10 16:00"]),
])
def test_every_honest_date_encoding_gives_the_same_sessions(values):
    got = columns.session_dates(pd.Series(values))
    pd.testing.assert_series_equal(got, pd.Series(EXPECTED), check_names=False)


def test_an_unreadable_date_is_nat_not_a_guess():
    got = columns.session_dates(pd.Series(["2014-06-09", "soon"]))
    assert got.isna().tolist() == [False, True]


@pytest.mark.parametrize("headers", [
    ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"],       # yfinance
    ["<DATE>", "<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>", "<ADJ CLOSE>", "<VOL>"],  # Stooq
    ["timestamp", "1. open", "2. high", "3. low", "4. close", "5. adjusted close",
     "6. volume"],                                                           # AlphaVantage
    ["date", "open", "high", "low", "close", "adj_close", "volume"],       # Kaggle, stocknet
])
def test_vendor_headers_map_to_the_contract(headers):
    frame = pd.DataFrame([range(len(headers))], columns=headers)
    got = columns.rename(frame, columns.DAILY_ALIASES, ["date", "open", "close"], "bars")
    assert list(got.columns) == ["date", "open", "high", "low", "close", "adj_close", "volume"]


def test_a_missing_column_is_named_with_what_was_found():
    frame = pd.DataFrame(columns=["Date", "Open", "High", "Low", "Volume"])
    with pytest.raises(DataError, match=r"no column for close \(found: Date, Open"):
        columns.rename(frame, columns.DAILY_ALIASES, ["date", "open", "close"], "bars")


def test_naive_stamps_need_a_time_zone_and_offsets_are_honoured():
    naive = pd.Series(["2019-02-11 09:31:00"])
    with pytest.raises(DataError, match="--tz"):
        columns.instants(naive, None, "bars")
    assert columns.instants(naive, "America/New_York", "bars")[0] == \
        pd.Timestamp("2019-02-11 14:31", tz="UTC")
    aware = pd.Series(["2014-06-05 09:30:00-04:00"])
    assert columns.instants(aware, None, "bars")[0] == pd.Timestamp("2014-06-05 13:30", tz="UTC")


def test_dates_outside_1900_to_2200_are_unreadable_not_an_overflow():
    """A 2300 or 1700 date used to abort a whole import on a nanosecond overflow."""
    days = columns.session_dates(pd.Series(["2300-01-03", "1700-05-01", "2024-01-03"]))
    assert days.isna().tolist() == [True, True, False]
    assert columns.session_dates(pd.Series([23000103, 20240103])).isna().tolist() == [True,
                                                                                      False]
    stamps = columns.instants(pd.Series(["2300-01-03T10:00:00Z", "2024-01-03T10:00:00Z"]),
                              None, "news")
    assert stamps.isna().tolist() == [True, False]
    naive = columns.instants(pd.Series(["1677-01-01 10:00", "2024-01-03 10:00"]), "UTC", "x")
    assert naive.isna().tolist() == [True, False]
