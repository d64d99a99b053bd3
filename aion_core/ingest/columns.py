"""Vendor column names and date encodings, turned into the contract's.

One table of aliases per kind of file (yfinance, Stooq, AlphaVantage, Kaggle and FRED exports
were the references), matched on a canonical form of each header ("Adj. Close", "5. adjusted
close" and "<CLOSE>" all compare as words), and the date parsers every importer and every
reader of the data root share: a file written with `datetime.date` (Parquet date32), ISO
strings, `yyyymmdd` integers, naive or tz-aware timestamps all give the same session dates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from aion_core.errors import DataError

DAILY_ALIASES: Mapping[str, Sequence[str]] = {
    "symbol": ("symbol", "ticker", "name", "sym", "code", "tic"),
    "date": ("date", "timestamp", "datetime", "trade_date", "time", "day"),
    "open": ("open", "open_price"),
    "high": ("high", "high_price"),
    "low": ("low", "low_price"),
    "close": ("close", "close_last", "close_price", "last"),
    "adj_close": ("adj_close", "adjclose", "adjusted_close", "adj_close_price", "close_adj"),
    "volume": ("volume", "vol", "shares"),
}
MINUTE_ALIASES: Mapping[str, Sequence[str]] = {
    **{k: v for k, v in DAILY_ALIASES.items() if k not in ("date", "adj_close")},
    "ts": ("timestamp", "datetime", "ts", "time", "date_time", "date"),
}
MACRO_ALIASES: Mapping[str, Sequence[str]] = {
    "date": ("date", "observation_date", "period", "time"),
    "value": ("value", "observation", "obs_value"),
}
NEWS_ALIASES: Mapping[str, Sequence[str]] = {
    "published_at": ("published_at", "created_at", "timestamp", "datetime", "published",
                     "pubdate", "time", "date"),
    "symbol": ("symbol", "symbols", "ticker", "tickers", "stock"),
    "headline": ("headline", "title", "text", "summary", "body"),
    "source": ("source", "publisher", "author"),
}


def canonical(header: object) -> str:
    """'Adj. Close' -> 'adj_close', '5. adjusted close' -> 'adjusted_close', '<DATE>' -> 'date'."""
    text = str(header).strip().strip("<>").lower()
    text = re.sub(r"^\d+\.\s*", "", text)
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def rename(frame: pd.DataFrame, aliases: Mapping[str, Sequence[str]],
           required: Sequence[str], what: str) -> pd.DataFrame:
    """`frame` with its columns renamed to the alias table's targets (other columns dropped).

    The first alias present wins (a file with both `symbol` and `name` keeps `symbol`); a
    column is used once. Raises DataError naming the missing targets and the headers found.
    """
    by_canon: dict[str, str] = {}
    for col in frame.columns:
        by_canon.setdefault(canonical(col), col)
    chosen: dict[str, str] = {}
    for target, names in aliases.items():
        for name in names:
            col = by_canon.get(name)
            if col is not None and col not in chosen.values():
                chosen[target] = col
                break
    missing = [t for t in required if t not in chosen]
    if missing:
        found = ", ".join(map(str, frame.columns[:12]))
        raise DataError(f"{what}: no column for {', '.join(missing)} (found: {found})")
    return frame[list(chosen.values())].set_axis(list(chosen), axis=1)


# --------------------------------------------------------------------------- dates

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
#: The dates an import reads as dates; anything outside is unreadable (NaT, reported as such):
#: the stores keep nanosecond stamps (1677-2262), and a market date before 1900 or after 2200
#: is a typo, not history.
FIRST_DATE, LAST_DATE = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-12-31")


def _bounded(stamps: pd.Series) -> pd.Series:
    """`stamps` (naive or tz-aware, any resolution) with those outside FIRST_DATE..LAST_DATE
    made NaT, before a cast to nanoseconds could overflow on them."""
    wall = stamps.dt.tz_localize(None) if isinstance(stamps.dtype, pd.DatetimeTZDtype) \
        else stamps
    return stamps.where((wall >= FIRST_DATE) & (wall <= LAST_DATE))


def session_dates(values: pd.Series) -> pd.Series:
    """Session dates (tz-naive midnight datetime64[ns]) of any honest encoding; NaT where a
    value cannot be read as a date.

    A tz-aware stamp keeps its own wall date (yfinance stamps a session at New York midnight,
    other exports at UTC midnight: converting either would move some to the previous day).
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        out = values.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        out = values
    elif pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_float_dtype(values.dtype):
        digits = values.astype("Int64").astype("string")
        out = pd.to_datetime(digits, format="%Y%m%d", errors="coerce")
    else:
        out = _parse_objects(values)
    return _bounded(out).dt.normalize().astype("datetime64[ns]")


def _parse_objects(values: pd.Series) -> pd.Series:
    """Strings, `datetime.date`s or Timestamps in an object/string column."""
    text = values.astype("string")
    if text.dropna().str.match(_ISO_DAY).all():  # ISO days, with or without a time or offset
        return pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    try:
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    except (TypeError, ValueError):  # mixed offsets
        parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_localize(None)
    return parsed


def instants(values: pd.Series, tz: str | None, what: str) -> pd.Series:
    """UTC instants (tz-aware datetime64[ns, UTC]) of stamps that are tz-aware, carry an
    offset, or are naive in `tz`; NaT where unreadable. Naive stamps without `tz` are refused:
    guessing a time zone shifts every bar or headline by hours."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return _bounded(values).dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    if not pd.api.types.is_datetime64_dtype(values.dtype):
        text = values.astype("string")
        has_offset = text.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z|UTC)$", regex=True, na=False)
        if has_offset.all():
            stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
            return _bounded(stamps).astype("datetime64[ns, UTC]")
        if has_offset.any():
            raise DataError(f"{what}: some stamps carry a UTC offset and some do not")
        values = _bounded(pd.to_datetime(text, errors="coerce", format="ISO8601"))
    if tz is None:
        raise DataError(f"{what}: the stamps have no time zone; say which with --tz "
                        "(e.g. --tz America/New_York or --tz UTC)")
    local = values.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def numbers(values: pd.Series) -> pd.Series:
    """float64 of a numeric or text column ('1,234.5', '.', '' and 'null' read as missing)."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text = values.astype("string").str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(text, errors="coerce").astype("float64").fillna(np.nan)
