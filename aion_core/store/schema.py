"""The raw files' columns as every reader hands them on, whatever wrote the file.

A daily-bars file may come from our own collector, from `aion import`, or from a user who put
a Parquet file in raw/daily by hand: dates as `datetime.date` (date32), strings or tz-aware
stamps, volume as integers, extra columns, another column order, no symbol column. Readers
conform each file to the contract (DAILY_COLUMNS; dates tz-naive midnight datetime64[ns];
prices and volume float64), and refuse one that lacks a column with an error naming the file
and the columns. Files already in the contract's shape pass through Arrow untouched.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from aion_core.config import DAILY_COLUMNS, INTRADAY_COLUMNS
from aion_core.errors import CorruptFileError, DataError
from aion_core.ingest.columns import (
    DAILY_ALIASES,
    MACRO_ALIASES,
    MINUTE_ALIASES,
    instants,
    numbers,
    rename,
    session_dates,
)

DAILY_SCHEMA = pa.schema([("symbol", pa.string()), ("date", pa.timestamp("ns")),
                          *((c, pa.float64()) for c in DAILY_COLUMNS[2:])])


def _plain(table: pa.Table) -> bool:
    """Already the contract's columns and types, up to a cast Arrow does without pandas."""
    if table.column_names[:len(DAILY_COLUMNS)] != DAILY_COLUMNS:
        return False
    types = {f.name: f.type for f in table.schema}
    return (pa.types.is_timestamp(types["date"]) and types["date"].tz is None
            and (pa.types.is_string(types["symbol"]) or pa.types.is_large_string(types["symbol"]))
            and all(pa.types.is_floating(types[c]) or pa.types.is_integer(types[c])
                    for c in DAILY_COLUMNS[2:]))


def conform_daily(table: pa.Table, path: Path | str, symbol: str) -> pa.Table:
    """`table` (one symbol's file) in DAILY_SCHEMA; the symbol column is filled from the file
    name when absent. Raises CorruptFileError naming the file and what is wrong with it."""
    if _plain(table):
        plain = table.select(DAILY_COLUMNS)
        return plain if plain.schema.equals(DAILY_SCHEMA) else plain.cast(DAILY_SCHEMA)
    frame = table.to_pandas()
    try:
        frame = rename(frame, DAILY_ALIASES, DAILY_COLUMNS[1:], "daily bars")
    except DataError as exc:
        raise CorruptFileError(path, str(exc).removeprefix("daily bars: ")) from None
    frame["symbol"] = symbol
    frame["date"] = session_dates(frame["date"])
    unreadable = int(frame["date"].isna().sum())
    if unreadable:
        raise CorruptFileError(path, f"{unreadable} date(s) that are not dates")
    for col in DAILY_COLUMNS[2:]:
        frame[col] = numbers(frame[col])
    return pa.Table.from_pandas(frame[DAILY_COLUMNS], schema=DAILY_SCHEMA, preserve_index=False)


def conform_macro(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """`date, value` (dates as session_dates, values float64, sorted)."""
    try:
        frame = rename(frame, MACRO_ALIASES, ["date", "value"], "macro series")
    except DataError as exc:
        raise CorruptFileError(path, str(exc).removeprefix("macro series: ")) from None
    out = pd.DataFrame({"date": session_dates(frame["date"]), "value": numbers(frame["value"])})
    if out["date"].isna().any():
        raise CorruptFileError(path, f"{int(out['date'].isna().sum())} date(s) that are not dates")
    return out.sort_values("date", kind="stable").reset_index(drop=True)


def conform_minute(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """INTRADAY_COLUMNS with `ts` tz-aware UTC (a naive stamp in these files means UTC, as
    CONTRACT.md says), prices and volume float64."""
    if list(frame.columns[:len(INTRADAY_COLUMNS)]) == INTRADAY_COLUMNS \
            and str(frame["ts"].dtype) == "datetime64[ns, UTC]":
        return frame[INTRADAY_COLUMNS]
    try:
        frame = rename(frame, MINUTE_ALIASES, INTRADAY_COLUMNS, "1-minute bars")
        ts = instants(frame["ts"], "UTC", "1-minute bars")
    except DataError as exc:
        raise CorruptFileError(path, str(exc).removeprefix("1-minute bars: ")) from None
    out = frame.assign(ts=ts, **{c: numbers(frame[c]) for c in INTRADAY_COLUMNS[2:]})
    return out[INTRADAY_COLUMNS]
