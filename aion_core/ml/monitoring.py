"""The live models' track record, drift and explanations: how past forecasts turned out.

Pure: frames and a fitted model in, frames out. The figures of a forecast against what
happened are aion_core.ml.evaluation's (rank IC, deciles, calibration table), applied here to
the nightly's prediction history instead of a walk-forward evaluation, so the Models page and
`aion evaluate` judge a signal by one set of definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aion_core.config import HORIZONS
from aion_core.ml.evaluation import (
    calibration_table,
    daily_ic,
    decile_returns,
    ic_summary,
    newey_west_se,
    nw_lags,
)
from aion_core.ml.labels import open_forward_returns
from aion_core.ml.model import COMPOSITE_INPUTS, Fitted

ROLLING_DATES = 20
"""Dates in the rolling mean of the realised rank IC: about a month of nightly runs."""
BAND_Z = 1.96
PSI_BINS = 10
PSI_FLAG = 0.2
"""PSI above this is the industry's usual "significant shift" threshold."""
PSI_FLOOR = 1e-4
"""Share given to an empty bin, so that ln(a / e) stays finite."""
RECENT_SESSIONS = 20


def realised_returns(bars: pd.DataFrame,
                     horizons: Mapping[str, int] = HORIZONS) -> pd.DataFrame:
    """What each horizon's forecast made at each close turned out to be.

    bars: long `symbol, date, open, close` (any order). Returns long `date, symbol, horizon,
    realised, realised_close`: `realised` the tradeable return, from the open of the
    symbol's next bar to the open n bars later (where the bots fill:
    aion_core.ml.labels.open_forward_returns), `realised_close` the close of the n-th later
    bar over the close at `date`, less one (the training label); rows whose tradeable return
    is known only.
    """
    bars = bars.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)
    tradeable = open_forward_returns(bars, dict(horizons))
    close = bars.groupby("symbol", sort=False)["close"]
    parts = [bars[["date", "symbol"]].assign(
        horizon=h, realised=tradeable[f"open_fwd_{h}"].to_numpy(),
        realised_close=(close.shift(-n) / bars["close"] - 1.0).to_numpy())
        for h, n in horizons.items()]
    return pd.concat(parts, ignore_index=True).dropna(subset=["realised"])


def track_frame(history: pd.DataFrame, realised: pd.DataFrame) -> pd.DataFrame:
    """Past predictions beside their outcomes.

    history: `as_of, symbol, horizon, expected_return, confidence` (prediction_history);
    realised: `realised_returns`. Returns `date, symbol, horizon, expected_return,
    confidence, realised` (and `realised_close` when given) for predictions whose horizon
    has passed.
    """
    preds = history.rename(columns={"as_of": "date"})[
        ["date", "symbol", "horizon", "expected_return", "confidence"]]
    preds = preds.assign(date=pd.to_datetime(preds["date"]).astype("datetime64[ns]"))
    right = realised.assign(date=pd.to_datetime(realised["date"]).astype("datetime64[ns]"))
    return preds.merge(right, on=["date", "symbol", "horizon"], how="inner")


@dataclass(frozen=True)
class TrackRecord:
    """The figures of the Models page's track record (returns over the horizon, fractions).

    ic: `horizon, date, ic, rank_ic, names, rolling, low, high` (rolling mean of rank IC over
    ROLLING_DATES dates and its BAND_Z x Newey-West band, lags 2h); decay: `horizon,
    sessions, days, mean_rank_ic, se, t, days_positive, mean_rank_ic_close` (judged on the
    tradeable return; the last on close-to-close, beside it); deciles: `horizon, decile,
    mean_return`;
    reliability: `horizon, low, high, rows, mean_confidence, hit_rate`.
    """

    predictions: int
    realised: int
    ic: pd.DataFrame
    decay: pd.DataFrame
    deciles: pd.DataFrame
    reliability: pd.DataFrame


def rolling_band(rank_ic: pd.Series, lags: int,
                 window: int = ROLLING_DATES) -> pd.DataFrame:
    """Rolling mean of a date-ordered rank IC series and its band, mean -/+ BAND_Z x the
    window's Newey-West s.e.: overlapping labels (a 4-week forecast shares 19 sessions with
    the next) make neighbouring ICs alike, and a plain s.e. would draw the band too narrow."""
    roll = rank_ic.rolling(window, min_periods=min(window, 5))
    mean = roll.mean()
    se = roll.apply(lambda x: newey_west_se(x, lags), raw=True)
    return pd.DataFrame({"rolling": mean, "low": mean - BAND_Z * se,
                         "high": mean + BAND_Z * se})


def track_record(frame: pd.DataFrame, predictions: int,
                 horizons: Mapping[str, int] = HORIZONS) -> TrackRecord:
    """Every figure of the track record from `track_frame` rows (`predictions`: how many
    were made in all, realised or not)."""
    ics, decay, deciles, reliability = [], [], [], []
    for h, n in horizons.items():
        rows = frame[frame["horizon"] == h]
        ic = daily_ic(rows, "expected_return").sort_values("date").reset_index(drop=True)
        ics.append(pd.concat([ic.assign(horizon=h), rolling_band(ic["rank_ic"], nw_lags(n))],
                             axis=1))
        s = ic_summary(ic, nw_lags(n))
        close = float("nan")
        if "realised_close" in rows and len(rows):
            close = ic_summary(daily_ic(rows, "expected_return", "realised_close"),
                               nw_lags(n))["mean_rank_ic"]
        decay.append({"horizon": h, "sessions": n, "days": s["days"],
                      "mean_rank_ic": s["mean_rank_ic"], "se": s["rank_ic_nw_se"],
                      "t": s["rank_ic_t"], "days_positive": s["days_positive"],
                      "mean_rank_ic_close": close})
        dec = decile_returns(rows, "expected_return")["deciles"]
        deciles += [{"horizon": h, "decile": d, "mean_return": r}
                    for d, r in enumerate(dec, 1)]
        reliability += [{"horizon": h, **r} for r in calibration_table(rows)]
    return TrackRecord(
        predictions=predictions, realised=len(frame),
        ic=pd.concat(ics, ignore_index=True).reindex(
            columns=["horizon", "date", "ic", "rank_ic", "names", "rolling", "low", "high"]),
        decay=pd.DataFrame(decay),
        deciles=pd.DataFrame(deciles, columns=["horizon", "decile", "mean_return"]),
        reliability=pd.DataFrame(reliability, columns=["horizon", "low", "high", "rows",
                                                       "mean_confidence", "hit_rate"]))


# --------------------------------------------------------------------------- drift


def psi(reference: np.ndarray, recent: np.ndarray, bins: int = PSI_BINS) -> float:
    """Population stability index of `recent` against `reference`: sum over bins of
    (a - e) ln(a / e), a and e the recent and reference shares.

    Bins are the reference's quantiles (equal shares where its values allow); empty bins
    count as PSI_FLOOR. Missing values are left out (`feature_drift` shows their shares):
    a feature still undefined in the history's warm-up months would otherwise read as
    drift. NaN when either sample has no finite value.
    """
    ref, new = np.asarray(reference, dtype=float), np.asarray(recent, dtype=float)
    ref, new = ref[np.isfinite(ref)], new[np.isfinite(new)]
    if not len(ref) or not len(new):
        return float("nan")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))

    def shares(x: np.ndarray) -> np.ndarray:
        counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=len(edges) + 1)
        return np.maximum(counts / len(x), PSI_FLOOR)

    e, a = shares(ref), shares(new)
    return float(np.sum((a - e) * np.log(a / e)))


#: A feature with one value per date (a macro series) drifts when most recent dates lie
#: outside the central RANGE_QUANTILES of its training dates' values.
RANGE_QUANTILES = (0.005, 0.995)
RANGE_FLAG = 0.5


def per_date(frame: pd.DataFrame, feature: str) -> bool:
    """Whether `feature` holds one value per date across the names (a macro series)."""
    counts = frame.groupby("date")[feature].nunique(dropna=True)
    return bool(len(counts)) and bool((counts <= 1).all())


def outside_range(reference: np.ndarray, recent: np.ndarray) -> float:
    """The share of `recent` values outside the central RANGE_QUANTILES of `reference`.

    Why not PSI for a once-a-day series: 20 sessions of a rate against five years of it hold
    a few neighbouring values, so their shares sit in one or two of ten bins and the PSI of
    every macro feature read 2.4-8.6, flagged always. What a tree model needs to know is
    whether it is asked about values it never saw: inside the training range it has splits
    for them; outside it extrapolates flat. NaN without values on either side."""
    ref, new = np.asarray(reference, dtype=float), np.asarray(recent, dtype=float)
    ref, new = ref[np.isfinite(ref)], new[np.isfinite(new)]
    if not len(ref) or not len(new):
        return float("nan")
    lo, hi = np.quantile(ref, RANGE_QUANTILES)
    return float(np.mean((new < lo) | (new > hi)))


@dataclass(frozen=True)
class Drift:
    """table: `feature, test` ("psi" for a per-name feature, "range" for a per-date one),
    `psi` (per-name), `outside_range` (per-date: share of recent dates outside the training
    range), `flagged` (psi > PSI_FLAG, or outside_range > RANGE_FLAG), `missing_reference`,
    `missing_recent` (shares of rows without a value), largest PSI first; the two windows'
    first and last session dates (reference None when the dataset has no such rows)."""

    table: pd.DataFrame
    reference: tuple[pd.Timestamp, pd.Timestamp] | None
    recent: tuple[pd.Timestamp, pd.Timestamp]


def feature_drift(dataset: pd.DataFrame, features: list[str], trained_through: str,
                  recent_sessions: int = RECENT_SESSIONS) -> Drift:
    """PSI of each feature between a model's training window and the last sessions.

    dataset: `date` and the feature columns, one row per (symbol, date). The reference is
    the training rows (dated <= trained_through) before the recent window, so the two
    samples share no row and a shift is not diluted by counting it on both sides.
    """
    sessions = np.sort(dataset["date"].unique())
    start = sessions[-min(recent_sessions, len(sessions))]
    new = dataset[dataset["date"] >= start]
    ref = dataset[(dataset["date"] <= pd.Timestamp(trained_through))
                  & (dataset["date"] < start)]
    daily = {f: per_date(dataset, f) for f in features}

    def dates(rows: pd.DataFrame, f: str) -> np.ndarray:
        return rows.groupby("date")[f].first().to_numpy()

    table = pd.DataFrame({
        "feature": features, "test": ["range" if daily[f] else "psi" for f in features],
        "psi": [np.nan if daily[f] else psi(ref[f].to_numpy(), new[f].to_numpy())
                for f in features],
        "outside_range": [outside_range(dates(ref, f), dates(new, f)) if daily[f] else np.nan
                          for f in features]})
    table["flagged"] = (table["psi"] > PSI_FLAG) | (table["outside_range"] > RANGE_FLAG)
    table["missing_reference"] = [float(ref[f].isna().mean()) if len(ref) else np.nan
                                  for f in features]
    table["missing_recent"] = [float(new[f].isna().mean()) for f in features]
    table = table.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
    return Drift(table=table,
                 reference=(ref["date"].min(), ref["date"].max()) if len(ref) else None,
                 recent=(pd.Timestamp(start), pd.Timestamp(sessions[-1])))


# --------------------------------------------------------------------------- explanation


@dataclass(frozen=True)
class Explanation:
    """One forecast of one model taken apart (returns over the horizon, fractions).

    model_return = base + contributions.sum() + drift: base is the trees' expected output
    over the training rows, each feature's contribution its SHAP value (LightGBM's
    pred_contrib), drift the training rows' mean return added back (aion_core.ml.model).
    table: `feature, value, contribution`, largest |contribution| first.
    """

    date: pd.Timestamp
    base: float
    drift: float
    model_return: float
    table: pd.DataFrame


def _contributions(fitted: Fitted, x: np.ndarray) -> np.ndarray:
    """Each feature's part of the excess forecast of one row `x`, then the base value:
    LightGBM's own (TreeSHAP); for the composite, exactly its slope times each known input's
    distance from the middle of its date, over the number of known inputs, base 0."""
    if fitted.booster is not None:
        return fitted.booster.predict(x, pred_contrib=True, num_threads=1)[0]
    inputs = np.array([f in COMPOSITE_INPUTS for f in fitted.features]) & np.isfinite(x[0])
    parts = np.where(inputs, fitted.slope * (x[0].astype(float) - 0.5), 0.0) \
        / max(int(inputs.sum()), 1)
    return np.r_[parts, 0.0]


def explain(fitted: Fitted, rows: pd.DataFrame) -> Explanation | None:
    """The feature contributions of `fitted`'s forecast for the latest of `rows` (one
    symbol's dataset rows: `date` and the model's features); None without rows."""
    if rows.empty:
        return None
    row = rows.loc[rows["date"] == rows["date"].max()].iloc[[-1]]
    x = row[fitted.features].to_numpy(dtype=np.float32)
    contrib = _contributions(fitted, x)
    table = pd.DataFrame({"feature": fitted.features, "value": x[0].astype(float),
                          "contribution": contrib[:-1]})
    table = table.reindex(table["contribution"].abs().sort_values(
        ascending=False, kind="stable").index).reset_index(drop=True)
    base = float(contrib[-1])
    return Explanation(date=pd.Timestamp(row["date"].iloc[0]), base=base, drift=fitted.drift,
                       model_return=base + float(contrib[:-1].sum()) + fitted.drift,
                       table=table)
