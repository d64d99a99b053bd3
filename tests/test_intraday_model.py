"""The intraday model: a planted relation is learned, noise is not, and JSON round-trips."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from aion_core.ml.intraday_features import FEATURES
from aion_core.ml.intraday_model import (
    fit_linear,
    information_coefficient,
    model_document,
    model_from_document,
    train_model,
)
from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec


def frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(rng.standard_normal((n, len(FEATURES))), columns=FEATURES)


def test_a_planted_relation_is_learned_and_confidence_follows_it() -> None:
    rng = np.random.default_rng(3)
    x = frame(rng, 4000)
    y = 0.002 * x["ret_15"].to_numpy() + 0.001 * rng.standard_normal(4000)
    model = fit_linear(x, y)
    assert model.coef[FEATURES.index("ret_15")] > 0.0015
    test = frame(rng, 1000)
    pred = model.predict(test)
    assert information_coefficient(np.log1p(pred["expected_return"].to_numpy()),
                                   0.002 * test["ret_15"].to_numpy()) > 0.99
    up = pred["expected_return"] > 0
    assert (pred.loc[up, "confidence"] > 0.5).all() and (pred.loc[~up, "confidence"] < 0.5).all()


def test_noise_gives_confidence_near_one_half() -> None:
    rng = np.random.default_rng(4)
    model = fit_linear(frame(rng, 3000), 0.001 * rng.standard_normal(3000))
    conf = model.predict(frame(rng, 500))["confidence"]
    assert conf.between(0.4, 0.6).all()


def test_too_few_rows_are_refused() -> None:
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="too few"):
        fit_linear(frame(rng, 5), rng.standard_normal(5))


def test_brain_trains_on_past_sessions_only_and_round_trips_through_json() -> None:
    market = SyntheticMarket(SyntheticSpec(n_symbols=5, years=0.2, end=date(2026, 11, 20)))
    sessions = list(market.sessions[-4:])
    asked: list[pd.Timestamp] = []

    def read(day: pd.Timestamp) -> pd.DataFrame:
        asked.append(day)
        return market.intraday_bars(market.symbols, day).data

    brain = train_model(read, sessions, lambda day: None)
    assert asked == sessions and brain.trained_through == "2026-11-20"
    assert brain.sessions == [d.date().isoformat() for d in sessions]
    assert brain.validation["session"] == "2026-11-20" and brain.validation["ic"] is not None
    assert brain.model.n_rows == 4 * 5 * len(range(15, 390 - 30 + 1, 15))
    doc = json.loads(json.dumps(model_document(brain, pd.Timestamp("2026-11-21", tz="UTC"))))
    again = model_from_document(doc)
    rows = frame(np.random.default_rng(6), 20) * 0.01
    assert again.model.predict(rows).equals(brain.model.predict(rows))
    assert np.allclose(again.profile.shape, brain.profile.shape)
    assert train_model(read, [], lambda day: None) is None
