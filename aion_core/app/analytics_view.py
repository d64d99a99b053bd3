"""Read model of an evaluation's signal analytics, the Research page's tear sheet of a forecast.

`aion evaluate` writes, beside report.json, `analytics.parquet`: per horizon the daily series
of aion_core.ml.analytics (rank IC, the long-short book's gross and net returns, returns by
decile, each input's rank IC, the forecast's rank autocorrelation), long, on the rows and the
tradeable label the report judges. The loader reads it (None for a report written before it
existed); the pure functions below shape one horizon's part for a chart each. Returns stay
fractions here; the page shows them in % or bp.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from aion_core.app.views import loader
from aion_core.config import HORIZONS
from aion_core.store import Store, read_parquet


def _analytics_files(store: Store, eval_id: str) -> list[Path]:
    return [store.path("evaluation_analytics", eval_id=eval_id)]


@loader("evaluation_analytics", _analytics_files)
def load_evaluation_analytics(store: Store, paths: list[Path],
                              eval_id: str) -> pd.DataFrame | None:
    """analytics.parquet: `horizon, series, key, date, value` (aion_core.ml.analytics), None
    when the report predates it."""
    frame = read_parquet(paths[0])
    if frame is not None:
        frame["date"] = pd.to_datetime(frame["date"])
    return frame


def rerun_command(doc: dict[str, Any]) -> str:
    """The command that writes a report's analytics: the same evaluation again (with the
    data and the recipe unchanged its kept predictions are reused, so only the figures are
    recomputed). The model is named, as the id does (a composite's ends in `_composite`):
    AION_MODEL's default could pick the other one and start a new evaluation."""
    horizons = list(doc.get("horizons") or {})
    tag = "all" if horizons == list(HORIZONS) else ",".join(horizons)
    kind = "composite" if str(doc.get("id", "")).endswith("_composite") else "gbm"
    return (f"aion evaluate --start {doc.get('start')} --end {doc.get('end')} "
            f"--retrain-every {doc.get('retrain_every')} --horizon {tag} --model {kind}")


def horizons_in(frame: pd.DataFrame) -> list[str]:
    """The horizons the file holds, in HORIZONS' order."""
    present = set(frame["horizon"])
    return [h for h in HORIZONS if h in present]


def series(frame: pd.DataFrame, horizon: str, name: str) -> pd.DataFrame:
    """One horizon's series `name`, wide: index date (sorted), one column per key."""
    part = frame[(frame["horizon"] == horizon) & (frame["series"] == name)]
    return part.pivot(index="date", columns="key", values="value").sort_index()


def _daily(frame: pd.DataFrame, horizon: str, name: str) -> pd.Series:
    """A series with one value a date (rank IC, score autocorrelation); index date."""
    wide = series(frame, horizon, name)
    return wide.iloc[:, 0] if wide.shape[1] else pd.Series(dtype=float)


def ic_by_month(frame: pd.DataFrame, horizon: str) -> pd.DataFrame:
    """Mean daily rank IC per calendar month: index year, columns months 1-12 (NaN where the
    evaluation has no judged day), as the tear sheet's monthly returns."""
    ic = _daily(frame, horizon, "rank_ic")
    idx = pd.DatetimeIndex(ic.index)
    table = ic.groupby([idx.year, idx.month]).mean().unstack()
    return table.reindex(columns=range(1, 13)).rename_axis(index="year", columns="month")


def ic_by_year(frame: pd.DataFrame, horizon: str) -> pd.DataFrame:
    """Per calendar year: `year` (str), `mean_rank_ic` and `days` judged."""
    ic = _daily(frame, horizon, "rank_ic")
    years = pd.DatetimeIndex(ic.index).year
    out = ic.groupby(years).agg(["mean", "size"]).rename(
        columns={"mean": "mean_rank_ic", "size": "days"})
    return out.rename_axis("year").reset_index().astype({"year": str})


def long_short_curves(frame: pd.DataFrame, horizon: str) -> pd.DataFrame:
    """The decile long-short book's cumulative return, `gross` and `net` of costs (growth of
    1 less 1, compounded session by session); index decision date."""
    book = series(frame, horizon, "long_short")
    return (1.0 + book[["gross", "net"]]).cumprod() - 1.0


def _relative_deciles(frame: pd.DataFrame, horizon: str) -> pd.DataFrame:
    """Each date's decile returns less the mean of its ten deciles (about the universe's):
    the market's move taken out, as alphalens' demeaned returns. Index date, columns 1-10."""
    wide = series(frame, horizon, "decile")
    wide.columns = wide.columns.astype(int)
    wide = wide[sorted(wide.columns)]
    return wide.sub(wide.mean(axis=1), axis=0)


def decile_means(frame: pd.DataFrame, horizon: str) -> pd.Series:
    """Mean over dates of each decile's return relative to the date's mean (over the
    horizon, fractions); index decile 1 (lowest forecast) .. 10."""
    return _relative_deciles(frame, horizon).mean(axis=0).rename_axis("decile")


def deciles_by_month(frame: pd.DataFrame, horizon: str) -> pd.DataFrame:
    """The same per calendar month: index decile 1-10, columns the months' first days."""
    rel = _relative_deciles(frame, horizon)
    months = pd.DatetimeIndex(rel.index).to_period("M").to_timestamp()
    return rel.groupby(months).mean().T.rename_axis(index="decile", columns="month")


def feature_ics(frame: pd.DataFrame, horizon: str) -> pd.Series:
    """Each of the model's inputs' mean daily rank IC, smallest first (a horizontal bar
    chart draws the first at the bottom); index the input's column name."""
    return series(frame, horizon, "feature_ic").mean(axis=0).sort_values().rename_axis(
        "feature")


def score_autocorrelation(frame: pd.DataFrame, horizon: str) -> pd.Series:
    """The forecast's rank autocorrelation with the session before, per date."""
    return _daily(frame, horizon, "score_autocorr")
