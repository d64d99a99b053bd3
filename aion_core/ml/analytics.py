"""The series behind a signal's tear sheet (alphalens, Qlib's analysis charts), computed on the
rows and the label an evaluation's report judges, so every chart agrees with its figures.

Pure: one horizon's judged rows (`aion_core.ml.evaluation.report`'s frame: `date, symbol,
expected_return, realised` with the model's ranked inputs beside them) and the model's
long-short book (`aion_core.ml.cohorts.book`) in, one long frame out (`COLUMNS`):

| series           | key                     | value, per date                                  |
| ---------------- | ----------------------- | ------------------------------------------------ |
| `rank_ic`        | ""                      | the model's rank IC against `realised`           |
| `long_short`     | `gross`, `net`          | the decile long-short book's return that session |
| `decile`         | `1` .. `10` (1 lowest)  | the decile's mean `realised` return              |
| `feature_ic`     | the input's column      | that input's rank IC against `realised`          |
| `score_autocorr` | ""                      | rank correlation of the forecast with the last   |

Returns are fractions; `realised` is over the horizon (open t+1 -> open t+1+h), the book's
over one session. Dates without a value (too few names) have no row: nothing is filled in.
"""

from __future__ import annotations

import pandas as pd

from aion_core.ml.evaluation import daily_ic, decile_means

COLUMNS = ["series", "key", "date", "value"]
#: Sessions between the two forecasts of the score autocorrelation (score_autocorrelation).
AUTOCORR_LAG = 1


def score_autocorrelation(frame: pd.DataFrame, signal: str = "expected_return",
                          lag: int = AUTOCORR_LAG) -> pd.Series:
    """Per date, the rank correlation of each name's forecast with its forecast `lag` dates
    earlier (the dates of `frame`, i.e. sessions), over the names that have both: alphalens'
    factor rank autocorrelation. frame: `date, symbol, <signal>`; index date.

    Lag 1 whatever the horizon, as alphalens draws it: one scale for the three horizons, read
    as how much of the ranking survives a session. Each session the book renews 1/h of itself
    (aion_core.ml.cohorts), so it is how fast the signal turns over, the cost's driver; the
    turnover the book actually paid is in the report's `portfolios`.
    """
    wide = frame.pivot(index="date", columns="symbol", values=signal).sort_index()
    pairs = pd.DataFrame({"now": wide.stack(), "before": wide.shift(lag).stack()})
    ic = daily_ic(pairs.rename_axis(["date", "symbol"]).reset_index(), "before", "now")
    return ic.set_index("date")["rank_ic"]


def feature_ics(frame: pd.DataFrame, features: list[str],
                realised: str = "realised") -> pd.DataFrame:
    """Each input's daily rank IC against `realised`: index date, one column per feature."""
    return pd.DataFrame({f: daily_ic(frame, f, realised).set_index("date")["rank_ic"]
                         for f in features})


def long_rows(series: str, wide: pd.DataFrame) -> pd.DataFrame:
    """A date x key frame as COLUMNS rows of `series`, missing values dropped."""
    out = wide.rename_axis(index="date", columns="key").stack().rename("value").reset_index()
    out = out.dropna(subset=["value"]).assign(series=series)
    return out.assign(key=out["key"].astype(str), value=out["value"].astype(float))[COLUMNS]


def signal_analytics(rows: pd.DataFrame, long_short: pd.DataFrame, features: list[str],
                     signal: str = "expected_return") -> pd.DataFrame:
    """Every series of the module docstring's table for one horizon.

    rows: judged rows, `date, symbol, <signal>, realised` and the `features` columns;
    long_short: cohorts.book's frame of the model's decile long-short book (index decision
    dates, `gross` and `net` session returns)."""
    ic = daily_ic(rows, signal).set_index("date")["rank_ic"]
    parts = [long_rows("rank_ic", ic.to_frame("")),
             long_rows("long_short", long_short[["gross", "net"]]),
             long_rows("decile", decile_means(rows, signal)),
             long_rows("feature_ic", feature_ics(rows, features)),
             long_rows("score_autocorr", score_autocorrelation(rows, signal).to_frame(""))]
    return pd.concat(parts, ignore_index=True)
