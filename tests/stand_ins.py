"""Stand-ins the replay tests share: a model that needs no training."""

from __future__ import annotations

from typing import Any

import pandas as pd

from jobs.replay import Market


def truth_predictor(market_obj: Any, m: Market):
    """Predictions from the synthetic market's hidden signal at the close before each
    session: a stand-in model that knows only the past (the signal is known at its close)."""
    truth = market_obj.truth().pivot(index="date", columns="symbol", values="signal")

    def predict(session, horizons):
        row = truth.loc[m.previous(session)]
        frame = pd.DataFrame({"expected_return": row * 0.01, "confidence": 0.9})
        return {h: frame for h in horizons}

    return predict
