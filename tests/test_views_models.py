"""The Models page's figures, checked against independent computations, and its loaders."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).parent))
from app_data import FEATURES, add_models, build_filled_root  # noqa: E402

from aion_core.app import models_view, views  # noqa: E402
from aion_core.app.calc import validation_row  # noqa: E402
from aion_core.errors import CorruptFileError  # noqa: E402
from aion_core.ml import monitoring  # noqa: E402
from aion_core.ml.model import Fitted  # noqa: E402
from aion_core.store import Store, append_jsonl, write_parquet  # noqa: E402

HORIZON = {"1w": 2}  # two sessions ahead keeps hand-built frames short


def _bars() -> pd.DataFrame:
    """Two names over six sessions; B has no bar on the second."""
    dates = pd.bdate_range("2026-01-05", periods=6)
    a = pd.DataFrame({"symbol": "A", "date": dates, "open": [9.5, 10.5, 11.5, 12.5, 13.5, 14.5],
                      "close": [10, 11, 12, 13, 14, 15]})
    b = pd.DataFrame({"symbol": "B", "date": dates[[0, 2, 3, 4, 5]],
                      "open": [19, 21, 23, 25, 27], "close": [20, 22, 24, 26, 28]})
    bars = pd.concat([b, a], ignore_index=True).astype({"open": float, "close": float})
    return bars.assign(high=bars["close"], low=bars["open"], volume=1e6)


def test_realised_returns_are_the_tradeable_label_and_close_to_close_beside_it():
    out = monitoring.realised_returns(_bars(), HORIZON).set_index(["date", "symbol"])
    d = pd.bdate_range("2026-01-05", periods=6)
    # decided at d[0]'s close, filled at d[1]'s open, sold at the open two bars later
    assert out.loc[(d[0], "A"), "realised"] == pytest.approx(12.5 / 10.5 - 1)
    assert out.loc[(d[0], "A"), "realised_close"] == pytest.approx(12 / 10 - 1)
    # B has no bar on d[1]: its next bar is d[2], two later d[4]
    assert out.loc[(d[0], "B"), "realised"] == pytest.approx(25 / 21 - 1)
    assert out.loc[(d[0], "B"), "realised_close"] == pytest.approx(24 / 20 - 1)
    assert (d[3], "A") not in out.index and (d[3], "B") not in out.index
    assert set(out["horizon"]) == {"1w"}


@pytest.fixture(scope="module")
def judged() -> pd.DataFrame:
    """Track rows of 30 dates x 15 names, forecasts that partly know the outcome."""
    rng = np.random.default_rng(3)
    dates = pd.bdate_range("2026-01-05", periods=30)
    names = [f"S{i}" for i in range(15)]
    idx = pd.MultiIndex.from_product([dates, names], names=["date", "symbol"])
    realised = rng.normal(0, 0.03, len(idx))
    return pd.DataFrame({"horizon": "1w", "expected_return": realised * 0.3
                         + rng.normal(0, 0.02, len(idx)),
                         "confidence": rng.uniform(0.45, 0.7, len(idx)),
                         "realised": realised}, index=idx).reset_index()


def test_track_record_rank_ic_matches_scipy_and_its_rolling_mean(judged):
    rec = monitoring.track_record(judged, predictions=len(judged) + 7, horizons=HORIZON)
    ic = rec.ic.set_index("date")
    for day, rows in judged.groupby("date"):
        rho = spearmanr(rows["expected_return"], rows["realised"]).statistic
        assert ic.loc[day, "rank_ic"] == pytest.approx(rho)
    expected = ic["rank_ic"].rolling(monitoring.ROLLING_DATES, min_periods=5).mean()
    pd.testing.assert_series_equal(ic["rolling"], expected, check_names=False)
    assert (ic["low"].dropna() < ic["rolling"].dropna()).all()
    assert (ic["high"].dropna() > ic["rolling"].dropna()).all()
    row = rec.decay.iloc[0]
    assert row["mean_rank_ic"] == pytest.approx(ic["rank_ic"].mean())
    assert math.isnan(row["mean_rank_ic_close"])  # no close-to-close column judged
    assert row["days"] == 30 and row["sessions"] == 2
    assert rec.predictions == len(judged) + 7 and rec.realised == len(judged)


def test_track_record_deciles_and_reliability(judged):
    rec = monitoring.track_record(judged, predictions=len(judged), horizons=HORIZON)
    assert rec.deciles["decile"].tolist() == list(range(1, 11))
    # by hand: the top and bottom tenths of each date (15 names: ranks 14-15 / 1-2)
    pct = judged.groupby("date")["expected_return"].rank(method="first", pct=True)
    top = judged[np.ceil(pct * 10) == 10].groupby("date")["realised"].mean().mean()
    assert rec.deciles["mean_return"].iloc[-1] == pytest.approx(top)
    assert rec.reliability["rows"].sum() > 0
    assert rec.reliability["hit_rate"].between(0, 1).all()


def test_track_record_of_nothing_judged_is_empty():
    empty = pd.DataFrame(columns=["date", "symbol", "horizon", "expected_return",
                                  "confidence", "realised"])
    rec = monitoring.track_record(empty, predictions=12)
    assert rec.realised == 0 and rec.ic.empty and rec.deciles.empty
    assert rec.decay["days"].tolist() == [0, 0, 0]


def test_psi_by_hand():
    ref = np.arange(100.0)  # quartile edges 24.75, 49.5, 74.25: a quarter in each bin
    new = np.array([1, 2, 3, 4, 5, 6, 30, 31, 60, 90, np.nan], dtype=float)
    shares = np.array([0.6, 0.2, 0.1, 0.1])
    by_hand = sum((a - 0.25) * math.log(a / 0.25) for a in shares)
    assert monitoring.psi(ref, new, bins=4) == pytest.approx(by_hand)
    assert monitoring.psi(ref, ref, bins=4) == pytest.approx(0.0)
    # an empty recent bin counts as the floor share
    floor = monitoring.PSI_FLOOR
    one_bin = (1 - 0.25) * math.log(1 / 0.25) + 3 * (floor - 0.25) * math.log(floor / 0.25)
    assert monitoring.psi(ref, np.zeros(5), bins=4) == pytest.approx(one_bin)
    assert math.isnan(monitoring.psi(ref, np.array([np.nan])))


def test_feature_drift_flags_a_shifted_feature_only():
    rng = np.random.default_rng(5)
    dates = pd.bdate_range("2026-01-05", periods=80)
    frame = pd.DataFrame({"date": np.repeat(dates, 20)})
    frame["stable"] = rng.normal(0, 1, len(frame))
    frame["shifted"] = rng.normal(0, 1, len(frame)) + np.where(frame["date"] >= dates[-20], 2, 0)
    drift = monitoring.feature_drift(frame, ["stable", "shifted"], f"{dates[-5]:%Y-%m-%d}")
    table = drift.table.set_index("feature")
    assert table.loc["shifted", "flagged"] and not table.loc["stable", "flagged"]
    assert drift.recent == (dates[-20], dates[-1])
    assert drift.reference == (dates[0], dates[-21])  # disjoint from the recent window


def test_a_once_a_day_series_is_judged_on_its_training_range_not_by_psi():
    """Twenty days of a rate never pass a PSI against years of it; inside its training range
    it passes, well outside it it is flagged."""
    rng = np.random.default_rng(6)
    dates = pd.bdate_range("2021-01-04", periods=1000)
    level = 2.0 + np.cumsum(rng.normal(0, 0.02, len(dates)))  # a wandering rate
    frame = pd.DataFrame({"date": np.repeat(dates, 10)})
    frame["rate"] = np.repeat(level, 10)
    frame["rate_beyond"] = frame["rate"] + np.where(frame["date"] >= dates[-20], 50.0, 0.0)
    frame["per_name"] = rng.normal(0, 1, len(frame))
    table = monitoring.feature_drift(frame, ["rate", "rate_beyond", "per_name"],
                                     f"{dates[-1]:%Y-%m-%d}").table.set_index("feature")
    assert list(table.loc[["rate", "rate_beyond", "per_name"], "test"]) == ["range", "range",
                                                                             "psi"]
    recent = level[-20:]
    lo, hi = np.quantile(level[:-20], [0.005, 0.995])
    assert table.loc["rate", "outside_range"] == pytest.approx(
        np.mean((recent < lo) | (recent > hi)))
    assert monitoring.psi(np.repeat(level[:-20], 10), np.repeat(recent, 10)) > 1  # PSI fails
    assert not table.loc["rate", "flagged"] and table.loc["rate_beyond", "flagged"]
    assert not table.loc["per_name", "flagged"]


@pytest.fixture(scope="module")
def filled(tmp_path_factory) -> Store:
    store = Store(tmp_path_factory.mktemp("models") / "root")
    build_filled_root(store, history_days=40)
    add_models(store)
    return store


def test_contributions_add_up_to_the_models_forecast(filled):
    meta = filled.read_json("ml_models_meta", horizon="2w")
    fitted = Fitted.from_model_string(filled.path("ml_models", horizon="2w").read_text(), meta)
    exp = views.load(filled, "explanation", "SYM004", "2w")
    rows = pd.read_parquet(filled.path("ml_datasets"))
    row = rows[(rows["symbol"] == "SYM004") & (rows["date"] == rows["date"].max())]
    forecast = fitted.booster.predict(row[FEATURES].to_numpy(np.float32))[0] + fitted.drift
    assert exp.model_return == pytest.approx(forecast, abs=1e-9)
    assert exp.base + exp.table["contribution"].sum() + exp.drift == pytest.approx(forecast)
    assert exp.table["contribution"].abs().is_monotonic_decreasing
    assert exp.date == rows["date"].max()
    assert views.load(filled, "explanation", "NOPE", "2w") is None


def test_loaders_on_a_filled_root(filled):
    rec = views.load(filled, "track_record")
    assert rec.predictions == 40 * 12 * 3 and 0 < rec.realised < rec.predictions
    assert set(rec.decay.dropna()["horizon"]) == {"1w", "2w", "4w"}
    runs = views.load(filled, "model_runs")
    assert runs.groupby("horizon")["as_of"].nunique().tolist() == [4, 4, 4]
    assert runs.groupby(["horizon", "as_of"])["share"].sum().round(9).eq(1).all()
    drift = views.load(filled, "drift", "1w")
    assert sorted(drift.table["feature"]) == sorted(FEATURES)


def test_loaders_on_an_empty_root(tmp_path):
    store = Store(tmp_path)
    assert views.load(store, "track_record") is None
    assert views.load(store, "model_runs").empty
    assert views.load(store, "drift", "1w") is None
    assert views.load(store, "explanation", "SYM000", "1w") is None


def test_importance_runs_count_a_run_once_and_in_shares():
    run = {"horizon": "1w", "as_of": "2026-11-20", "trained_through": "2026-11-13",
           "num_rounds": 30, "feature_importance": {"a": 3.0, "b": 1.0}}
    frame = models_view.importance_runs([run, {**run, "as_of": "2026-11-19"}, run])
    assert len(frame) == 4
    last = frame[frame["as_of"] == pd.Timestamp("2026-11-20")].set_index("feature")
    assert last.loc["a", "share"] == pytest.approx(0.75)


def test_damaged_model_files_are_named(tmp_path, filled):
    store = Store(tmp_path)
    write_parquet(store.path("ml_datasets"), pd.read_parquet(filled.path("ml_datasets")))
    store.path("ml_models", horizon="1w").parent.mkdir(parents=True)
    store.path("ml_models", horizon="1w").write_text("garbage")
    store.write_json("ml_models_meta", filled.read_json("ml_models_meta", horizon="1w"),
                     horizon="1w")
    with pytest.raises(CorruptFileError, match="lgbm_1w.txt"):
        views.load(store, "explanation", "SYM000", "1w")
    store.path("ml_models_meta", horizon="1w").write_text('{"features": "ret_5"}')
    with pytest.raises(CorruptFileError, match="lgbm_1w.json"):
        views.load(store, "drift", "1w")
    with pytest.raises(CorruptFileError, match="model_runs.jsonl"):
        append_jsonl(store.path("model_runs"), [{"horizon": "1w"}])


def test_rounds_are_the_final_models_not_the_folds():
    meta = {"num_rounds": 36, "validation": {"folds": [
        {"rank_ic": 0.1, "rounds": 40, "trained_rounds": 86},
        {"rank_ic": 0.0, "rounds": 32, "trained_rounds": 82}]}}
    row = validation_row(meta)
    assert row["rounds"] == 36 and "trained_rounds" not in row
