"""The intraday model: ridge regression of the next 30 minutes' return on intraday features.

Why linear and not LightGBM: the intraday target is mostly noise, a training night holds a few
sessions of 15-minute checkpoints, and the cycle must predict 500 names in milliseconds. A
ridge fit on standardised features is stable on little data, fits in a few lines of JSON
(`to_dict`, kept in DT_PATHS["dt_brain_file"]; no pickle) and can be read by a person.

Confidence is the model's probability that the return is positive, `Phi(prediction / sigma)`
with `sigma` the residual standard deviation on the training rows: 0.5 means "no idea",
which is where a model that learned nothing leaves every name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from aion_core import market_hours
from aion_core.ml.intraday_features import (
    FEATURES,
    MinutePanel,
    VolumeProfile,
    features_at,
    forward_returns,
    minute_panel,
    volume_profile,
)

HORIZON_MINUTES = 30
RIDGE_ALPHA = 10.0  # in units of rows: shrinks hard when there are few rows
LABEL_CLIP_SIGMAS = 5.0  # a halted or gapping name must not steer the fit


@dataclass(frozen=True)
class LinearModel:
    """y = intercept + sum(coef * (x - mean) / std); y a log return over HORIZON_MINUTES."""

    features: list[str]
    mean: np.ndarray
    std: np.ndarray
    coef: np.ndarray
    intercept: float
    sigma: float
    n_rows: int

    def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
        """rows: FEATURES columns (any index) -> same index, `expected_return` (fraction over
        HORIZON_MINUTES) and `confidence` (probability of a gain, in [0, 1])."""
        x = (rows[self.features].to_numpy(float) - self.mean) / self.std
        pred = self.intercept + np.nan_to_num(x) @ self.coef
        z = pred / self.sigma if self.sigma > 0 else np.zeros_like(pred)
        return pd.DataFrame({"expected_return": np.expm1(pred), "confidence": ndtr(z)},
                            index=rows.index)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "ridge", "features": self.features, "mean": self.mean.tolist(),
                "std": self.std.tolist(), "coef": self.coef.tolist(),
                "intercept": self.intercept, "sigma": self.sigma, "n_rows": self.n_rows,
                "horizon_minutes": HORIZON_MINUTES}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> LinearModel:
        return cls(list(doc["features"]), np.asarray(doc["mean"], float),
                   np.asarray(doc["std"], float), np.asarray(doc["coef"], float),
                   float(doc["intercept"]), float(doc["sigma"]), int(doc["n_rows"]))


def fit_linear(x: pd.DataFrame, y: np.ndarray, alpha: float = RIDGE_ALPHA) -> LinearModel:
    """Ridge fit of `y` (log returns, one per row of `x`) on `x`'s FEATURES columns.

    Rows with a non-finite label are dropped; labels are clipped at LABEL_CLIP_SIGMAS.
    """
    y = np.asarray(y, float)
    ok = np.isfinite(y)
    xs = x[FEATURES].to_numpy(float)[ok]
    y = y[ok]
    if len(y) < len(FEATURES) + 2:
        raise ValueError(f"too few training rows for the intraday model: {len(y)}")
    spread = np.std(y)
    y = np.clip(y, np.mean(y) - LABEL_CLIP_SIGMAS * spread, np.mean(y) + LABEL_CLIP_SIGMAS * spread)
    mean = np.nanmean(xs, axis=0)
    std = np.nanstd(xs, axis=0)
    std = np.where(std > 0, std, 1.0)
    z = np.nan_to_num((xs - mean) / std)
    intercept = float(np.mean(y))
    gram = z.T @ z + alpha * np.eye(z.shape[1])
    coef = np.linalg.solve(gram, z.T @ (y - intercept))
    resid = y - intercept - z @ coef
    return LinearModel(list(FEATURES), mean, std, coef, intercept, float(np.std(resid)), len(y))


def information_coefficient(pred: np.ndarray, actual: np.ndarray) -> float | None:
    """Pearson correlation of predictions and outcomes (None when either is constant)."""
    ok = np.isfinite(pred) & np.isfinite(actual)
    if ok.sum() < 3 or np.std(pred[ok]) == 0 or np.std(actual[ok]) == 0:
        return None
    return float(np.corrcoef(pred[ok], actual[ok])[0, 1])


# --------------------------------------------------------------------------- the trained model

TRAIN_SESSIONS = 10  # the most recent sessions of minute bars a model is trained on


@dataclass(frozen=True)
class IntradayModel:
    """What a cycle needs from training: the model, the volume profile, and their vintage."""

    model: LinearModel
    profile: VolumeProfile | None
    trained_through: str  # YYYY-MM-DD: the last session whose minutes it saw
    sessions: list[str]
    validation: dict[str, Any]


BarsReader = Callable[[pd.Timestamp], pd.DataFrame | None]
ViewReader = Callable[[pd.Timestamp], pd.Series | None]


def session_rows(bars: pd.DataFrame, session: pd.Timestamp, profile: VolumeProfile | None,
                 daily_er: pd.Series | None) -> tuple[pd.DataFrame, np.ndarray, MinutePanel]:
    """Training rows of one finished session: features at every 15-minute checkpoint whose
    label window ends by the close, and their labels (log returns over HORIZON_MINUTES)."""
    open_utc, close_utc = market_hours.session_open_close(session)
    minutes = int((close_utc - open_utc) / pd.Timedelta(minutes=1))
    panel = minute_panel(bars, open_utc, minutes)
    ks = list(range(15, minutes - HORIZON_MINUTES + 1, 15))
    return (features_at(panel, ks, profile, daily_er),
            forward_returns(panel, ks, HORIZON_MINUTES).ravel(), panel)


def train_model(read_bars: BarsReader, sessions: list[pd.Timestamp],
                daily_view: ViewReader) -> IntradayModel | None:
    """A model from the last TRAIN_SESSIONS of `sessions` (all finished, oldest first).

    Each session's volume-surge feature uses the profile of the sessions before it only, as
    the live cycle does. Validation: fit on all but the last session, correlation of its
    predictions with the last session's outcomes (None with a single session).
    """
    xs, ys, panels, used = [], [], [], []
    for session in sessions[-TRAIN_SESSIONS:]:
        bars = read_bars(session)
        if bars is None or bars.empty:
            continue
        x, y, panel = session_rows(bars, session, volume_profile(panels), daily_view(session))
        xs.append(x)
        ys.append(y)
        panels.append(panel)
        used.append(session.date().isoformat())
    if not used:
        return None
    validation: dict[str, Any] = {"ic": None, "session": used[-1]}
    if len(used) > 1:
        early = fit_linear(pd.concat(xs[:-1]), np.concatenate(ys[:-1]))
        pred = np.log1p(early.predict(xs[-1])["expected_return"].to_numpy())
        ic = information_coefficient(pred, ys[-1])
        validation["ic"] = None if ic is None else round(ic, 4)
    model = fit_linear(pd.concat(xs), np.concatenate(ys))
    return IntradayModel(model, volume_profile(panels), used[-1], used, validation)


def model_document(trained: IntradayModel, now: datetime) -> dict[str, Any]:
    """DT_PATHS["dt_brain_file"]: the trained model as JSON (no pickle)."""
    return {"schema": 1, "trained_at": now.isoformat(timespec="seconds"),
            "trained_through": trained.trained_through, "sessions": trained.sessions,
            "validation": trained.validation, "model": trained.model.to_dict(),
            "profile": trained.profile.to_dict() if trained.profile else None}


def model_from_document(doc: dict[str, Any]) -> IntradayModel:
    profile = VolumeProfile.from_dict(doc["profile"]) if doc.get("profile") else None
    return IntradayModel(LinearModel.from_dict(doc["model"]), profile, doc["trained_through"],
                 list(doc.get("sessions", [])), dict(doc.get("validation") or {}))
