"""Long-only portfolio per horizon from the forecasts; pure.

Mean-variance with a shrunk covariance: maximise  w.mu - (risk_aversion / 2) w' S w  subject to
0 <= w_i <= max_weight and sum(w) <= 1; whatever is not invested is the cash weight. mu is
the model's expected return over the horizon, S the Ledoit-Wolf shrunk covariance of the last
`lookback` sessions' daily returns scaled to the horizon (x h sessions). Why these choices:
a sample covariance of hundreds of names over months is singular and its inverse chases noise;
Ledoit-Wolf shrinks it towards a scaled identity by an amount estimated from the data. The cap
keeps one confident forecast from becoming a one-stock bet, and the cash weight lets a weak or
negative set of forecasts say "stay out". Only the `max_names` best names with a positive
expected return are candidates: a long-only optimiser gives the rest (almost) nothing anyway,
and the problem stays small enough for SLSQP to solve in milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.covariance import LedoitWolf


@dataclass(frozen=True)
class PortfolioSpec:
    max_weight: float = 0.10
    risk_aversion: float = 5.0
    lookback: int = 126
    max_names: int = 40
    min_weight: float = 1e-4  # smaller weights are dropped to cash (untradeable dust)


def _covariance(returns: pd.DataFrame, names: list[str], lookback: int, h: int) -> np.ndarray:
    window = returns[names].iloc[-lookback:].fillna(0.0).to_numpy()
    return LedoitWolf().fit(window).covariance_ * h


def _solve(mu: np.ndarray, cov: np.ndarray, spec: PortfolioSpec) -> np.ndarray:
    lam = spec.risk_aversion

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        cw = cov @ w
        return float(-w @ mu + 0.5 * lam * w @ cw), -mu + lam * cw

    start = np.full(len(mu), min(spec.max_weight, 1.0 / len(mu)) / 2)
    res = minimize(objective, start, jac=True, method="SLSQP",
                   bounds=[(0.0, spec.max_weight)] * len(mu),
                   constraints=[{"type": "ineq", "fun": lambda w: 1.0 - w.sum(),
                                 "jac": lambda w: -np.ones_like(w)}],
                   options={"maxiter": 200, "ftol": 1e-12})
    return np.clip(res.x, 0.0, spec.max_weight)


def optimise_portfolio(expected: pd.Series, returns: pd.DataFrame, horizon_sessions: int,
                       spec: PortfolioSpec = PortfolioSpec()) -> dict[str, Any]:
    """Weights for one horizon.

    expected: index symbol, values expected return over the horizon (fraction).
    returns: wide daily returns (index date up to as_of, one column per symbol; NaN = no bar).
    Returns {"method", **spec, "weights": {symbol: weight} (descending), "cash",
    "expected_return", "volatility"} with the last two over the horizon, as fractions.
    """
    usable = [s for s in expected.index if s in returns.columns
              and returns[s].iloc[-spec.lookback:].notna().mean() >= 0.9]
    mu_all = expected.loc[usable]
    mu_all = mu_all[mu_all > 0].sort_values(ascending=False, kind="stable")
    names = sorted(mu_all.index[: spec.max_names])
    weights = pd.Series(dtype=float)
    exp_ret = vol = 0.0
    if len(names) >= 2 and len(returns) >= 20:
        mu = mu_all.loc[names].to_numpy()
        cov = _covariance(returns, names, spec.lookback, horizon_sessions)
        w = _solve(mu, cov, spec)
        w = np.where(w >= spec.min_weight, np.round(w, 6), 0.0)
        exp_ret, vol = float(w @ mu), float(np.sqrt(max(w @ cov @ w, 0.0)))
        weights = pd.Series(w, index=names)
        weights = weights[weights > 0].sort_values(ascending=False, kind="stable")
    return {"method": "mean_variance_ledoit_wolf", **asdict(spec),
            "weights": {s: float(v) for s, v in weights.items()},
            "cash": round(1.0 - float(weights.sum()), 6),
            "expected_return": round(exp_ret, 6), "volatility": round(vol, 6)}
