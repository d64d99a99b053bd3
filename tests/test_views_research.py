"""The Research page's read models: runs listed, one run's tear sheet recomputed from its files
agrees with the metrics.json the backtest wrote, frames, comparison, evaluations, caching."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from analytics_data import (  # noqa: E402
    AUTOCORR,
    DATES,
    FEATURES,
    GROSS,
    NET,
    decile_return,
    rank_ic_of,
    write_analytics,
)
from research_data import EVAL_ID, truth_run, write_evaluation  # noqa: E402

from aion_core.app import analytics_view as va  # noqa: E402
from aion_core.app import cache, views  # noqa: E402
from aion_core.app import research_view as vr  # noqa: E402
from aion_core.bots import performance


def test_an_empty_root_has_no_runs_and_no_reports(store):
    assert views.load(store, "backtests") == ([], [])
    assert views.load(store, "evaluations") == ([], [])
    assert views.load(store, "backtest", "bt_20260101T000000") is None


def test_a_tear_sheet_from_the_files_agrees_with_the_written_metrics(demo_root,
                                                                     synthetic_market):
    run_id = truth_run(demo_root, synthetic_market, ["1w", "4w"])
    runs, broken = views.load(demo_root, "backtests")
    assert [r["id"] for r in runs] == [run_id] and not broken
    run = views.load(demo_root, "backtest", run_id)
    assert run.bots == ["swing_1w", "swing_4w"]
    for bot in run.bots:
        sheet = vr.tear_sheet(run, bot)
        assert {f[0] for f in vr.FIGURES} <= set(sheet)
        for key, value in run.metrics["bots"][bot].items():
            assert sheet[key] == pytest.approx(value, nan_ok=True), (bot, key)
    curves = vr.curves_frame(run, "swing_1w")
    sheet = vr.tear_sheet(run, "swing_1w")
    assert curves["drawdown"].min() == pytest.approx(sheet["max_drawdown"])
    assert curves["exposure"].mean() == pytest.approx(sheet["exposure"])
    assert (curves["exposure"] + curves["cash"]).round(6).eq(1.0).all(), "long only"
    assert curves["benchmark"].iloc[0] == pytest.approx(run.initial("swing_1w"))


def test_round_trip_tables_and_the_runs_table(demo_root, synthetic_market):
    # no hold band: the persistent planted signal would keep its names for the whole window
    run = views.load(demo_root, "backtest", truth_run(
        demo_root, synthetic_market, ["1w"], knobs={"swing": {"1w": {"hold_band": 1.0}}}))
    trips = performance.round_trips(run.bot_trades("swing_1w"))
    assert len(trips) > 0
    for column in ("symbol", "exit_reason"):
        table = vr.pnl_by(trips, column)
        assert table["pnl"].sum() == pytest.approx(trips["pnl"].sum())
        assert table["trips"].sum() == len(trips) and table["pnl"].is_monotonic_decreasing
    assert vr.pnl_by(trips.iloc[:0], "symbol").empty
    runs, _ = views.load(demo_root, "backtests")
    table = vr.runs_table(runs)
    assert list(table["bot"]) == ["swing_1w"]
    assert table["total_return"].iloc[0] == pytest.approx(
        run.metrics["bots"]["swing_1w"]["total_return"])
    assert not vr.rolling_sharpe(run, "swing_1w").empty


def test_four_runs_side_by_side_at_most(demo_root, synthetic_market):
    ids = [truth_run(demo_root, synthetic_market, ["1w"]) for _ in range(5)]
    assert len(set(ids)) == 5, "each run its own folder"
    runs = [views.load(demo_root, "tear_sheets", i) for i in ids]
    table = vr.compare_frame(runs)
    assert table.shape == (len(vr.FIGURES), vr.COMPARE_MAX)
    assert list(table.index) == [f[1] for f in vr.FIGURES]
    growth = vr.growth_frame(runs)
    assert growth["curve"].nunique() == vr.COMPARE_MAX
    first = growth.groupby("curve")["growth"].last()
    written = views.load(demo_root, "backtest", ids[0]).metrics["bots"]["swing_1w"]
    assert first.iloc[0] == pytest.approx(1 + written["total_return"])
    assert table.iloc[0, 0] == pytest.approx(written["total_return"])


def test_a_corrupt_run_is_named_and_the_others_listed(demo_root, synthetic_market):
    good = truth_run(demo_root, synthetic_market, ["1w"])
    bad = truth_run(demo_root, synthetic_market, ["1w"])
    demo_root.path("backtest_run", backtest_id=bad).write_text(json.dumps({"id": bad}))
    runs, broken = views.load(demo_root, "backtests")
    assert [r["id"] for r in runs] == [good]
    assert len(broken) == 1 and bad in broken[0]


def test_the_cache_key_follows_the_runs_files(demo_root, synthetic_market):
    before = views.source_key(demo_root, "backtests")
    run_id = truth_run(demo_root, synthetic_market, ["1w"])
    after = views.source_key(demo_root, "backtests")
    assert after != before
    assert any(run_id in path for path, _ in after)
    assert views.source_key(demo_root, "backtest", run_id) == views.source_key(
        demo_root, "backtest", run_id)


def test_evaluation_reports_are_listed_and_tabled(store):
    doc = write_evaluation(store)
    docs, broken = views.load(store, "evaluations")
    assert [d["id"] for d in docs] == [EVAL_ID] and not broken
    table = vr.evaluation_table(doc)
    assert list(table["signal"]) == ["model", "reversal", "momentum"]
    assert table.loc[0, "mean_rank_ic"] == 0.031
    assert vr.evaluation_years(doc) == ["2026"]
    assert len(vr.evaluation_table(doc, "2026")) == 3
    assert vr.evaluation_table(doc, "1999").empty


def test_an_evaluation_s_analytics_load_and_are_shaped_for_each_chart(store):
    doc = write_evaluation(store)
    assert views.load(store, "evaluation_analytics", EVAL_ID) is None, "an older report"
    assert va.rerun_command(doc) == ("aion evaluate --start 2026-01-01 --end 2026-06-01 "
                                     "--retrain-every 63 --horizon 1w --model gbm")
    assert va.rerun_command({**doc, "id": f"{EVAL_ID}_composite"}).endswith(" --model composite")
    write_analytics(store, EVAL_ID)
    frame = views.load(store, "evaluation_analytics", EVAL_ID)
    assert va.horizons_in(frame) == ["1w", "4w"]

    months = va.ic_by_month(frame, "1w")
    assert list(months.index) == [2025, 2026] and list(months.columns) == list(range(1, 13))
    assert months.loc[2025, 11] == pytest.approx(0.11)
    assert months.loc[2026, 2] == pytest.approx(0.02)
    assert months.loc[2025].isna().sum() == 10 and months.loc[2026].isna().sum() == 10
    assert va.ic_by_month(frame, "4w").loc[2025, 12] == pytest.approx(-0.12)
    years = va.ic_by_year(frame, "1w").set_index("year")
    for year in (2025, 2026):
        days = [rank_ic_of(d) for d in DATES if d.year == year]
        assert years.loc[str(year), "days"] == len(days)
        assert years.loc[str(year), "mean_rank_ic"] == pytest.approx(sum(days) / len(days))

    curves = va.long_short_curves(frame, "1w")
    assert list(curves.index) == list(DATES)
    assert curves["gross"].iloc[-1] == pytest.approx((1 + GROSS) ** len(DATES) - 1)
    assert curves["net"].iloc[0] == pytest.approx(NET)

    # every day's move is taken out: 10 bp a decile around the middle, every month
    means = va.decile_means(frame, "1w")
    assert list(means.index) == list(range(1, 11))
    assert means.to_numpy() == pytest.approx([0.001 * (d - 5.5) for d in range(1, 11)])
    assert decile_return(DATES[0], 10) != decile_return(DATES[1], 10)
    by_month = va.deciles_by_month(frame, "1w")
    assert by_month.shape == (10, 4) and by_month.columns[0] == pd.Timestamp("2025-11-01")
    for month in by_month.columns:
        assert by_month[month].to_numpy() == pytest.approx(means.to_numpy())

    ics = va.feature_ics(frame, "1w")
    assert list(ics.index) == sorted(FEATURES, key=FEATURES.get)
    assert ics.to_dict() == pytest.approx(FEATURES)
    assert list(va.feature_ics(frame, "4w").index) == list(reversed(ics.index))
    ac = va.score_autocorrelation(frame, "1w")
    assert len(ac) == len(DATES) and ac.to_numpy() == pytest.approx(AUTOCORR)


def test_figures_are_formatted_with_their_unit():
    assert vr.fmt_figure("pct", -0.0123) == "\u22121.23%"
    assert vr.fmt_figure("share", 0.5) == "50.00%"
    assert vr.fmt_figure("ratio", -1.234) == "\u22121.23"
    assert vr.fmt_figure("days", 7) == "7.0 d" and vr.fmt_figure("x", 3.25) == "3.2×"
    assert vr.fmt_figure("ratio", None) == "—" and vr.fmt_figure("pct", float("nan")) == "—"


def test_the_tear_sheets_read_model_equals_the_metrics_on_the_same_run(demo_root,
                                                                       synthetic_market):
    run_id = truth_run(demo_root, synthetic_market, ["1w", "4w"])
    run = views.load(demo_root, "backtest", run_id)
    bundle = views.load(demo_root, "tear_sheets", run_id)
    assert bundle["doc"] == run.doc and list(bundle["sheets"]) == run.bots
    for bot, sheet in bundle["sheets"].items():
        trades = run.bot_trades(bot)
        assert sheet["figures"] == performance.tear_sheet(run.curve(bot), trades,
                                                      run.curve(bot, "gross"), run.initial(bot),
                                                      run.curve(vr.BENCHMARK))
        for key, value in run.metrics["bots"][bot].items():
            assert sheet["figures"][key] == pytest.approx(value, nan_ok=True), (bot, key)
        trips = performance.round_trips(trades)
        pd.testing.assert_frame_equal(sheet["trips"], trips.drop(columns="bot"))
        pd.testing.assert_frame_equal(sheet["monthly"], performance.monthly_returns(
            run.curve(bot), run.initial(bot)))
        pd.testing.assert_series_equal(sheet["rolling"], vr.rolling_sharpe(run, bot))
        pd.testing.assert_frame_equal(sheet["curves"], vr.curves_frame(run, bot))
        by_symbol = sheet["by_symbol"].set_index("symbol")
        for symbol, part in trips.groupby("symbol"):
            assert by_symbol.loc[symbol, "win_rate"] == pytest.approx((part["pnl"] > 0).mean())
            assert by_symbol.loc[symbol, "pnl"] == pytest.approx(part["pnl"].sum())
    assert views.load(demo_root, "tear_sheets", "bt_20000101T000000") is None


def test_the_tear_sheets_are_cached_on_the_runs_files_and_shared_through_redis(
        demo_root, synthetic_market):
    run_id = truth_run(demo_root, synthetic_market, ["1w"])
    key = views.source_key(demo_root, "tear_sheets", run_id)
    assert key == views.source_key(demo_root, "backtest", run_id)
    trades = demo_root.path("backtest_trades", backtest_id=run_id)
    trades.write_bytes(trades.read_bytes())
    assert views.source_key(demo_root, "tear_sheets", run_id) != key
    bundle = views.load(demo_root, "tear_sheets", run_id)
    back = cache.decode(cache.encode(bundle))  # no Unsupported: the other processes read it
    assert back["doc"] == bundle["doc"]
    for bot, sheet in bundle["sheets"].items():
        assert back["sheets"][bot]["figures"] == sheet["figures"]
        for part in ("curves", "monthly", "trips", "by_symbol", "by_exit"):
            pd.testing.assert_frame_equal(back["sheets"][bot][part], sheet[part],
                                          check_freq=False)
        pd.testing.assert_series_equal(back["sheets"][bot]["rolling"], sheet["rolling"],
                                       check_freq=False)


def test_the_trial_registry_reads_newest_first_with_its_headlines(store):
    from jobs.trials import record_trial

    record_trial(store, "evaluate", "e1", {"r": 1}, "2015-01-02", "2016-12-30", 505,
                 {"1w": {"mean_rank_ic": 0.0165, "rank_ic_t": 2.3}, "dsr": {"1w": 0.53}})
    record_trial(store, "backtest", "bt_1", {"k": 2}, "2016-01-04", "2016-06-30", 505,
                 {"sharpe": {"swing_1w": 0.8}, "dsr": {"swing_1w": None}})
    table = vr.trials_table(views.load(store, "trials"))
    assert list(table["id"]) == ["bt_1", "e1"]
    assert table.loc[1, "headline"] == "1w IC +0.0165 · DSR 1w 53%"
    assert table.loc[0, "headline"] == "swing_1w Sharpe 0.80 · DSR swing_1w n/a"
    assert table.loc[1, "window"] == "2015-01-02 → 2016-12-30"


def test_the_research_read_models_fit_the_shape_the_shared_cache_checks(demo_root,
                                                                         synthetic_market):
    """A run, a report and the trial registry read back from Redis pass the check a
    poisoned value fails (aion_core.app.cache.check_shape), or the cache would always miss."""
    truth_run(demo_root, synthetic_market, ["1w"])
    write_evaluation(demo_root)
    for name in ("backtests", "evaluations", "trials"):
        value = cache.decode(cache.encode(views.load(demo_root, name)))
        assert value[0] if name != "trials" else value, name
        cache.check_shape(name, views.LOADERS[name].files(demo_root), value)
