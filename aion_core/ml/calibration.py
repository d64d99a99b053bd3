"""Judging predictions against what happened: cross-sectional quality figures and confidence.

Pure functions on aligned 1-D arrays (one element per (date, symbol) row). Two uses:

- `cross_sectional_metrics` gives the walk-forward folds' honest out-of-sample figures. A
  stock-picking model is judged per date, across names (the market's common move is not
  something it is asked to forecast), so IC and rank IC are means of per-date correlations.
- `Calibration` turns a forecast's place in its cross-section into the probability that the
  name really lands on that side of the median,
  learnt on validation folds only, and stored as plain numbers in the model's metadata JSON
  (no pickle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

MIN_NAMES_PER_DATE = 3
"""A date with fewer names has no meaningful cross-section and is left out of IC figures."""


def _per_date_corr(keys: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of `a` and `b` within each date (vectorised group sums)."""
    frame = pd.DataFrame({"k": keys, "a": a, "b": b})
    grouped = frame.groupby("k", sort=True)
    da = frame["a"] - grouped["a"].transform("mean")
    db = frame["b"] - grouped["b"].transform("mean")
    sums = pd.DataFrame({"k": keys, "ab": da * db, "aa": da * da, "bb": db * db, "n": 1.0})
    s = sums.groupby("k", sort=True).sum()
    denom = np.sqrt(s["aa"].to_numpy() * s["bb"].to_numpy())
    ok = (s["n"].to_numpy() >= MIN_NAMES_PER_DATE) & (denom > 0)
    return s["ab"].to_numpy()[ok] / denom[ok]


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else 0.0


def per_date_rank_ic(dates: np.ndarray, predicted: np.ndarray,
                     realised: np.ndarray) -> np.ndarray:
    """Spearman correlation of `predicted` and `realised` within each date (dates with fewer
    than MIN_NAMES_PER_DATE names or no dispersion left out), in date order."""
    keys = pd.factorize(np.asarray(dates), sort=True)[0]
    frame = pd.DataFrame({"k": keys, "p": predicted, "r": realised})
    ranks = frame.groupby("k")[["p", "r"]].rank(method="average")
    return _per_date_corr(keys, ranks["p"].to_numpy(), ranks["r"].to_numpy())


def cross_sectional_metrics(dates: np.ndarray, predicted: np.ndarray,
                            realised: np.ndarray) -> dict[str, float]:
    """Out-of-sample quality of `predicted` against `realised` forward returns.

    dates: session of each row (any sortable dtype); predicted, realised: returns over the
    horizon as fractions, same length. Returns
    - ic: mean over dates of the cross-sectional Pearson correlation;
    - rank_ic: the same with per-date ranks (Spearman);
    - hit_rate: share of rows on the side of their date's median realised return that their
      forecast's side of the date's median forecast said (rows on a median left out): judged
      against zero, it was the share of up weeks whenever every forecast is positive;
    - decile_spread: mean over dates of (mean realised return of the top decile by
      prediction) - (that of the bottom decile), in return units over the horizon; a decile
      is floor(names / 10) names, at least one;
    - n_dates, n_rows.
    """
    keys = pd.factorize(np.asarray(dates), sort=True)[0]
    rank = pd.Series(predicted).groupby(keys).rank(method="first").to_numpy()
    decile = np.maximum(np.bincount(keys)[keys] // 10, 1)  # names in a decile, that date
    realised_s = pd.Series(realised)
    top = realised_s.where(rank > np.bincount(keys)[keys] - decile).groupby(keys).mean()
    bottom = realised_s.where(rank <= decile).groupby(keys).mean()
    by_date = pd.DataFrame({"p": predicted, "r": realised}).groupby(keys)
    said = np.sign(predicted - by_date["p"].transform("median").to_numpy())
    went = np.sign(realised - by_date["r"].transform("median").to_numpy())
    moved = (said != 0) & (went != 0)
    return {
        "ic": _mean(_per_date_corr(keys, predicted, realised)),
        "rank_ic": _mean(per_date_rank_ic(keys, predicted, realised)),
        "hit_rate": float(np.mean(said[moved] == went[moved])) if moved.any() else 0.0,
        "decile_spread": _mean((top - bottom).dropna().to_numpy()),
        "n_dates": int(keys.max() + 1) if len(keys) else 0,
        "n_rows": int(len(keys)),
    }


def cross_sectional_position(dates: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's place in its date's cross-section, from -1 (lowest) to +1 (highest).

    (rank - 0.5) / n mapped onto [-1, 1] with average ranks for ties, so a date's middle name
    sits at 0 and a lone name at 0 too (it has no cross-section to stand out from).
    """
    keys = pd.factorize(np.asarray(dates), sort=True)[0]
    series = pd.Series(np.asarray(values, dtype=float))
    ranks = series.groupby(keys).rank(method="average").to_numpy()
    counts = np.bincount(keys)[keys]
    return 2.0 * (ranks - 0.5) / counts - 1.0


@dataclass(frozen=True)
class Calibration:
    """Confidence = P(the name lands on the predicted side of its date's median | how far
    from the middle of the cross-section the model placed it).

    The bots pick names against each other, so the question a confidence must answer is
    whether a name the model ranks high really beats the rest, not whether the market rises:
    judged on raw signs, a falling validation month made every long forecast look wrong and
    confidences sank below a coin flip. Fitted on the validation folds' out-of-sample rows
    only: the distance |position| (see `cross_sectional_position`) is binned into up to
    `bins` equal-count bins, the hit rate of each bin is made non-decreasing by isotonic
    regression (a name placed further out is never less trustworthy), and the curve is kept
    as its knots `x`, `y` and applied by linear interpolation, clipped at the ends. A model
    without skill gets a flat confidence near 0.5, which is the honest answer.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]

    @classmethod
    def fit(cls, dates: np.ndarray, predicted: np.ndarray, realised: np.ndarray,
            bins: int = 50) -> Calibration:
        """Learn the curve from aligned out-of-sample rows (dates, forecasts, outcomes)."""
        ok = np.isfinite(realised) & np.isfinite(predicted)
        dates, predicted, realised = np.asarray(dates)[ok], predicted[ok], realised[ok]
        if not len(dates):
            return cls(x=(0.0,), y=(0.5,))
        position = cross_sectional_position(dates, predicted)
        keys = pd.factorize(dates, sort=True)[0]
        excess = realised - pd.Series(realised).groupby(keys).transform("median").to_numpy()
        decided = (excess != 0) & (position != 0)
        if not decided.any():
            return cls(x=(0.0,), y=(0.5,))
        size = np.abs(position[decided])
        hit = (np.sign(position[decided]) == np.sign(excess[decided])).astype(float)
        order = np.argsort(size, kind="stable")
        groups = np.array_split(order, min(bins, len(order)))
        w_all = np.array([len(g) for g in groups], dtype=float)
        means = np.round(np.array([size[g].mean() for g in groups]), 8)
        x, at = np.unique(means, return_inverse=True)
        w = np.bincount(at, w_all)  # bins of equal size merge into one
        y = np.bincount(at, np.array([hit[g].sum() for g in groups])) / w
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(x, y, sample_weight=w)
        return cls(x=tuple(float(v) for v in x),
                   y=tuple(float(v) for v in np.round(iso.predict(x), 6)))

    def confidence(self, dates: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """Calibrated confidence in [0, 1] for each forecast, placed within its date."""
        position = cross_sectional_position(dates, predicted)
        return np.clip(np.interp(np.abs(position), self.x, self.y), 0.0, 1.0)

    def to_dict(self) -> dict[str, object]:
        return {"method": "isotonic |cross-sectional position| -> P(right side of median)",
                "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> Calibration:
        return cls(x=tuple(doc["x"]), y=tuple(doc["y"]))  # type: ignore[arg-type]
