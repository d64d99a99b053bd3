"""aion_core.ml.evaluation: the report of a universe too small for some figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from aion_core.ml.evaluation import report


def test_a_universe_too_small_for_deciles_reports_none_not_nan():
    """Eight names cannot fill ten deciles: the report says so with null, and stays JSON."""
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2017-01-02", periods=30)
    frame = pd.DataFrame([(d, f"S{i}") for d in dates for i in range(8)],
                         columns=["date", "symbol"])
    for col in ("expected_return", "realised", "reversal", "momentum"):
        frame[col] = rng.normal(0, 0.01, len(frame))
    frame["confidence"] = rng.uniform(0.45, 0.6, len(frame))
    doc = report(frame, 5)
    assert doc["all"]["model"]["top_minus_bottom"] is None
    assert doc["all"]["model"]["mean_rank_ic"] is not None
    json.dumps(doc, allow_nan=False)  # raises on any NaN left
