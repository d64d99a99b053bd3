"""An evaluation's analytics.parquet whose every chart has an answer known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from aion_core.ml.analytics import COLUMNS
from aion_core.store import Store, write_parquet

#: November 2025 to February 2026: two calendar years, four months.
DATES = pd.bdate_range("2025-11-03", "2026-02-27")
FEATURES = {"rank_resid_rev5": 0.02, "rank_resid_vol60": -0.01}
GROSS, NET, AUTOCORR = 0.001, 0.0005, 0.9


def rank_ic_of(day: pd.Timestamp) -> float:
    """The 1w rank IC of a day: its month over 100 (November 0.11, January 0.01)."""
    return day.month / 100


def decile_return(day: pd.Timestamp, decile: int) -> float:
    """A market move that differs every day plus 10 bp a decile above the lowest."""
    return 0.01 * np.sin(day.day_of_year) + 0.001 * (decile - 1)


def analytics_frame(sign: float = 1.0) -> pd.DataFrame:
    """One horizon's series (aion_core.ml.analytics' long frame); `sign` flips the ICs."""
    rows = []
    for day in DATES:
        rows += [("rank_ic", "", day, sign * rank_ic_of(day)),
                 ("long_short", "gross", day, GROSS), ("long_short", "net", day, NET),
                 ("score_autocorr", "", day, AUTOCORR),
                 *[("decile", str(d), day, decile_return(day, d)) for d in range(1, 11)],
                 *[("feature_ic", f, day, sign * ic) for f, ic in FEATURES.items()]]
    return pd.DataFrame(rows, columns=COLUMNS)


def write_analytics(store: Store, eval_id: str) -> pd.DataFrame:
    """1w as analytics_frame(), 4w with the ICs flipped; written as `aion evaluate` does."""
    frame = pd.concat([analytics_frame().assign(horizon="1w"),
                       analytics_frame(-1.0).assign(horizon="4w")], ignore_index=True)
    frame = frame[["horizon", *COLUMNS]]
    write_parquet(store.path("evaluation_analytics", eval_id=eval_id), frame)
    return frame
