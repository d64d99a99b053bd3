"""Regimes: labelled by volatility, probabilities that add up, history for display."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aion_core.ml.regime import LABELS, daily_returns, detect_regime, market_index


def regime_returns(seed: int = 4) -> pd.DataFrame:
    """Calm, normal, stressed, calm (ending calm), 20 names moving together."""
    rng = np.random.default_rng(seed)
    vol = np.concatenate([np.full(300, 0.004), np.full(200, 0.012), np.full(120, 0.03),
                          np.full(200, 0.004)])
    market = rng.normal(0, 1, len(vol)) * vol
    data = market[:, None] + rng.normal(0, 0.002, (len(vol), 20))
    return pd.DataFrame(data, index=pd.bdate_range("2022-01-03", periods=len(vol)),
                        columns=[f"S{i}" for i in range(20)])


def test_the_stressed_spell_is_labelled_stressed_and_today_is_calm():
    out = detect_regime(regime_returns(), history=1000)
    labels = pd.Series({h["date"]: h["label"] for h in out["history"]})  # from raw day 19
    assert (labels.iloc[330:460] == "normal").mean() > 0.9
    assert (labels.iloc[530:590] == "stressed").mean() > 0.9
    assert (labels.iloc[-100:] == "calm").mean() > 0.9
    assert out["label"] == "calm" and out["as_of"] == labels.index[-1]
    assert set(out["probabilities"]) == set(LABELS)
    assert sum(out["probabilities"].values()) == pytest.approx(1, abs=1e-3)


def test_same_input_same_answer_and_a_short_history_is_unknown():
    rets = regime_returns()
    assert detect_regime(rets) == detect_regime(rets)
    assert len(detect_regime(rets)["history"]) == 252
    assert detect_regime(rets.iloc[:100])["label"] == "unknown"


def test_index_and_returns_from_bars():
    bars = pd.DataFrame({"symbol": ["A", "A", "A", "B", "B", "B"],
                         "date": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"] * 2),
                         "close": [10.0, 11.0, 11.0, 20.0, 19.0, 19.0]})
    rets = daily_returns(bars)
    assert rets.loc["2024-01-03", "A"] == pytest.approx(0.1)
    assert rets.loc["2024-01-03", "B"] == pytest.approx(-0.05)
    wide = pd.DataFrame(np.random.default_rng(1).normal(size=(40, 3)))
    index = market_index(wide)
    assert len(index) == 40 - 19
    assert index["ret"].iloc[-1] == pytest.approx(wide.iloc[-1].mean())
