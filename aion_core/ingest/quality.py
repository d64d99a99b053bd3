"""The checks every imported daily bar goes through, and what each does with what it finds.

Pure and vectorised over a long frame (all symbols at once, sorted by symbol and date), so
the 619k-row S&P 500 file is checked in well under a second. Each check has one treatment
(CHECKS): `refused` keeps the symbol out of the data root with the reason, `repaired`
changes or drops rows and says so, `flagged` keeps the rows as they are and says so. The
order matters: a bad print is removed before the OHLC ranges are repaired (LNT 2016-05-19's
close of 17.87 lies far below its own low, and widening the low to it would keep the error)
and before jumps are classified (its -49% looks like an unadjusted 2:1 split until it
reverts the next session).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from aion_core.config import DAILY_COLUMNS


@dataclass(frozen=True)
class Check:
    action: str  # refused | repaired | flagged
    meaning: str


CHECKS: Mapping[str, Check] = {
    "bad_date": Check("repaired", "rows whose date cannot be read are dropped"),
    "duplicate_rows": Check("repaired", "identical rows of one date: one is kept"),
    "duplicate_dates": Check("refused", "one date with differing rows: which one is right "
                             "cannot be told"),
    "non_session": Check("repaired", "rows dated on a weekend or NYSE holiday are dropped"),
    "no_sessions": Check("refused", "no row falls on an NYSE session"),
    "missing_close": Check("repaired", "rows without a close are dropped"),
    "missing_open_high_low": Check("repaired", "a missing open is set to the close, a missing "
                                   "high or low to the larger or smaller of open and close"),
    "missing_volume": Check("repaired", "a missing volume is set to 0"),
    "non_positive_price": Check("refused", "a price of zero or below: not a stock's bars, or "
                                "adjusted into the negative"),
    "negative_volume": Check("refused", "a volume below zero: not a stock's bars"),
    "bad_print": Check("repaired", "a one-day jump of 30% or more that the next session "
                       "reverts: the row is dropped"),
    "ohlc_inconsistent": Check("repaired", "high below low, or open/close outside "
                               "[low, high]: high and low are widened to hold all four"),
    "split_like": Check("flagged", "a lasting one-day jump by a split ratio (2, 3, 3/2, 4, "
                        "5, 7, 8, 10 or their inverses): an unadjusted split?"),
    "large_jump": Check("flagged", "a lasting one-day move of 40% or more that is not a "
                        "split ratio (a spin-off, a takeover, a crash)"),
    "zero_volume": Check("flagged", "sessions with a volume of 0"),
    "overlap_differs": Check("flagged", "rows for dates already stored differ from the "
                             "stored ones: the stored rows are kept (--overwrite takes the "
                             "file's)"),
}

SPLIT_RATIOS = np.array([1.5, 2, 3, 4, 5, 7, 8, 10, 15, 20])
SPLIT_TOLERANCE = 0.05
"""How close (in log points) a jump must be to a split ratio to look like one."""
BAD_PRINT_MOVE = np.log(1.3)
LARGE_MOVE = np.log(1 / 0.6)
REVERT_SHARE = 0.25
"""A jump reverts when the next close is back within this share of it."""
EXAMPLES = 5


@dataclass
class Finding:
    check: str
    rows: int
    dates: list[str]
    detail: str = ""

    @property
    def action(self) -> str:
        return CHECKS[self.check].action

    def to_record(self) -> dict:
        return {**asdict(self), "action": self.action}


@dataclass
class Checked:
    """What came out of the checks: kept bars, and per symbol what was found."""

    bars: pd.DataFrame
    rows_read: dict[str, int]
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    def add(self, symbol: str, finding: Finding) -> None:
        self.findings.setdefault(symbol, []).append(finding)


def first_days(dates: pd.Series) -> list[str]:
    """The first EXAMPLES dates as YYYY-MM-DD: what a finding shows of its rows."""
    return [d.strftime("%Y-%m-%d") for d in dates.head(EXAMPLES) if pd.notna(d)]


def _report(out: Checked, frame: pd.DataFrame, mask: pd.Series, check: str,
            notes: pd.Series | None = None) -> None:
    """One Finding per symbol with rows under `mask` (its detail: the first rows' `notes`);
    a refusal also records the reason."""
    hits = frame.loc[mask, ["symbol", "date"]]
    if notes is not None:
        hits = hits.assign(note=notes[mask])
    for sym, rows in hits.groupby("symbol", sort=True):
        sym = str(sym)
        dates = first_days(rows["date"])
        detail = "; ".join(rows["note"].head(EXAMPLES)) if notes is not None else ""
        out.add(sym, Finding(check, len(rows), dates, detail))
        if CHECKS[check].action == "refused" and sym not in out.refused:
            shown = ", ".join(dates) + (" ..." if len(rows) > len(dates) else "")
            out.refused[sym] = f"{check.replace('_', ' ')}: {len(rows)} row(s) ({shown}); " \
                               f"{CHECKS[check].meaning}"


def check_daily(bars: pd.DataFrame, sessions: pd.DatetimeIndex | None) -> Checked:
    """Run every check over `bars` (DAILY_COLUMNS, any order of rows, `date` datetime64 with
    NaT where unreadable). `sessions`: the NYSE sessions spanning the data (None skips the
    session check, for dates the calendar does not cover). See CHECKS for the treatments."""
    frame = bars[DAILY_COLUMNS].sort_values(["symbol", "date"], kind="stable")
    frame = frame.reset_index(drop=True)
    out = Checked(frame, frame.groupby("symbol", sort=True).size().astype(int).to_dict())

    _report(out, frame, frame["date"].isna(), "bad_date")
    frame = frame[frame["date"].notna()]

    same = frame.duplicated(DAILY_COLUMNS, keep="first")
    _report(out, frame, same, "duplicate_rows")
    frame = frame[~same]
    _report(out, frame, frame.duplicated(["symbol", "date"], keep=False), "duplicate_dates")

    if sessions is not None:
        off = ~frame["date"].isin(sessions)
        _report(out, frame, off, "non_session")
        frame = frame[~off]
        present = set(frame["symbol"])
        for sym in out.rows_read:
            if sym not in present and sym not in out.refused:
                out.refused[sym] = "no sessions: " + CHECKS["no_sessions"].meaning
                out.add(sym, Finding("no_sessions", 0, []))

    no_close = frame["close"].isna()
    _report(out, frame, no_close, "missing_close")
    frame = frame[~no_close].copy()
    gaps = frame[["open", "high", "low"]].isna().any(axis=1)
    _report(out, frame, gaps, "missing_open_high_low")
    frame["open"] = frame["open"].fillna(frame["close"])
    frame["high"] = frame["high"].fillna(frame[["open", "close"]].max(axis=1))
    frame["low"] = frame["low"].fillna(frame[["open", "close"]].min(axis=1))
    no_volume = frame["volume"].isna()
    _report(out, frame, no_volume, "missing_volume")
    frame["volume"] = frame["volume"].fillna(0.0)
    filled = no_volume[no_volume].index

    _report(out, frame, frame[["open", "high", "low", "close"]].le(0).any(axis=1),
            "non_positive_price")
    _report(out, frame, frame["volume"].lt(0), "negative_volume")
    frame = frame[~frame["symbol"].isin(list(out.refused))]

    bad = _bad_prints(frame)
    _report(out, frame, bad, "bad_print")
    frame = frame[~bad].copy()

    prices = frame[["open", "high", "low", "close"]]
    wrong = (frame["high"] < frame["low"]) | prices.gt(frame["high"], axis=0).any(axis=1) \
        | prices.lt(frame["low"], axis=0).any(axis=1)
    _report(out, frame, wrong, "ohlc_inconsistent")
    frame["high"], frame["low"] = prices.max(axis=1), prices.min(axis=1)

    for check, mask, notes in jumps(frame):
        _report(out, frame, mask, check, notes)
    _report(out, frame, frame["volume"].eq(0) & ~frame.index.isin(filled), "zero_volume")
    out.bars = frame.reset_index(drop=True)
    return out


def _log_moves(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """log(close_t / close_t-1) and log(close_t+1 / close_t) within each symbol (NaN at the
    symbol's edges). `frame` is sorted by (symbol, date)."""
    logc = np.log(frame["close"].to_numpy(dtype=float))
    sym = frame["symbol"].to_numpy()
    back = np.full(len(frame), np.nan)
    if len(frame) > 1:
        same = sym[1:] == sym[:-1]
        back[1:] = np.where(same, logc[1:] - logc[:-1], np.nan)
    ahead = np.full(len(frame), np.nan)
    ahead[:-1] = back[1:]
    return pd.Series(back, index=frame.index), pd.Series(ahead, index=frame.index)


def _bad_prints(frame: pd.DataFrame) -> pd.Series:
    back, ahead = _log_moves(frame)
    return (back.abs() >= BAD_PRINT_MOVE) & (np.sign(back) == -np.sign(ahead)) \
        & ((back + ahead).abs() <= REVERT_SHARE * back.abs())


def _volume_follows(frame: pd.DataFrame, back: pd.Series, candidates: pd.Series,
                    window: int = 10) -> pd.Series:
    """Whether the volume level moved against the price by the jump's ratio (median of the
    next `window` sessions against the previous ones, within 0.4 log points), as it does
    when a split is left unadjusted. Asked only of 3/2 jumps: moves of a third happen on
    news too, while a lasting halving or worse almost never does."""
    out = pd.Series(False, index=frame.index)
    if not candidates.any():
        return out
    sym, vol = frame["symbol"].to_numpy(), frame["volume"].to_numpy(dtype=float)
    for i in np.flatnonzero(candidates.to_numpy()):
        lo, hi = max(0, i - window), min(len(frame), i + window)
        before = vol[lo:i][sym[lo:i] == sym[i]]
        after = vol[i:hi][sym[i:hi] == sym[i]]
        if len(before) and len(after) and np.median(before) > 0 and np.median(after) > 0:
            shift = np.log(np.median(after) / np.median(before))
            out.iloc[i] = abs(shift + back.iloc[i]) <= 0.4
    return out


def jumps(frame: pd.DataFrame) -> list[tuple[str, pd.Series, pd.Series]]:
    """(check, mask, note per row) of the lasting jumps in `frame` (sorted by symbol and
    date): split-like ones and other large moves. Kept apart so that an incremental import
    can look for a jump at the seam between stored and new rows."""
    back, ahead = _log_moves(frame)
    size = back.abs()
    lasting = ~((back + ahead).abs() <= REVERT_SHARE * size)  # the last row (no next) lasts
    gaps = np.abs(np.log(SPLIT_RATIOS)[None, :] - size.fillna(0).to_numpy()[:, None])
    nearest = pd.Series(SPLIT_RATIOS[gaps.argmin(axis=1)], index=frame.index)
    split = lasting & (gaps.min(axis=1) <= SPLIT_TOLERANCE) & (size >= np.log(1.4))
    split &= (nearest > 1.5) | _volume_follows(frame, back, split & (nearest == 1.5))
    large = lasting & ~split & (size >= LARGE_MOVE)
    found = []
    for check, mask in (("split_like", split), ("large_jump", large)):
        if mask.any():
            rows = frame.loc[mask]
            notes = rows["date"].dt.strftime("%Y-%m-%d") + ": close " \
                + (np.exp(back[mask]) - 1).map("{:+.0%}".format)
            if check == "split_like":
                notes += " (" + np.where(back[mask] < 0, "1/", "x") \
                    + nearest[mask].map("{:g}".format) + ")"
            found.append((check, mask, notes.reindex(frame.index)))
    return found
