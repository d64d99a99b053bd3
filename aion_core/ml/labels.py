"""Labels: forward returns over each swing horizon, counted in the symbol's own sessions.

`fwd_<h>` at (symbol, t) = close_{t+n} / close_t - 1, where t+n is that symbol's n-th bar
after t (n = HORIZONS[h]); NaN where t+n is not in the data yet. These are the only columns
of the dataset that look forward: a model may train on a row only once its label is known,
i.e. when t+n <= as_of (the purge in aion_core.ml.model relies on it).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from aion_core.config import HORIZONS
from aion_core.ml.features import panel_arrays


def label_columns(horizons: Mapping[str, int] = HORIZONS) -> list[str]:
    return [f"fwd_{h}" for h in horizons]


def forward_returns(bars: pd.DataFrame, horizons: Mapping[str, int] = HORIZONS) -> pd.DataFrame:
    """Forward close-to-close returns of every bar.

    bars: long `symbol, date, open, high, low, close, volume`, sorted by (symbol, date).
    Returns a frame with a fresh RangeIndex, one row per input row in the same order:
    `symbol, date, fwd_<h>` for each horizon (float64 fractions, e.g. 0.012 = +1.2%).
    """
    p = panel_arrays(bars)  # checks the columns and the (symbol, date) order
    n = len(p.close)
    last_row = np.repeat(p.bounds[1:] - 1, np.diff(p.bounds))  # each row's symbol's last row
    rows = np.arange(n)
    out = {"symbol": bars["symbol"].to_numpy(), "date": bars["date"].to_numpy()}
    for name, steps in horizons.items():
        ahead = rows + steps
        known = ahead <= last_row
        fwd = np.full(n, np.nan)
        fwd[known] = p.close[ahead[known]] / p.close[known] - 1.0
        out[f"fwd_{name}"] = fwd
    return pd.DataFrame(out)
