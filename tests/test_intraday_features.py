"""Intraday features: hand-checked values, and nothing after the checkpoint is ever read."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from aion_core import market_hours
from aion_core.ml.intraday_features import (
    FEATURES,
    features_at,
    forward_returns,
    minute_panel,
    volume_profile,
)
from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec

SESSION = pd.Timestamp("2026-11-20")


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SyntheticSpec(n_symbols=4, years=0.2, end=date(2026, 11, 20)))


@pytest.fixture(scope="module")
def bars(market: SyntheticMarket) -> pd.DataFrame:
    return market.intraday_bars(market.symbols, SESSION).data


def opening() -> pd.Timestamp:
    return market_hours.session_open_close(SESSION)[0]


def test_values_match_a_hand_computation(bars: pd.DataFrame) -> None:
    panel = minute_panel(bars, opening(), 390)
    k = 60
    out = features_at(panel, [k], None, pd.Series({panel.symbols[0]: 0.02})).set_index("symbol")
    sym = panel.symbols[0]
    one = bars[bars["symbol"] == sym].reset_index(drop=True)
    close = one["close"].to_numpy()
    assert out.at[sym, "ret_5"] == pytest.approx(np.log(close[k - 1] / close[k - 6]))
    assert out.at[sym, "ret_30"] == pytest.approx(np.log(close[k - 1] / close[k - 31]))
    seen = one.iloc[:k]
    typical = (seen["high"] + seen["low"] + seen["close"]) / 3
    vwap = (typical * seen["volume"]).sum() / seen["volume"].sum()
    assert out.at[sym, "vwap_dist"] == pytest.approx(np.log(close[k - 1] / vwap))
    hi, lo = one["high"].iloc[:30].max(), one["low"].iloc[:30].min()
    assert out.at[sym, "or_pos"] == pytest.approx((close[k - 1] - lo) / (hi - lo) - 0.5)
    assert out.at[sym, "daily_er"] == 0.02 and out.at[panel.symbols[1], "daily_er"] == 0.0
    assert out.at[sym, "minute_frac"] == pytest.approx(60 / 390)
    assert (out["vol_surge"] == 0).all()  # no profile yet
    assert list(out.columns) == ["k", *FEATURES]


def test_bars_after_the_checkpoint_change_nothing(bars: pd.DataFrame) -> None:
    k = 95
    full = features_at(minute_panel(bars, opening(), 390), [k], None, None)
    cut = bars[bars["ts"] < opening() + pd.Timedelta(minutes=k)]
    assert features_at(minute_panel(cut, opening(), k), [k], None, None).equals(full)
    later = bars["ts"] >= opening() + pd.Timedelta(minutes=k)
    scrambled = bars.copy()
    for col in ("open", "high", "low", "close"):
        scrambled.loc[later, col] *= 1.5
    scrambled.loc[later, "volume"] *= 10
    assert features_at(minute_panel(scrambled, opening(), 390), [k], None, None).equals(full)


def test_volume_surge_against_the_time_of_day_profile(market: SyntheticMarket,
                                                      bars: pd.DataFrame) -> None:
    past = []
    for day in market.sessions[-4:-1]:
        open_utc = market_hours.session_open_close(day)[0]
        past.append(minute_panel(market.intraday_bars(market.symbols, day).data, open_utc, 390))
    profile = volume_profile(past)
    assert profile.shape.sum() == pytest.approx(1.0)
    assert profile.shape[0] > profile.shape[195]  # the U shape: busier open than lunch
    panel = minute_panel(bars, opening(), 390)
    loud = bars.copy()
    loud.loc[loud["symbol"] == panel.symbols[0], "volume"] *= 8
    quiet = features_at(panel, [120], profile, None).set_index("symbol")["vol_surge"]
    surged = features_at(minute_panel(loud, opening(), 390), [120], profile, None).set_index(
        "symbol")["vol_surge"]
    assert surged.iloc[0] == pytest.approx(quiet.iloc[0] + np.log(8), abs=0.01)
    assert surged.iloc[1:].equals(quiet.iloc[1:])


def test_labels_are_forward_returns(bars: pd.DataFrame) -> None:
    panel = minute_panel(bars, opening(), 390)
    y = forward_returns(panel, [30, 380], 30)
    assert y[0] == pytest.approx(np.log(panel.price[60] / panel.price[30]))
    assert y[1] == pytest.approx(np.log(panel.price[390] / panel.price[380]))  # cut at close


def test_checkpoints_outside_the_session_are_refused(bars: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="checkpoints"):
        features_at(minute_panel(bars, opening(), 30), [0], None, None)
