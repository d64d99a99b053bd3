"""`aion evaluate`: out of sample, resumable, and its figures agree with its own predictions."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from aion_core.bots.registry import swing_bot
from aion_core.ml import model
from jobs.evaluate import evaluation_id, run_evaluation

START, END = date(2026, 5, 1), date(2026, 10, 30)
QUICKER = model.TrainConfig(n_folds=1, validation_fraction=0.15, max_rounds=40,
                            early_stopping=None)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, _demo_template):
    import shutil

    from aion_core.store import Store

    root = tmp_path_factory.mktemp("evaluate") / "data"
    shutil.copytree(_demo_template, root)
    store = Store(root)
    doc = run_evaluation(store, START, END, retrain_every=42, config=QUICKER)
    return store, doc


def _spearman_by_date(preds: pd.DataFrame) -> pd.Series:
    """Plain per-date Spearman, by sorting, independent of the module under test."""
    out = {}
    for day, rows in preds.groupby("date"):
        a = rows["expected_return"].rank().to_numpy()
        b = rows["realised"].rank().to_numpy()
        out[day] = np.corrcoef(a, b)[0, 1]
    return pd.Series(out)


def _newey_west(x: np.ndarray, lags: int) -> float:
    n, d = len(x), x - x.mean()
    gamma = [np.sum(d[k:] * d[:n - k]) / n for k in range(lags + 1)]
    var = gamma[0] + 2 * sum((1 - k / (lags + 1)) * gamma[k] for k in range(1, lags + 1))
    return float(np.sqrt(var / n))


def test_the_report_s_figures_follow_from_its_predictions_file(evaluated):
    store, doc = evaluated
    preds = pd.read_parquet(store.path("evaluation_predictions", eval_id=doc["id"]))
    assert list(preds.columns) == ["date", "symbol", "horizon", "expected_return", "score",
                                   "confidence"]
    bars = store.read_daily_panel()
    opens = bars.pivot(index="date", columns="symbol", values="open")
    closes = bars.pivot(index="date", columns="symbol", values="close")
    for h, steps in (("1w", 5), ("4w", 20)):
        # tradeable: bought at the next open, sold at the open `steps` sessions later
        tradeable = (opens.shift(-1 - steps) / opens.shift(-1) - 1).stack().rename("realised")
        close = (closes.shift(-steps) / closes - 1).stack().rename("close")
        mine = preds[preds["horizon"] == h].merge(tradeable.reset_index(), on=["date", "symbol"])
        mine = mine.merge(close.reset_index(), on=["date", "symbol"]).dropna(
            subset=["realised", "close"])
        ic = _spearman_by_date(mine)
        rep = doc["horizons"][h]
        figures = rep["all"]["model"]
        assert rep["label"] == "open t+1 -> open t+1+h" and rep["newey_west_lags"] == 2 * steps
        assert figures["days"] == len(ic)
        assert figures["mean_rank_ic"] == pytest.approx(ic.mean(), abs=1e-9)
        assert figures["rank_ic_nw_se"] == pytest.approx(_newey_west(ic.to_numpy(), 2 * steps),
                                                         rel=1e-9)
        assert figures["days_positive"] == pytest.approx((ic > 0).mean())
        apart = ic.to_numpy()[::steps]  # every h-th date: labels that do not overlap
        assert figures["rank_ic_t_nonoverlap"] == pytest.approx(
            apart.mean() / (apart.std(ddof=1) / np.sqrt(len(apart))), rel=1e-9)
        # close-to-close on the same rows, beside it
        by_close = _spearman_by_date(mine.drop(columns="realised").rename(
            columns={"close": "realised"}))
        assert rep["close_to_close"]["all"]["model"]["mean_rank_ic"] == pytest.approx(
            by_close.mean(), abs=1e-9)


def _rank_autocorrelation(preds: pd.DataFrame) -> pd.Series:
    """Plain per-date Spearman of each name's forecast with the date before's, over the names
    both dates have."""
    wide = preds.pivot(index="date", columns="symbol", values="expected_return").sort_index()
    out = {}
    for before, day in zip(wide.index[:-1], wide.index[1:], strict=True):
        both = wide.loc[[before, day]].dropna(axis=1)
        out[day] = np.corrcoef(both.loc[before].rank(), both.loc[day].rank())[0, 1]
    return pd.Series(out)


def test_the_analytics_file_holds_the_report_s_series_recomputed_from_its_files(evaluated):
    store, doc = evaluated
    frame = pd.read_parquet(store.path("evaluation_analytics", eval_id=doc["id"]))
    assert list(frame.columns) == ["horizon", "series", "key", "date", "value"]
    assert set(frame["horizon"]) == {"1w", "2w", "4w"}
    preds = pd.read_parquet(store.path("evaluation_predictions", eval_id=doc["id"]))
    bars = store.read_daily_panel()
    opens = bars.pivot(index="date", columns="symbol", values="open")
    tradeable = (opens.shift(-6) / opens.shift(-1) - 1).stack().rename("realised")
    mine = preds[preds["horizon"] == "1w"].merge(tradeable.reset_index(),
                                                 on=["date", "symbol"]).dropna()
    one = frame[frame["horizon"] == "1w"]

    def got(series: str, key: str = "") -> pd.Series:
        part = one[(one["series"] == series) & (one["key"] == key)]
        return part.set_index("date")["value"]

    ic = _spearman_by_date(mine)
    pd.testing.assert_series_equal(got("rank_ic"), ic, check_names=False, check_index_type=False)
    ac = _rank_autocorrelation(mine)
    pd.testing.assert_series_equal(got("score_autocorr"), ac, check_names=False,
                                   check_index_type=False)
    # the other series agree with the report's own figures on the same rows
    rep = doc["horizons"]["1w"]
    assert [got("decile", str(d)).mean() for d in range(1, 11)] == pytest.approx(
        rep["all"]["model"]["deciles"])
    assert got("feature_ic", "rank_resid_rev5").mean() == pytest.approx(
        rep["all"]["resid_reversal"]["mean_rank_ic"])
    book = rep["portfolios"]["model"]["long_short"]
    for key in ("gross", "net"):
        assert got("long_short", key).mean() * 252 == pytest.approx(book[key]["annual_return"])


def test_predictions_are_out_of_sample_and_cover_the_window(evaluated):
    store, doc = evaluated
    preds = pd.read_parquet(store.path("evaluation_predictions", eval_id=doc["id"]))
    days = pd.DatetimeIndex(preds["date"].unique())
    assert days.min() >= pd.Timestamp(START) and days.max() <= pd.Timestamp(END)
    assert set(preds["horizon"]) == {"1w", "2w", "4w"}
    calibration = doc["horizons"]["1w"]["all"]["model"]["calibration"]
    assert sum(b["rows"] for b in calibration) > 0.9 * doc["horizons"]["1w"]["rows"]


def test_a_killed_run_resumes_and_a_changed_root_starts_over(evaluated, monkeypatch):
    store, doc = evaluated
    eval_id = evaluation_id(START, END, 42, ["1w", "2w", "4w"])
    chunks = sorted(store.path("evaluation_chunk", eval_id=eval_id,
                               yyyymmdd="20000101").parent.glob("*.parquet"))
    before = pd.read_parquet(store.path("evaluation_predictions", eval_id=eval_id))
    chunks[-1].unlink()  # as if killed while the last anchor trained
    calls = []
    real_train = model.train
    monkeypatch.setattr(model, "train", lambda *a, **k: calls.append(a[2]) or real_train(*a, **k))

    run_evaluation(store, START, END, retrain_every=42, config=QUICKER)

    assert len(calls) == 1  # only the missing anchor
    after = pd.read_parquet(store.path("evaluation_predictions", eval_id=eval_id))
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.reset_index(drop=True))

    sym = store.daily_symbols()[0]
    store.path("raw_daily", symbol=sym).unlink()  # the data changed
    calls.clear()
    run_evaluation(store, START, END, retrain_every=42, config=QUICKER)
    assert len(calls) == len(chunks)


def test_aion_universe_narrows_the_evaluation_and_names_a_symbol_without_bars(demo_root):
    from aion_core.store import Store
    from aion_core.store.root import NOT_STORED
    from jobs.evaluate import summary_lines

    subset = demo_root.daily_symbols()[3:10]
    store = Store(demo_root.root, universe=[*subset, "gone"])
    doc = run_evaluation(store, date(2026, 9, 1), END, retrain_every=63, horizons=["1w"],
                         config=QUICKER)
    preds = pd.read_parquet(store.path("evaluation_predictions", eval_id=doc["id"]))
    assert set(preds["symbol"]) == set(subset)
    assert doc["data"]["symbols"] == len(subset) and doc["dropped"] == {"GONE": NOT_STORED}
    lines = summary_lines(doc)
    assert "left out, no bars: GONE" in lines[0]
    assert lines[1].startswith("  1w verdict: model ")
    assert "top-bottom n/a" in lines[2]  # deciles need 10 names; the line is still printed


def test_an_evaluation_is_a_trial_counted_once_however_often_it_resumes(evaluated):
    from jobs.trials import trials

    store, doc = evaluated
    run_evaluation(store, START, END, retrain_every=42, config=QUICKER)  # the same try again
    (line,) = [t for t in trials(store) if t["kind"] == "evaluate"]
    assert line["id"] == doc["id"]
    # each horizon's net long-short book is one configuration tried: 3 on a fresh registry,
    # the rerun of the same evaluation not counted again
    assert doc["trials"] == doc["deflated"]["trials"] == len(doc["horizons"]) == 3
    for h, figures in doc["deflated"]["horizons"].items():
        assert line["figures"]["sharpe_per_session"][h] == figures["sharpe_per_session"]
        assert 0 <= figures["dsr"] <= figures["psr"] <= 1 or figures["sharpe_per_session"] < 0
    assert (line["start"], line["end"]) == (str(START), str(END))
    assert line["figures"]["1w"]["mean_rank_ic"] == doc["horizons"]["1w"]["all"]["model"][
        "mean_rank_ic"]


def test_the_report_holds_net_of_cost_books_of_the_model_and_the_composite(evaluated):
    from jobs.evaluate import summary_lines

    store, doc = evaluated
    books = doc["horizons"]["1w"]["portfolios"]
    knobs = store.read_knobs([swing_bot("1w")])["1w"]
    for name in ("model", "composite"):
        assert books[name]["cost_bps_per_unit_traded"] == knobs.slippage_bps + knobs.fee_bps
        assert books[name]["n_top"] == knobs.max_positions
        top = books[name]["top_n"]
        assert top["net"]["annual_return"] == pytest.approx(
            top["gross"]["annual_return"] - top["cost_drag_per_year"])
    assert any("net of" in line and "decile long-short" in line for line in summary_lines(doc))
