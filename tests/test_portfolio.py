"""The long-only optimiser: caps, cash, and preferring better reward for the risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aion_core.ml.portfolio import PortfolioSpec, optimise_portfolio


def returns(n_names: int = 30, n_days: int = 200, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vols = np.linspace(0.01, 0.03, n_names)
    data = rng.normal(size=(n_days, n_names)) * vols + rng.normal(0, 0.005, (n_days, 1))
    return pd.DataFrame(data, index=pd.bdate_range("2024-01-01", periods=n_days),
                        columns=[f"S{i:02d}" for i in range(n_names)])


def test_weights_respect_the_cap_and_leave_the_rest_in_cash():
    rets = returns()
    expected = pd.Series(0.03, index=rets.columns)
    out = optimise_portfolio(expected, rets, 5)
    weights = np.array(list(out["weights"].values()))
    assert (weights > 0).all() and (weights <= 0.10 + 1e-9).all()
    assert out["cash"] == pytest.approx(1 - weights.sum(), abs=1e-6) and out["cash"] >= -1e-9
    assert out["max_weight"] == 0.10 and out["method"] == "mean_variance_ledoit_wolf"
    # equal forecasts: the calmer names get more weight
    assert out["weights"].get("S00", 0) >= out["weights"].get("S29", 0)


def test_negative_forecasts_mean_all_cash():
    rets = returns()
    out = optimise_portfolio(pd.Series(-0.01, index=rets.columns), rets, 5)
    assert out["weights"] == {} and out["cash"] == 1.0


def test_weak_forecasts_keep_more_cash_than_strong_ones():
    rets = returns()
    weak = optimise_portfolio(pd.Series(0.001, index=rets.columns), rets, 5)
    strong = optimise_portfolio(pd.Series(0.05, index=rets.columns), rets, 5)
    assert weak["cash"] > strong["cash"]
    assert strong["expected_return"] > weak["expected_return"]


def test_only_the_best_names_are_candidates():
    rets = returns()
    expected = pd.Series(np.linspace(0.001, 0.03, 30), index=rets.columns)
    out = optimise_portfolio(expected, rets, 5, PortfolioSpec(max_names=5))
    assert set(out["weights"]) <= {"S25", "S26", "S27", "S28", "S29"}
