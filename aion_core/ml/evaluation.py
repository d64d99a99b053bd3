"""Out-of-sample figures of a forecast, as an analyst judges a cross-sectional signal.

Pure: a frame of predictions with the realised forward return of each (date, symbol) in,
the report's figures out. The realised return is the tradeable one (`realised`: open t+1 to
open t+1+h, where the bots fill; aion_core.ml.labels), with close-to-close beside it
(`realised_close`) on the same rows.

Errors: the daily rank IC series is autocorrelated, both because an h-session label overlaps
the next h-1 sessions' and because the signal itself persists: on the S&P 500 dev years the
1w daily IC's autocorrelation was 0.49 / 0.39 / 0.29 / 0.13 at lags 1-4 and still positive
past h. So the standard error is Newey-West's with lags = 2h (a lag of h-1 gave t-statistics
11-15 % too high), and a second t uses only every h-th date (non-overlapping labels, plain
standard error) as a check that leans on no kernel. Confidence is judged by the question it
answers (aion_core.ml.calibration): does a name land on the predicted side of its date's
median, bin by bin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from aion_core.ml.calibration import MIN_NAMES_PER_DATE, cross_sectional_position

DECILES = 10
CONFIDENCE_BINS = (0.0, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.6, 1.0)
#: Every baseline a report judges beside the model, on the same rows and label.
BASELINES = ("composite", "reversal", "reversal_20", "resid_reversal", "momentum")


def newey_west_se(values: np.ndarray, lags: int) -> float:
    """Standard error of the mean of a series with autocorrelation up to `lags` (Bartlett
    weights); the plain s.e. when lags is 0. NaN for fewer than two values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 2:
        return float("nan")
    d = x - x.mean()
    var = d @ d / n
    for lag in range(1, min(lags, n - 1) + 1):
        var += 2.0 * (1.0 - lag / (lags + 1.0)) * (d[lag:] @ d[:-lag]) / n
    return float(np.sqrt(max(var, 0.0) / n))


def daily_ic(frame: pd.DataFrame, signal: str, realised: str = "realised") -> pd.DataFrame:
    """Per date: Pearson IC, rank (Spearman) IC and the number of names, for dates with at
    least MIN_NAMES_PER_DATE names with both values."""
    ok = frame[["date", signal, realised]].dropna()
    ok = ok[ok.groupby("date")[signal].transform("size") >= MIN_NAMES_PER_DATE]
    ranks = ok.groupby("date")[[signal, realised]].rank(method="average")
    work = pd.DataFrame({"date": ok["date"], "a": ok[signal], "b": ok[realised],
                         "ra": ranks[signal], "rb": ranks[realised]})

    def corr(x: str, y: str) -> pd.Series:
        g = work.groupby("date")
        dx = work[x] - g[x].transform("mean")
        dy = work[y] - g[y].transform("mean")
        sums = pd.DataFrame({"date": work["date"], "xy": dx * dy, "xx": dx * dx,
                             "yy": dy * dy}).groupby("date").sum()
        denom = np.sqrt(sums["xx"] * sums["yy"])
        return (sums["xy"] / denom).where(denom > 0)

    out = pd.DataFrame({"ic": corr("a", "b"), "rank_ic": corr("ra", "rb"),
                        "names": work.groupby("date").size()})
    return out.dropna().reset_index()


def nw_lags(horizon_sessions: int) -> int:
    """Newey-West lags for an h-session label: 2h (the module docstring says why)."""
    return 2 * horizon_sessions


def non_overlapping_t(values: np.ndarray, step: int) -> tuple[float, int]:
    """The t-statistic of the mean of every `step`-th value (from the first), whose labels do
    not overlap, with the plain standard error; and how many values it used."""
    x = np.asarray(values, dtype=float)[::max(step, 1)]
    x = x[np.isfinite(x)]
    if len(x) < 2 or x.std(ddof=1) == 0:
        return float("nan"), int(len(x))
    return float(x.mean() / (x.std(ddof=1) / np.sqrt(len(x)))), int(len(x))


def ic_summary(ic: pd.DataFrame, lags: int, step: int = 1) -> dict[str, float]:
    """Mean rank IC and IC, their Newey-West s.e. and t, the rank IC's t on every `step`-th
    date (non-overlapping labels), rank ICIR, share of days > 0."""
    out: dict[str, float] = {"days": int(len(ic))}
    for key in ("rank_ic", "ic"):
        x = ic[key].to_numpy(dtype=float) if len(ic) else np.array([])
        mean = float(x.mean()) if len(x) else float("nan")
        se = newey_west_se(x, lags)
        out[f"mean_{key}"] = mean
        out[f"{key}_nw_se"] = se
        out[f"{key}_t"] = mean / se if se and np.isfinite(se) and se > 0 else float("nan")
    x = ic["rank_ic"].to_numpy(dtype=float) if len(ic) else np.array([])
    out["rank_ic_t_nonoverlap"], out["nonoverlap_days"] = non_overlapping_t(x, step)
    out["rank_icir"] = float(x.mean() / x.std(ddof=1)) if len(x) > 1 and x.std(ddof=1) > 0 \
        else float("nan")
    out["days_positive"] = float((x > 0).mean()) if len(x) else float("nan")
    return out


def decile_means(frame: pd.DataFrame, signal: str,
                 realised: str = "realised") -> pd.DataFrame:
    """Each date's mean realised return per prediction decile: index date, columns the
    deciles 1 (lowest) .. DECILES (returns over the horizon, fractions); only dates with at
    least DECILES names, so every decile holds one."""
    ok = frame[["date", signal, realised]].dropna()
    ok = ok[ok.groupby("date")[signal].transform("size") >= DECILES]
    pct = ok.groupby("date")[signal].rank(method="first", pct=True)
    decile = np.minimum(np.ceil(pct * DECILES).astype(int), DECILES)
    means = ok.assign(decile=decile).groupby(["date", "decile"])[realised].mean().unstack()
    return means.reindex(columns=range(1, DECILES + 1))


def decile_returns(frame: pd.DataFrame, signal: str,
                   realised: str = "realised") -> dict[str, Any]:
    """Mean over dates of each prediction decile's mean realised return (1 = lowest), and
    the top-minus-bottom spread (returns over the horizon, fractions)."""
    means = decile_means(frame, signal, realised)
    if means.empty:
        return {"deciles": [], "top_minus_bottom": float("nan")}
    per = means.mean(axis=0)
    return {"deciles": [float(per.get(d, np.nan)) for d in range(1, DECILES + 1)],
            "top_minus_bottom": float((means[DECILES] - means[1]).mean())}


def calibration_table(frame: pd.DataFrame, signal: str = "expected_return",
                      realised: str = "realised") -> list[dict[str, float]]:
    """Confidence bins against the realised hit rate: a hit is a name landing on the side of
    its date's median that its place in the forecast's cross-section said."""
    ok = frame[["date", signal, realised, "confidence"]].dropna()
    if ok.empty:
        return []
    position = cross_sectional_position(ok["date"].to_numpy(), ok[signal].to_numpy())
    excess = ok[realised] - ok.groupby("date")[realised].transform("median")
    decided = (position != 0) & (excess.to_numpy() != 0)
    hit = np.sign(position) == np.sign(excess.to_numpy())
    bins = pd.cut(ok["confidence"], CONFIDENCE_BINS, include_lowest=True)
    rows = []
    for interval, idx in ok[decided].groupby(bins[decided], observed=True).groups.items():
        sel = ok.index.get_indexer(idx)
        rows.append({"low": float(interval.left), "high": float(interval.right),
                     "rows": int(len(idx)),
                     "mean_confidence": float(ok["confidence"].to_numpy()[sel].mean()),
                     "hit_rate": float(hit[sel].mean())})
    return rows


def signal_figures(frame: pd.DataFrame, signal: str, lags: int, step: int = 1,
                   realised: str = "realised") -> dict[str, Any]:
    """Every figure of one signal on `frame` (`date, <signal>, <realised>`)."""
    ic = daily_ic(frame, signal, realised)
    return {**ic_summary(ic, lags, step), **decile_returns(frame, signal, realised)}


#: What `realised` is, as the report says it.
TRADEABLE_LABEL = "open t+1 -> open t+1+h"


def report(frame: pd.DataFrame, horizon_sessions: int,
           baselines: tuple[str, ...] = BASELINES) -> dict[str, Any]:
    """The model's and the baselines' figures on one horizon's rows: overall and per
    calendar year on the tradeable label, and overall on close-to-close (`close_to_close`).
    frame: `date, symbol, expected_return, confidence, realised` (tradeable), optionally
    `realised_close`, and one column per baseline; rows where everything is known (the
    baselines are judged on the very days and names the model is)."""
    lags, step = nw_lags(horizon_sessions), horizon_sessions
    years = sorted(pd.DatetimeIndex(frame["date"]).year.unique())

    def block(rows: pd.DataFrame, realised: str = "realised",
              calibrated: bool = True) -> dict[str, Any]:
        model = signal_figures(rows, "expected_return", lags, step, realised)
        if calibrated:
            model["calibration"] = calibration_table(rows, realised=realised)
        return {"model": model, **{b: signal_figures(rows, b, lags, step, realised)
                                   for b in baselines if b in rows}}

    doc = {"rows": int(len(frame)), "label": TRADEABLE_LABEL, "newey_west_lags": lags,
           "all": block(frame),
           "by_year": {str(y): block(frame[pd.DatetimeIndex(frame["date"]).year == y])
                       for y in years}}
    doc["versus"] = {b: paired(frame, b, lags) for b in baselines if b in frame}
    if "realised_close" in frame:
        doc["close_to_close"] = {"all": block(frame, "realised_close", calibrated=False)}
    doc = finite_or_none(doc)
    doc["verdict"] = verdict(doc)
    return doc


def finite_or_none(value: Any) -> Any:
    """NaN (too few names for deciles, too few days for a t) as None: JSON has no NaN, and
    the store refuses to write one, so a small universe's report would not be kept at all."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_or_none(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def baseline_signals(bars: pd.DataFrame) -> pd.DataFrame:
    """The textbook signals, known at each bar's close: short-term reversal, minus the 5- and
    the 20-session return (`reversal`, `reversal_20`); and 12-1 momentum, the return from 252
    to 21 sessions back (the last month skipped, as its reversal would cancel it). bars
    sorted by (symbol, date)."""
    close = bars.groupby("symbol", sort=False)["close"]
    return pd.DataFrame({
        "symbol": bars["symbol"].to_numpy(), "date": bars["date"].to_numpy(),
        "reversal": -(bars["close"] / close.shift(5) - 1.0).to_numpy(),
        "reversal_20": -(bars["close"] / close.shift(20) - 1.0).to_numpy(),
        "momentum": (close.shift(21) / close.shift(252) - 1.0).to_numpy(),
    })


def model_input_signals(frame: pd.DataFrame, ranked_inputs: list[str]) -> pd.DataFrame:
    """The baselines made of the model's own inputs: `composite`, the equal-weight mean of
    its ranked inputs (no parameter, no training: what the model must beat to earn its
    complexity), and `resid_reversal`, its 5-session residual reversal rank alone.
    frame: the dataset's `symbol, date` and those columns."""
    return pd.DataFrame({"symbol": frame["symbol"].to_numpy(), "date": frame["date"].to_numpy(),
                         "composite": frame[ranked_inputs].mean(axis=1).to_numpy(),
                         "resid_reversal": frame["rank_resid_rev5"].to_numpy()})


def paired(frame: pd.DataFrame, other: str, lags: int, realised: str = "realised"
           ) -> dict[str, float]:
    """The model's daily rank IC minus `other`'s on the same dates: its mean, Newey-West
    t (lags as the report's) and share of dates the model wins."""
    a = daily_ic(frame, "expected_return", realised).set_index("date")["rank_ic"]
    b = daily_ic(frame, other, realised).set_index("date")["rank_ic"]
    diff = (a - b).dropna().to_numpy()
    se = newey_west_se(diff, lags)
    mean = float(diff.mean()) if len(diff) else float("nan")
    return {"mean_difference": mean,
            "t": mean / se if se and np.isfinite(se) and se > 0 else float("nan"),
            "days_model_ahead": float((diff > 0).mean()) if len(diff) else float("nan")}


def verdict(doc: dict[str, Any]) -> str:
    """The report's first line: does the model beat the composite and the best baseline on
    the tradeable label, by a paired t of at least 2."""
    figures = doc["all"]
    present = [b for b in BASELINES if b in figures]
    if not present or figures["model"].get("mean_rank_ic") is None:
        return "no verdict: too few judged days"
    best = max(present, key=lambda b: figures[b].get("mean_rank_ic") or -np.inf)
    parts = []
    for name in dict.fromkeys(["composite", best]):
        if name not in figures:
            continue
        test = doc["versus"][name]
        beats = test["t"] is not None and test["t"] >= 2.0
        ahead = not beats and (test["mean_difference"] or 0.0) > 0
        word = "beats" if beats else "ahead of, not significantly," if ahead \
            else "does not beat"
        parts.append(f"{word} {name} "
                     f"({_num(test['mean_difference'], '+.4f')} rank IC a day, paired NW t "
                     f"{_num(test['t'], '+.2f')})")
    return f"model {_num(figures['model']['mean_rank_ic'], '+.4f')} rank IC ({doc['label']}): " \
        + "; ".join(parts) + f"; best baseline {best} " \
        f"{_num(figures[best]['mean_rank_ic'], '+.4f')}"


def _num(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)
