"""Vendor frames to the contract's frames: daily bars, 1-minute bars, macro series, headlines.

Pure: each takes the frame a file gave (files.read_table) and what the user declared about
it (the symbol a file name gives, whether prices are adjusted, what a stamp marks, its time
zone) and returns the contract's columns, or raises DataError with one line saying why.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from aion_core import market_hours
from aion_core.config import DAILY_COLUMNS, INTRADAY_COLUMNS, NEWS_COLUMNS
from aion_core.errors import DataError
from aion_core.ingest.columns import (
    DAILY_ALIASES,
    MACRO_ALIASES,
    MINUTE_ALIASES,
    NEWS_ALIASES,
    canonical,
    instants,
    numbers,
    rename,
    session_dates,
)

SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-=^]{0,19}$")
SERIES = re.compile(r"^[A-Z0-9_]{1,40}$")
PRICES = ["open", "high", "low", "close"]


def symbol_from_name(stem: str) -> str | None:
    """`AAPL`, `aapl.us` (Stooq), `BRK-B` -> the symbol; None when the name is not one."""
    sym = re.sub(r"\.US$", "", stem.strip().upper())
    return sym if SYMBOL.match(sym) else None


def symbols(values: pd.Series) -> pd.Series:
    """Upper-case tickers without cashtag `$` or spaces; None where not a valid symbol."""
    text = values.astype("string").str.strip().str.lstrip("$").str.upper()
    return text.where(text.str.match(SYMBOL.pattern, na=False), None)


def daily_bars(frame: pd.DataFrame, name_symbol: str | None,
               adjusted: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """DAILY_COLUMNS (dates NaT where unreadable, symbol None where invalid) and notes on
    what was done to the file as a whole.

    With an adjusted close beside raw prices (and `adjusted` False), open, high, low and
    close are scaled by adj_close / close and volume inversely, so that the bars are split-
    and dividend-adjusted as raw_daily must be; `adjusted` says the prices already are.
    """
    bars = rename(frame, DAILY_ALIASES, ["date", *PRICES], "daily bars")
    notes: list[str] = []
    if "symbol" in bars:
        bars["symbol"] = symbols(bars["symbol"])
    elif name_symbol:
        bars["symbol"] = name_symbol
    else:
        raise DataError("daily bars: no symbol column (symbol, ticker, Name, ...), and the "
                        "file name is not a symbol: add one or pass --symbol")
    bars["date"] = session_dates(bars["date"])
    for col in [*PRICES, "adj_close", "volume"]:
        if col in bars:
            bars[col] = numbers(bars[col])
    if "volume" not in bars:
        bars["volume"] = 0.0
        notes.append("no volume column: volume set to 0")
    if "adj_close" in bars and not adjusted:
        factor = (bars["adj_close"] / bars["close"]).where(bars["close"] > 0)
        factor = factor.groupby(bars["symbol"]).transform(lambda f: f.ffill().bfill())
        factor = factor.fillna(1.0)
        bars[PRICES] = bars[PRICES].mul(factor, axis=0)
        bars["volume"] = bars["volume"] / factor
        notes.append(f"adjusted to the adjusted close: open/high/low/close scaled by "
                     f"adj_close/close (factors {factor.min():.3f}..{factor.max():.3f}), "
                     "volume inversely")
    elif "adj_close" in bars:
        notes.append("--adjusted: the adjusted-close column was ignored")
    return bars[DAILY_COLUMNS], notes


def minute_bars(frame: pd.DataFrame, name_symbol: str | None, stamp: str,
                tz: str | None) -> tuple[pd.DataFrame, int]:
    """INTRADAY_COLUMNS with `ts` the bar's START in UTC, regular-hours bars only, and how
    many bars fell outside the NYSE session's minutes (pre/post market, unreadable stamps).

    `stamp` is what the file's stamps mark: "start" or "end" of the minute (AlphaVantage
    stamps the end, 09:31..16:00; Lean and Alpaca the start, 09:30..15:59).
    """
    if stamp not in ("start", "end"):
        raise DataError("1-minute bars: say what the stamps mark with --stamp start|end")
    bars = rename(frame, MINUTE_ALIASES, ["ts", *PRICES], "1-minute bars")
    if "symbol" in bars:
        bars["symbol"] = symbols(bars["symbol"])
    elif name_symbol:
        bars["symbol"] = name_symbol
    else:
        raise DataError("1-minute bars: no symbol column, and the file name is not a symbol")
    ts = instants(bars["ts"], tz, "1-minute bars")
    bars["ts"] = ts - pd.Timedelta(minutes=1) if stamp == "end" else ts
    for col in [*PRICES, "volume"]:
        bars[col] = numbers(bars[col]) if col in bars else 0.0
    regular = in_session_minutes(bars["ts"])
    return bars.loc[regular, INTRADAY_COLUMNS].reset_index(drop=True), int((~regular).sum())


def in_session_minutes(ts: pd.Series) -> pd.Series:
    """Whether each UTC bar start lies within its NYSE session's [open, close)."""
    ny_day = ts.dt.tz_convert(market_hours.NY).dt.tz_localize(None).dt.normalize()
    out = pd.Series(False, index=ts.index)
    for day in ny_day.dropna().unique():
        day = pd.Timestamp(day)
        if not market_hours.is_session(day):
            continue
        open_, close = market_hours.session_open_close(day)
        on_day = ny_day == day
        out |= on_day & (ts >= open_) & (ts < close)
    return out


#: The largest magnitude a macro observation may have: inf, -inf and 1e308 are typos or
#: overflows (no published series comes near; FRED's largest are in the millions).
MACRO_MAX = 1e12


def macro_series(frame: pd.DataFrame, name: str) -> dict[str, pd.DataFrame]:
    """Series id -> `date, value` (missing values dropped, sorted; values not finite or of
    magnitude MACRO_MAX or more dropped as unreadable, like dates before 1900 or after 2200).

    `date, value` files take their id from `name` (the file name, or --series); FRED's own
    downloads (`observation_date, DGS10`) and wide files take it from each value column.
    """
    try:
        pair = rename(frame, MACRO_ALIASES, ["date", "value"], "macro series")
        named = {name.upper(): pair["value"]}
        dates = pair["date"]
    except DataError:
        dates = rename(frame, {"date": MACRO_ALIASES["date"]}, ["date"], "macro series")["date"]
        date_col = next(c for c in frame.columns if canonical(c) in MACRO_ALIASES["date"])
        named = {str(c).strip().upper(): frame[c] for c in frame.columns if c != date_col}
    days = session_dates(dates)
    out = {}
    for sid, values in named.items():
        if not SERIES.match(sid):
            raise DataError(f"macro series: {sid!r} is not a series id (A-Z, 0-9, _); "
                            "pass --series")
        value = numbers(values)
        series = pd.DataFrame({"date": days, "value": value.where(value.abs() < MACRO_MAX)})
        if series["date"].isna().all():
            raise DataError("macro series: no readable date")
        out[sid] = (series.dropna().drop_duplicates("date", keep="last")
                    .sort_values("date").reset_index(drop=True))
    return out


def headlines(frame: pd.DataFrame, tz: str | None, source: str) -> pd.DataFrame:
    """NEWS_COLUMNS, one row per (item, ticker): `published_at` UTC; tickers split on
    commas, semicolons, bars or spaces, cashtags' `$` dropped; items without text dropped."""
    items = rename(frame, NEWS_ALIASES, ["published_at", "symbol", "headline"], "news")
    items["published_at"] = instants(items["published_at"], tz, "news")
    tickers = items["symbol"].astype("string").str.split(r"[,;| ]+", regex=True)
    items = items.assign(symbol=tickers).explode("symbol")
    items["symbol"] = symbols(items["symbol"])
    items["headline"] = items["headline"].astype("string").str.strip()
    if "source" not in items:
        items["source"] = source
    items["source"] = items["source"].astype("string").fillna(source)
    keep = items["symbol"].notna() & items["published_at"].notna() \
        & items["headline"].fillna("").str.len().gt(0)
    out = items.loc[keep, NEWS_COLUMNS].drop_duplicates(["symbol", "published_at", "headline"])
    return out.astype({"symbol": object, "headline": object, "source": object}) \
        .reset_index(drop=True).replace({np.nan: None})
