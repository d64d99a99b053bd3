"""Point-in-time index membership: which names were in the index on each date; pure.

A membership is a frame of intervals `ticker, start, end` (datetime64, midnight): the ticker
was a member from `start` (inclusive, its first session in the index) until `end`
(exclusive: the date it left, its first session out; NaT = still a member). The convention
is the one of the shared S&P 500 file (fja05680/sp500), where a name that left and the one
that replaced it share that date (LNC's end and ABNB's start, 2023-09-18), so the index holds
500 names on every date rather than 501 on the day of a change.

Tickers are the membership's spellings (today's); a bar file may carry an older one (CBG for
CBRE). `aliases` maps a bar ticker to the membership's, and `Membership.by_symbol` gives the
intervals keyed by bar symbol, so every later step speaks the bars' symbols.

Known as of a date: membership on date t is read from intervals that started on or before t;
an interval's later end is a fact after t, and `members` at t does not depend on it (the
mask at t is the same whether the name left at t+1 or is still a member). Neither does a
feature at t (aion_core.ml.features: tests/test_universe.py changes intervals after t).

Without a universe every stored name is in every cross-section, and every figure computed on
them is an upper bound: `SURVIVORSHIP` is the line each report and page carries then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

INTERVAL_COLUMNS = ["ticker", "start", "end"]
#: The bars' optional column that says whether a row's symbol was a member on its date
#: (aion_core.ml.dataset keeps only those rows; absent = every row a member).
MEMBER = "member"
#: What every report, tear sheet and page says when the data root holds no membership.
SURVIVORSHIP = ("The universe is today's names (no membership history in the data root), "
                "so these figures are upper bounds (survivorship).")
_DAY = np.int64(86_400 * 10**9)
_OPEN = np.iinfo(np.int64).max


def _days(values: Any) -> np.ndarray:
    """Whole days since the epoch (int64) of datetime-like values; NaT -> _OPEN."""
    stamps = pd.to_datetime(pd.Series(values)).astype("datetime64[ns]").to_numpy()
    out = stamps.view(np.int64) // _DAY
    out[np.isnat(stamps)] = _OPEN
    return out


def merge_overlaps(intervals: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Each ticker's overlapping or touching intervals merged into one, sorted by (ticker,
    start); and how many rows each merged ticker lost (an exact repeat counts too).

    intervals: INTERVAL_COLUMNS, `end` NaT = still a member, every end after its start."""
    frame = intervals[INTERVAL_COLUMNS].sort_values(["ticker", "start"], kind="stable")
    frame = frame.reset_index(drop=True)
    ticker = frame["ticker"].to_numpy(dtype=object)
    start, end = _days(frame["start"]), _days(frame["end"])
    first = np.ones(len(frame), dtype=bool)
    first[1:] = ticker[1:] != ticker[:-1]
    # the furthest end reached so far within the ticker, before each row
    reach = pd.Series(end).groupby(pd.factorize(ticker)[0]).cummax().shift(1).to_numpy()
    new = first | (start > np.nan_to_num(reach, nan=-1))
    group = np.cumsum(new) - 1
    ends = pd.Series(end).groupby(group).max().to_numpy()
    merged = pd.DataFrame({"ticker": ticker[new], "start": frame["start"].to_numpy()[new],
                           "end": _from_days(ends)})
    lost = pd.Series(~new).groupby(ticker).sum()
    return merged, {str(t): int(n) for t, n in lost[lost > 0].items()}


def _from_days(days: np.ndarray) -> np.ndarray:
    out = (days.astype(np.int64) * _DAY).astype("datetime64[ns]")
    out[days == _OPEN] = np.datetime64("NaT")
    return out


def members(intervals: pd.DataFrame, dates: Any, symbols: Any) -> np.ndarray:
    """Whether symbols[i] was a member on dates[i] (bool, one per pair).

    intervals: INTERVAL_COLUMNS keyed by the same spelling as `symbols` (Membership.by_symbol
    for bar symbols); overlaps are allowed. A symbol without an interval is never a member."""
    symbols = np.asarray(symbols, dtype=object)
    out = np.zeros(len(symbols), dtype=bool)
    if not len(intervals) or not len(symbols):
        return out
    merged, _ = merge_overlaps(intervals)
    codes, names = pd.factorize(merged["ticker"], sort=False)
    row_code = pd.Index(names).get_indexer(symbols)
    # one sorted key per (symbol, day): the interval that starts last on or before the day
    key = codes.astype(np.int64) << 32 | (_days(merged["start"]) + (1 << 31))
    order = np.argsort(key, kind="stable")
    key, end = key[order], _days(merged["end"])[order]
    known = row_code >= 0
    day = _days(dates)
    row_key = row_code[known].astype(np.int64) << 32 | (day[known] + (1 << 31))
    at = np.searchsorted(key, row_key, side="right") - 1
    hit = (at >= 0) & ((key[np.maximum(at, 0)] >> 32) == row_code[known]) \
        & (day[known] < end[np.maximum(at, 0)])
    out[known] = hit
    return out


@dataclass(frozen=True)
class Membership:
    """A stored universe (the data root's `universe` document, aion_core.store): its name,
    intervals (INTERVAL_COLUMNS in the membership's spelling) and bar-ticker aliases
    (old bar ticker -> membership ticker)."""

    name: str
    intervals: pd.DataFrame
    aliases: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    imported_at: str = ""

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Membership:
        """From the document `Store.read_universe` returns (checked by its schema)."""
        rows = doc.get("intervals", [])
        frame = pd.DataFrame({
            "ticker": [r["ticker"] for r in rows],
            "start": pd.to_datetime([r["start"] for r in rows]),
            "end": pd.to_datetime([r.get("end") for r in rows])})
        return cls(str(doc["name"]), frame.astype({"start": "datetime64[ns]",
                                                   "end": "datetime64[ns]"}),
                   dict(doc.get("aliases", {})), str(doc.get("source", "")),
                   str(doc.get("imported_at", "")))

    def by_symbol(self) -> pd.DataFrame:
        """The intervals keyed by bar symbol: every ticker's own, and each alias's copy of
        the ticker it stands for."""
        copies = [self.intervals[self.intervals["ticker"] == new].assign(ticker=old)
                  for old, new in sorted(self.aliases.items())]
        return pd.concat([self.intervals, *copies], ignore_index=True) if copies \
            else self.intervals

    def mask(self, symbols: Any, dates: Any) -> np.ndarray:
        """`members` of bar symbols on dates."""
        return members(self.by_symbol(), dates, symbols)

    def on(self, day: Any, symbols: Iterable[str]) -> frozenset[str]:
        """Which of `symbols` (bar spellings) were members on `day`."""
        symbols = list(symbols)
        hit = self.mask(symbols, [pd.Timestamp(day)] * len(symbols))
        return frozenset(s for s, m in zip(symbols, hit, strict=True) if m)

    def tickers(self) -> set[str]:
        return set(self.intervals["ticker"])

    def active(self, start: Any, end: Any) -> set[str]:
        """Membership tickers that were members at some time in [start, end]."""
        iv = self.intervals
        live = (iv["start"] <= pd.Timestamp(end)) & (iv["end"].isna()
                                                     | (iv["end"] > pd.Timestamp(start)))
        return set(iv.loc[live, "ticker"])

    def bar_ticker(self, ticker: str) -> set[str]:
        """The bar spellings of a membership ticker: itself and its aliases."""
        return {ticker, *(old for old, new in self.aliases.items() if new == ticker)}


def mark_members(bars: pd.DataFrame, membership: Membership | None) -> pd.DataFrame:
    """`bars` with the MEMBER column (bool) when there is a membership; unchanged without.

    bars: long `symbol, date, ...` in any order; the rows and their order are kept."""
    if membership is None:
        return bars
    return bars.assign(**{MEMBER: membership.mask(bars["symbol"].to_numpy(),
                                                  bars["date"].to_numpy())})


def member_rows(frame: pd.DataFrame) -> np.ndarray | None:
    """The MEMBER column of a frame as a bool array, None when it has none."""
    if MEMBER not in frame.columns:
        return None
    return frame[MEMBER].to_numpy(dtype=bool)


def note_line(note: Mapping[str, Any] | None) -> tuple[bool, str]:
    """(whether the figures are upper bounds, the line to show) of a report's `universe` note
    (`universe_note`); a report without one predates membership and is an upper bound."""
    if not isinstance(note, Mapping) or not note.get("name"):
        return True, SURVIVORSHIP
    return False, str(note.get("line") or f"Cross-sections hold the members of {note['name']} "
                      "on each date.")


def universe_note(membership: Membership | None, symbols: Iterable[str] = (),
                  start: Any = None, end: Any = None) -> dict[str, Any]:
    """What a report says of its universe: without a membership, SURVIVORSHIP; with one,
    which it is and how many of its members over [start, end] have no bars among `symbols`
    (names that left the index and are not in the data root: the survivorship left)."""
    if membership is None:
        return {"name": None, "line": SURVIVORSHIP}
    doc: dict[str, Any] = {"name": membership.name, "source": membership.source,
                           "imported_at": membership.imported_at}
    line = f"Cross-sections hold the members of {membership.name} on each date"
    if start is not None and end is not None:
        have = set(symbols)
        active = sorted(t for t in membership.active(start, end)
                        if not membership.bar_ticker(t) & have)
        doc["members_without_bars"] = len(active)
        if active:
            line += (f"; {len(active)} of its members over the window have no bars in the "
                     f"data root (e.g. {', '.join(active[:5])}), so names that left may still "
                     "be missing")
    doc["line"] = line + "."
    return doc
