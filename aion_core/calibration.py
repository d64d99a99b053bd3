"""Judging predictions against what happened: cross-sectional quality figures and confidence.

Pure functions on aligned 1-D arrays (one element per (date, symbol) row). Two uses:

- `cross_sectional_metrics` gives the walk-forward folds' honest out-of-sample figures. A
  stock-picking model is judged per date, across names (the market's common move is not
  something it is asked to forecast), so IC and rank IC are means of per-date correlations.
- `Calibration` turns the size of a prediction into a probability that its sign comes true,
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
    - hit_rate: share of rows whose realised return has the predicted sign (zeros left out);
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
    moved = realised != 0
    return {
        "ic": _mean(_per_date_corr(keys, predicted, realised)),
        "rank_ic": _mean(per_date_rank_ic(keys, predicted, realised)),
        "hit_rate": float(np.mean(np.sign(predicted[moved]) == np.sign(realised[moved])))
        if moved.any() else 0.0,
        "decile_spread": _mean((top - bottom).dropna().to_numpy()),
        "n_dates": int(keys.max() + 1) if len(keys) else 0,
        "n_rows": int(len(keys)),
    }


@dataclass(frozen=True)
class Calibration:
    """Confidence = P(realised return has the predicted sign | |prediction|).

    Fitted with isotonic regression (non-decreasing: a bigger forecast is never less
    trustworthy) of the hit rate on |expected_return|, over the validation folds'
    out-of-sample rows only; the fitted curve is kept as its knots `x`, `y` and applied by
    linear interpolation, clipped at the ends. A model whose size carries no information
    gets a flat confidence near its base hit rate, which is the honest answer.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]

    @classmethod
    def fit(cls, predicted: np.ndarray, realised: np.ndarray, bins: int = 50) -> Calibration:
        """Hit rates in up to `bins` equal-count bins of |prediction|, made monotone by
        isotonic regression weighted by bin size (binning first keeps a handful of extreme
        forecasts from setting the ends, and the knots few)."""
        moved = (realised != 0) & np.isfinite(realised) & np.isfinite(predicted)
        if not moved.any():
            return cls(x=(0.0,), y=(0.5,))
        size = np.abs(predicted[moved])
        hit = (np.sign(predicted[moved]) == np.sign(realised[moved])).astype(float)
        order = np.argsort(size, kind="stable")
        groups = np.array_split(order, min(bins, len(order)))
        w_all = np.array([len(g) for g in groups], dtype=float)
        x, at = np.unique(np.array([size[g].mean() for g in groups]), return_inverse=True)
        w = np.bincount(at, w_all)  # bins of equal size (a constant model) merge into one
        y = np.bincount(at, np.array([hit[g].sum() for g in groups])) / w
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True).fit(x, y, sample_weight=w)
        return cls(x=tuple(float(v) for v in np.round(x, 8)),
                   y=tuple(float(v) for v in np.round(iso.predict(x), 6)))

    def confidence(self, predicted: np.ndarray) -> np.ndarray:
        """Calibrated confidence in [0, 1] for each prediction."""
        return np.clip(np.interp(np.abs(predicted), self.x, self.y), 0.0, 1.0)

    def to_dict(self) -> dict[str, object]:
        return {"method": "isotonic |expected_return| -> P(sign right)", "x": list(self.x),
                "y": list(self.y)}

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> Calibration:
        return cls(x=tuple(doc["x"]), y=tuple(doc["y"]))  # type: ignore[arg-type]
