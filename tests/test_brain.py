"""The brains: CONTRACT.md's rolling_brain shape, refusals, and the aion_brain additions."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from aion_core.errors import DataError
from aion_core.ml.brain import aion_brain, rolling_brain

NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
SYMBOLS = [f"S{i:02d}" for i in range(12)]


def predictions(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    er = np.sort(rng.normal(0.01, 0.02, len(SYMBOLS)))[::-1]
    return pd.DataFrame({"symbol": SYMBOLS, "expected_return": er,
                         "confidence": np.linspace(0.7, 0.5, len(SYMBOLS)),
                         "score": (er - er.mean()) / er.std(), "rank": range(1, 13)})


def meta(h: str) -> dict:
    return {"horizon": h, "trained_through": "2026-10-22",
            "validation": {"mean": {"ic": 0.041, "rank_ic": 0.052, "hit_rate": 0.52}}}


def brain() -> dict:
    preds = {h: predictions(i) for i, h in enumerate(["1w", "2w", "4w"])}
    return rolling_brain("2026-11-20", preds, {h: meta(h) for h in preds},
                         {s: 100.0 + i for i, s in enumerate(SYMBOLS)}, NOW)


def test_rolling_brain_has_exactly_the_contract_shape():
    doc = brain()
    assert list(doc) == ["schema", "generated_at", "as_of", "horizons", "models", "symbols"]
    assert doc["schema"] == 1 and doc["as_of"] == "2026-11-20"
    assert doc["generated_at"] == "2026-11-21T07:00:00+00:00"
    assert doc["horizons"] == ["1w", "2w", "4w"]
    assert doc["models"]["1w"] == {"trained_through": "2026-10-22",
                                   "validation": {"ic": 0.041, "rank_ic": 0.052}}
    entry = doc["symbols"]["S00"]
    assert entry["last_close"] == 100.0
    assert set(entry["predictions"]) == {"1w", "2w", "4w"}
    assert set(entry["predictions"]["1w"]) == {"expected_return", "confidence", "score", "rank"}
    assert entry["predictions"]["1w"]["rank"] == 1
    json.dumps(doc, allow_nan=False)


def test_a_non_finite_number_is_refused_by_name():
    bad = predictions()
    bad.loc[3, "expected_return"] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        rolling_brain("2026-11-20", {"1w": bad}, {"1w": meta("1w")},
                      {s: 1.0 for s in SYMBOLS}, NOW)


def test_aion_brain_adds_regime_and_a_portfolio_per_horizon():
    rng = np.random.default_rng(1)
    rets = pd.DataFrame(rng.normal(0, 0.01, (300, len(SYMBOLS))), columns=SYMBOLS,
                        index=pd.bdate_range("2025-09-01", periods=300))
    doc = aion_brain(brain(), rets)
    assert doc["symbols"] == brain()["symbols"]
    assert doc["regime"]["label"] in {"calm", "normal", "stressed"}
    assert set(doc["portfolio"]) == {"1w", "2w", "4w"}
    for book in doc["portfolio"].values():
        assert 0 <= book["cash"] <= 1
        assert all(0 < w <= book["max_weight"] + 1e-9 for w in book["weights"].values())
        positive = {s for s, v in doc["symbols"].items()}
        assert set(book["weights"]) <= positive
    json.dumps(doc, allow_nan=False)
