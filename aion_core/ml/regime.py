"""Market regime: a Gaussian hidden Markov model on the equal-weight index; pure.

Why an HMM: regimes (quiet bull, choppy, crisis) persist for weeks and show up jointly in the
index's return and its volatility; an HMM models exactly that persistence, and its posterior
gives a probability per regime rather than a hard switch. Three states, labelled after fitting
by their mean 20-session volatility (lowest = calm, highest = stressed), so labels mean the
same thing from one run to the next whatever order the fit found the states in.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from hmmlearn.hmm import GaussianHMM

LABELS = ("calm", "normal", "stressed")
VOL_WINDOW = 20
MIN_OBSERVATIONS = 120
"""Fewer sessions than this cannot separate three regimes; the regime is then 'unknown'."""


def daily_returns(bars: pd.DataFrame) -> pd.DataFrame:
    """Close-to-close simple returns, wide: index `date` (sessions), one column per symbol,
    NaN where a symbol has no bar on the day or the day before.

    bars: long `symbol, date, close` (other columns ignored), one row per (symbol, session).
    """
    close = bars.pivot(index="date", columns="symbol", values="close").sort_index()
    return close.pct_change(fill_method=None)


def market_index(returns: pd.DataFrame) -> pd.DataFrame:
    """The equal-weight index: index `date`; columns `ret` (mean return of the names trading
    that day, a fraction) and `vol_20d` (sample std of `ret` over 20 sessions, daily units).
    Rows before the volatility is defined are dropped."""
    ret = returns.mean(axis=1, skipna=True)
    out = pd.DataFrame({"ret": ret, "vol_20d": ret.rolling(VOL_WINDOW).std(ddof=1)})
    return out.dropna()


def _fit_hmm(obs: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Posterior state probabilities (rows x 3) and each state's mean volatility."""
    scaled = (obs - obs.mean(axis=0)) / np.where(obs.std(axis=0) > 0, obs.std(axis=0), 1.0)
    hmm = GaussianHMM(n_components=len(LABELS), covariance_type="diag", n_iter=100,
                      tol=1e-4, random_state=seed)
    logging.getLogger("hmmlearn").setLevel(logging.ERROR)  # convergence chatter, not news
    hmm.fit(scaled)
    return hmm.predict_proba(scaled), hmm.means_[:, 1]


def detect_regime(returns: pd.DataFrame, history: int = 252, seed: int = 7) -> dict[str, Any]:
    """Today's regime, its probabilities and the recent history.

    returns: wide daily returns as from `daily_returns` (only sessions up to as_of).
    Returns {"model", "as_of", "label", "probabilities": {calm, normal, stressed},
    "history": [{"date", "label", "probabilities"}] for the last `history` sessions}.
    The current probabilities are the filtered ones (the last row of a forward-backward pass
    has no future to smooth with); earlier history rows are smoothed, i.e. with hindsight, and
    are meant for display, not for backtests.
    """
    index = market_index(returns)
    model = {"name": "gaussian_hmm", "states": len(LABELS), "inputs": ["ret", "vol_20d"],
             "seed": seed}
    if len(index) < MIN_OBSERVATIONS:
        return {"model": model, "as_of": None, "label": "unknown", "probabilities": {},
                "history": []}
    proba, vol_means = _fit_hmm(index[["ret", "vol_20d"]].to_numpy(), seed)
    order = np.argsort(vol_means, kind="stable")  # state ids from calm to stressed
    proba = np.round(proba[:, order], 4)
    labels = np.array(LABELS)[proba.argmax(axis=1)]
    dates = index.index.strftime("%Y-%m-%d")
    hist = [{"date": d, "label": str(lab), "probabilities": dict(zip(LABELS, map(float, p),
                                                                      strict=True))}
            for d, lab, p in zip(dates[-history:], labels[-history:], proba[-history:],
                                 strict=True)]
    return {"model": model, "as_of": dates[-1], "label": hist[-1]["label"],
            "probabilities": hist[-1]["probabilities"], "history": hist}
