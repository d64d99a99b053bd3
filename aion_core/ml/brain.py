"""The brains: CONTRACT.md's rolling_brain (predictions) and aion_brain (+ regime, portfolio).

Pure assembly of JSON-ready dicts from frames; the clock comes in as `now`. Floats are rounded
(returns to 1e-6, confidence and score to 1e-4) so files stay small and diffable, and
non-finite numbers are refused here rather than at write time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from aion_core.config import HORIZONS
from aion_core.errors import DataError
from aion_core.ml.portfolio import PortfolioSpec, optimise_portfolio
from aion_core.ml.regime import detect_regime

SCHEMA = 1


def _finite(value: float, digits: int) -> float:
    if not math.isfinite(value):
        raise DataError(f"non-finite number {value!r} in a brain")
    return round(float(value), digits)


def _model_entry(meta: Mapping[str, Any]) -> dict[str, Any]:
    mean = meta.get("validation", {}).get("mean", {})
    return {"trained_through": meta["trained_through"],
            "validation": {k: _finite(mean.get(k, 0.0), 6) for k in ("ic", "rank_ic")}}


def rolling_brain(as_of: str, predictions_by_h: Mapping[str, pd.DataFrame],
                  models_meta: Mapping[str, Mapping[str, Any]],
                  last_close: Mapping[str, float], now: datetime) -> dict[str, Any]:
    """CONTRACT.md's rolling_brain dict.

    predictions_by_h: horizon -> frame `symbol, expected_return, confidence, score, rank`
    (one row per symbol, as from model.predict). models_meta: horizon -> the model's metadata
    (model.Fitted.metadata()). last_close: symbol -> close at as_of. now: aware datetime
    written as generated_at (UTC); it is the only field that differs between two runs for
    the same as_of.
    """
    horizons = [h for h in HORIZONS if h in predictions_by_h]
    symbols: dict[str, dict[str, Any]] = {}
    for h in horizons:
        for row in predictions_by_h[h].itertuples(index=False):
            entry = symbols.setdefault(row.symbol, {
                "last_close": _finite(last_close[row.symbol], 6), "predictions": {}})
            entry["predictions"][h] = {
                "expected_return": _finite(row.expected_return, 6),
                "confidence": _finite(row.confidence, 4),
                "score": _finite(row.score, 4), "rank": int(row.rank)}
    return {
        "schema": SCHEMA,
        "generated_at": pd.Timestamp(now).tz_convert("UTC").isoformat(timespec="seconds"),
        "as_of": as_of, "horizons": horizons,
        "models": {h: _model_entry(models_meta[h]) for h in horizons},
        "symbols": {s: symbols[s] for s in sorted(symbols)},
    }


def aion_brain(rolling: Mapping[str, Any], returns: pd.DataFrame,
               spec: PortfolioSpec = PortfolioSpec(), seed: int = 7) -> dict[str, Any]:
    """The rolling brain plus `regime` (regime.detect_regime) and `portfolio` (per horizon,
    portfolio.optimise_portfolio on the brain's expected returns).

    returns: wide daily returns, index date (sessions up to the brain's as_of), a column per
    symbol (regime.daily_returns).
    """
    portfolio = {}
    for h in rolling["horizons"]:
        expected = pd.Series({s: v["predictions"][h]["expected_return"]
                              for s, v in rolling["symbols"].items() if h in v["predictions"]},
                             dtype=float)
        portfolio[h] = optimise_portfolio(expected, returns, HORIZONS[h], spec)
    return {**rolling, "regime": detect_regime(returns, seed=seed), "portfolio": portfolio}
