"""aion_core/ingest/normalise.py: what an import keeps of a file, per kind."""

from __future__ import annotations

import pandas as pd

from aion_core.ingest import normalise


def test_a_macro_value_that_is_not_a_finite_plausible_number_is_dropped():
    """inf, -inf and 1e308 were stored and the nightly then reported ok on them."""
    frame = pd.DataFrame({"date": ["1700-01-01", "2024-01-02", "2024-01-03", "2024-01-04",
                                   "2024-01-05"], "value": ["1.0", "inf", "-inf", "1e308",
                                                            "4.1"]})
    series = normalise.macro_series(frame, "dgs10")["DGS10"]
    assert series["value"].tolist() == [4.1]
    assert series["date"].tolist() == [pd.Timestamp("2024-01-05")]
