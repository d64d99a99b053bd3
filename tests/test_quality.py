"""The checks of imported daily bars: each treatment, on planted faults and the shared set's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aion_core import market_hours
from aion_core.config import DAILY_COLUMNS
from aion_core.ingest import columns, quality


def _bars(symbol: str, n: int = 60, start: str = "2015-01-02", price: float = 50.0,
          seed: int = 0) -> pd.DataFrame:
    days = market_hours.sessions(start, "2016-12-30")[:n]
    rng = np.random.default_rng(seed)
    close = price * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    return pd.DataFrame({"symbol": symbol, "date": days, "open": close * 0.999,
                         "high": close * 1.01, "low": close * 0.99, "close": close,
                         "volume": rng.integers(1e5, 2e5, n).astype(float)})


def _check(frame: pd.DataFrame) -> quality.Checked:
    return quality.check_daily(frame, market_hours.sessions("2014-01-02", "2017-12-29"))


def _checks(out: quality.Checked, symbol: str) -> dict[str, quality.Finding]:
    return {f.check: f for f in out.findings.get(symbol, [])}


def test_clean_bars_pass_untouched():
    bars = _bars("AAA")
    out = _check(bars)
    assert out.findings == {} and out.refused == {}
    pd.testing.assert_frame_equal(out.bars, bars[DAILY_COLUMNS])


@pytest.mark.parametrize("ratio", [2.0, 3.0, 7.0, 0.1])
def test_a_planted_unadjusted_split_is_flagged_and_kept(ratio):
    bars = _bars("SPL")
    bars.loc[30:, ["open", "high", "low", "close"]] /= ratio
    out = _check(bars)
    found = _checks(out, "SPL")
    assert list(found) == ["split_like"]
    assert found["split_like"].dates == [bars["date"][30].strftime("%Y-%m-%d")]
    assert len(out.bars) == len(bars)  # flagged, not changed


def test_a_bad_print_that_reverts_is_dropped_not_taken_for_a_split():
    bars = _bars("BAD")
    bars.loc[20, "close"] /= 2  # the close only: far outside its own [low, high] too
    out = _check(bars)
    found = _checks(out, "BAD")
    assert list(found) == ["bad_print"]
    assert bars["date"][20] not in set(out.bars["date"])
    assert len(out.bars) == len(bars) - 1


def test_a_large_lasting_move_that_is_no_split_ratio_is_flagged_as_a_jump():
    bars = _bars("SPIN")
    bars.loc[30:, ["open", "high", "low", "close"]] *= 0.43  # a spin-off, as EBAY 2015-07-20
    assert list(_checks(_check(bars), "SPIN")) == ["large_jump"]


def test_structural_faults_are_repaired_and_reported():
    bars = _bars("FIX")
    weekend = bars.iloc[[3]].assign(date=pd.Timestamp("2015-01-10"))  # a Saturday
    bars = pd.concat([bars, bars.iloc[[5]], weekend], ignore_index=True)  # + an exact repeat
    bars.loc[7, "open"] = np.nan
    bars.loc[8, "close"] = np.nan
    bars.loc[9, "high"] = bars.loc[9, "low"] * 0.5
    bars.loc[10, "volume"] = np.nan
    out = _check(bars)
    found = _checks(out, "FIX")
    assert {c: found[c].rows for c in found} == {
        "duplicate_rows": 1, "non_session": 1, "missing_close": 1,
        "missing_open_high_low": 1, "missing_volume": 1, "ohlc_inconsistent": 1}
    assert all(found[c].action == "repaired" for c in found)
    kept = out.bars
    assert len(kept) == 60 - 1 and not kept[DAILY_COLUMNS[2:]].isna().any().any()
    assert (kept["high"] >= kept[["open", "close", "low"]].max(axis=1)).all()
    assert (kept["low"] <= kept[["open", "close", "high"]].min(axis=1)).all()


@pytest.mark.parametrize("fault,check", [
    (lambda b: b.assign(close=b["close"].where(b.index != 4, -1.0)), "non_positive_price"),
    (lambda b: b.assign(volume=b["volume"].where(b.index != 4, -5.0)), "negative_volume"),
    (lambda b: pd.concat([b, b.iloc[[4]].assign(close=1.0)]), "duplicate_dates"),
])
def test_faults_that_say_the_file_is_wrong_refuse_that_symbol_only(fault, check):
    good, bad = _bars("GOOD", seed=1), fault(_bars("BAD"))
    out = _check(pd.concat([good, bad], ignore_index=True))
    assert set(out.refused) == {"BAD"} and check.replace("_", " ") in out.refused["BAD"]
    assert set(out.bars["symbol"]) == {"GOOD"} and len(out.bars) == len(good)


def test_the_shared_sp500_set_s_known_cases(shared_data):
    raw = pd.read_parquet(shared_data / "sp500_5yr" / "all_stocks_5yr.parquet")
    bars = columns.rename(raw, columns.DAILY_ALIASES, DAILY_COLUMNS, "sp500")
    bars["date"] = columns.session_dates(bars["date"])
    out = quality.check_daily(bars, market_hours.sessions("2013-02-08", "2018-02-07"))
    found = {(sym, f.check): f.dates for sym, fs in out.findings.items() for f in fs}
    assert found[("LNT", "bad_print")] == ["2016-05-19"]
    assert found[("DISCA", "split_like")] == ["2014-08-07"]
    assert found[("DISCK", "split_like")] == ["2014-08-07"]
    for sym, day in (("BAX", "2015-07-01"), ("NI", "2015-07-02"), ("EBAY", "2015-07-20")):
        assert found[(sym, "large_jump")] == [day]  # the unadjusted spin-offs
    assert ("LNT", "split_like") not in found
    assert out.refused == {} and out.bars["symbol"].nunique() == 505


def test_every_check_and_its_treatment_is_documented():
    text = (Path(__file__).resolve().parents[1] / "docs" / "DATA.md").read_text()
    for name, check in quality.CHECKS.items():
        assert f"| `{name}` | {check.action} | {check.meaning} |" in text
