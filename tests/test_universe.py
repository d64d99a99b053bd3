"""A point-in-time universe (issue 26): `aion import universe`, membership on each date, and
cross-sections, training rows, predictions and entries that hold members only."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aion_core.cli import app
from aion_core.errors import CorruptFileError
from aion_core.ml.universe import Membership, members, merge_overlaps
from aion_core.store import Store
from jobs.universe import import_universe, read_aliases

runner = CliRunner()
MEMBERSHIP = "sp500_membership/sp500_ticker_start_end.csv"
#: The six bar tickers of the shared S&P 500 file spelt before the membership file's.
REAL_ALIASES = {"CBG": "CBRE", "DPS": "KDP", "HCN": "WELL", "LUK": "JEF", "PCLN": "BKNG",
                "WYN": "WYND"}


def _intervals(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame({"ticker": [r[0] for r in rows],
                         "start": pd.to_datetime([r[1] for r in rows]),
                         "end": pd.to_datetime([r[2] for r in rows])})


# --------------------------------------------------------------------------- pure


def test_members_on_a_date_start_inclusive_end_exclusive_several_intervals():
    iv = _intervals(("AAA", "2020-01-02", "2020-03-02"), ("AAA", "2021-01-04", None),
                    ("BBB", "2020-02-03", "2020-02-04"))
    dates = pd.to_datetime(["2020-01-01", "2020-01-02", "2020-03-01", "2020-03-02",
                            "2020-12-31", "2021-01-04", "2030-01-02", "2020-02-03",
                            "2020-02-04", "2020-02-03"])
    symbols = ["AAA"] * 7 + ["BBB", "BBB", "CCC"]
    got = members(iv, dates, symbols)
    assert got.tolist() == [False, True, True, False, False, True, True, True, False, False]


def test_overlapping_and_touching_intervals_merge_and_are_counted():
    iv = _intervals(("AAA", "2020-01-02", "2020-06-01"), ("AAA", "2020-03-02", "2020-09-01"),
                    ("AAA", "2020-09-01", "2020-12-01"), ("AAA", "2021-06-01", None),
                    ("BBB", "2020-01-02", None), ("BBB", "2020-01-02", None))
    merged, lost = merge_overlaps(iv)
    assert merged.assign(start=merged["start"].dt.strftime("%Y-%m-%d"),
                         end=merged["end"].dt.strftime("%Y-%m-%d")).values.tolist() == [
        ["AAA", "2020-01-02", "2020-12-01"], ["AAA", "2021-06-01", np.nan],
        ["BBB", "2020-01-02", np.nan]]
    assert lost == {"AAA": 2, "BBB": 1}


def test_an_alias_gives_the_old_bar_ticker_the_new_tickers_membership():
    ms = Membership("idx", _intervals(("CBRE", "2006-11-10", None)), {"CBG": "CBRE"})
    assert ms.on("2015-06-01", ["CBG", "CBRE", "XYZ"]) == {"CBG", "CBRE"}
    assert ms.on("2005-06-01", ["CBG"]) == frozenset()


# --------------------------------------------------------------------------- the import


def _membership_file(path: Path, symbols: list[str]) -> Path:
    """A small membership of the synthetic market's names: four whole, one joined late, one
    with overlapping rows, one refused for an unreadable date, one for an end before its
    start, one without bars; symbols[8:] are left out (bar symbols without membership)."""
    s = symbols
    lines = ["ticker,start_date,end_date",
             *(f"{x},2000-01-03," for x in s[:4]),
             f"{s[4]},2025-06-02,",
             f"{s[5]},2000-01-03,2025-03-03", f"{s[5]},2025-01-02,",  # overlap: merged
             f"{s[6]},20x5-01-02,",  # unreadable start
             f"{s[7]},2025-06-02,2025-01-02",  # ends before it starts
             "GONE,2000-01-03,2025-02-03",  # a member without bars
             "OLDNAME,2001-01-02,"]  # the membership's spelling of an aliased bar ticker
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_checks_merges_refuses_and_reports_coverage(demo_root, tmp_path):
    symbols = demo_root.daily_symbols()
    path = _membership_file(tmp_path / "members.csv", symbols)
    code = runner.invoke(app, ["import", "universe", str(path), "--name", "mini",
                               "--alias", f"{symbols[9]}=OLDNAME", "--alias", "NOPE=NEWER",
                               "--data-dir", str(demo_root.root)])
    out = code.output
    assert code.exit_code == 3, out  # something refused, the rest imported
    assert "import universe mini: partial" in out
    assert f"refused {symbols[6]}: bad_date (1 row(s))" in out
    assert f"refused {symbols[7]}: end_before_start (1 row(s))" in out
    assert f"overlap_merged (repaired) 1 ticker(s): {symbols[5]}" in out
    assert "refused alias NOPE: NEWER has no membership interval" in out
    assert f"aliases: {symbols[9]}=OLDNAME" in out
    assert "without bars (1): GONE" in out
    left_out = sorted({*symbols[6:9], *symbols[10:]})
    assert f"bar symbols without membership ({len(left_out)}): {', '.join(left_out)}" in out
    doc = demo_root.read_universe()
    assert doc["name"] == "mini" and doc["aliases"] == {symbols[9]: "OLDNAME"}
    assert [i for i in doc["intervals"] if i["ticker"] == symbols[5]] == [
        {"ticker": symbols[5], "start": "2000-01-03", "end": None}]
    assert {i["ticker"] for i in doc["intervals"]} == {*symbols[:6], "GONE", "OLDNAME"}
    saved = json.loads(Path(out.split("report: ")[1].strip()).read_text())
    assert saved["kind"] == "universe" and saved["status"] == "partial"
    assert saved["items"][symbols[6]]["status"] == "refused"
    assert saved["coverage"]["no_bars_in_span"] == ["GONE"]
    # the same file again changes nothing
    again = import_universe(demo_root, path, name="mini", aliases={symbols[9]: "OLDNAME"})
    assert again.count("unchanged") == 8 and again.count("imported") == 0


def test_an_unreadable_file_imports_nothing(tmp_path):
    (tmp_path / "m.csv").write_text("symbol,when\nAAA,2020-01-02\n")
    res = runner.invoke(app, ["import", "universe", str(tmp_path / "m.csv"),
                              "--data-dir", str(tmp_path / "root")])
    assert res.exit_code == 1 and "no column for start" in res.output
    assert Store(tmp_path / "root").read_universe() is None


def test_aliases_file_and_bad_alias(tmp_path):
    (tmp_path / "a.txt").write_text("old,new\nCBG=CBRE  # renamed 2018\n\npcln,bkng\n")
    assert read_aliases(tmp_path / "a.txt") == {"CBG": "CBRE", "PCLN": "BKNG"}
    res = runner.invoke(app, ["import", "universe", str(tmp_path / "a.txt"), "--alias", "CBG",
                              "--data-dir", str(tmp_path / "root")])
    assert res.exit_code == 1 and "an alias is OLD=NEW" in res.output


def test_a_stored_universe_is_checked_on_read(store):
    store.write_json("universe", {"name": "x", "intervals": [
        {"ticker": "AAA", "start": "2020-01-02", "end": None}]})
    path = store.path("universe")
    path.write_text(json.dumps({"name": "x", "intervals": [
        {"ticker": "AAA", "start": "2020-03-02", "end": "2020-01-02"}]}))
    with pytest.raises(CorruptFileError, match="end 2020-01-02 is not after start"):
        store.read_universe()


def test_the_real_membership_file(shared_data, tmp_path):
    """The shared S&P 500 membership beside a handful of the shared bars: every interval kept,
    the old spellings aliased, the late joiners and the members without bars named."""
    bars = pd.read_parquet(shared_data / "sp500_5yr" / "all_stocks_5yr.parquet")
    few = bars[bars["Name"].isin(["AAPL", "AAL", "CBG", "PCLN", "FTV", "MSFT"])]
    few.to_csv(tmp_path / "few.csv", index=False)
    store = Store(tmp_path / "root")
    from jobs.imports import import_bars

    import_bars(store, [tmp_path / "few.csv"])
    report = import_universe(store, shared_data / MEMBERSHIP, aliases=REAL_ALIASES)
    assert report.status == "ok", report.lines()
    assert report.totals()["rows_read"] == 1230 and report.count("imported") == 1181
    cov = report.coverage
    assert cov["no_membership"] == [] and cov["never_member_in_bars"] == []
    assert "MSFT" not in cov["no_bars_in_span"] and "CBRE" not in cov["no_bars_in_span"]
    assert cov["members_in_span"] > 600
    ms = Membership.from_document(store.read_universe())
    assert ms.on("2014-06-02", ["AAL", "AAPL", "CBG", "FTV"]) == {"AAPL", "CBG"}
    assert ms.on("2016-08-01", ["AAL", "FTV"]) == {"AAL", "FTV"}  # AAL 2015, FTV 2016


# --------------------------------------------------------------------------- cross-sections


def _synthetic(market) -> tuple[pd.DataFrame, list[str], pd.DatetimeIndex]:
    bars = market.panel()
    days = pd.DatetimeIndex(sorted(bars["date"].unique()))
    return bars, sorted(bars["symbol"].unique()), days


def _membership(symbols: list[str], days: pd.DatetimeIndex, joins: int, leaves: int,
                **changed: tuple[str, str | None]) -> Membership:
    """Every name a member throughout, except symbols[0] (joins on session `joins`) and
    symbols[1] (leaves on session `leaves`); `changed` replaces a name's interval."""
    rows = {s: (str(days[0].date()), None) for s in symbols}
    rows[symbols[0]] = (str(days[joins].date()), None)
    rows[symbols[1]] = (str(days[0].date()), str(days[leaves].date()))
    rows |= changed
    return Membership("test", _intervals(*((s, a, b) for s, (a, b) in rows.items())))


def test_no_cross_section_holds_a_name_before_it_joins_or_after_it_leaves(synthetic_market):
    from aion_core.ml.dataset import build_dataset
    from aion_core.ml.features import RANK_FEATURES, RANKED_RESIDUAL_FEATURES, build_features
    from aion_core.ml.universe import mark_members

    bars, symbols, days = _synthetic(synthetic_market)
    joins, leaves = 400, 420
    ms = _membership(symbols, days, joins, leaves)
    data = build_dataset(mark_members(bars, ms)).frame
    new, gone = data[data["symbol"] == symbols[0]], data[data["symbol"] == symbols[1]]
    assert new["date"].min() == days[joins] and gone["date"].max() == days[leaves - 1]
    assert len(data) == len(bars) - joins - (len(days) - leaves)
    # Before the join, the other names' ranks and residual factors are those of a panel
    # without the newcomer at all: it never entered their cross-section.
    before = data[(data["date"] < days[joins]) & (data["date"] > days[leaves - 30])]
    alone = build_features(bars[(bars["symbol"] != symbols[0])
                                & (bars["date"] < days[leaves])].reset_index(drop=True))
    alone = alone[alone["date"].isin(before["date"])]
    cols = RANK_FEATURES + RANKED_RESIDUAL_FEATURES
    pd.testing.assert_frame_equal(before[["symbol", "date", *cols]].reset_index(drop=True),
                                  alone[["symbol", "date", *cols]].reset_index(drop=True))
    # On its first day in the index the newcomer's own features come from its own bars
    # before (the warm-up): the same as without a membership, its residuals ready too.
    plain = build_features(bars)
    first = plain[(plain["symbol"] == symbols[0]) & (plain["date"] == days[joins])]
    row = new[new["date"] == days[joins]]
    for col in ("rsi_14", "ret_60d", "dist_52w_high", "vol_20d"):
        assert row[col].iloc[0] == first[col].iloc[0]
    assert row[RANKED_RESIDUAL_FEATURES].notna().all(axis=None)


def test_features_at_t_ignore_membership_after_t(synthetic_market):
    """No look-ahead through the universe: intervals changed only after t (a name that
    leaves later or never, one that joins later or never) leave every feature at t as it
    was."""
    from aion_core.ml.dataset import build_dataset
    from aion_core.ml.universe import mark_members

    bars, symbols, days = _synthetic(synthetic_market)
    t = days[380]
    base = _membership(symbols, days, 300, 450,
                       **{symbols[2]: (str(days[430].date()), None)})
    later = _membership(symbols, days, 300, 390,  # symbols[1] leaves sooner, still after t
                        **{symbols[2]: (str(days[385].date()), None),  # joins sooner
                           symbols[3]: (str(days[0].date()), str(days[381].date()))})
    a = build_dataset(mark_members(bars, base))
    b = build_dataset(mark_members(bars, later))
    cols = ["symbol", "date", *a.feature_columns]
    at_a = a.frame[a.frame["date"] <= t][cols].reset_index(drop=True)
    at_b = b.frame[b.frame["date"] <= t][cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(at_a, at_b)
    assert base.on(t, symbols) == later.on(t, symbols)
    # the control: a change on or before t does show
    sooner = _membership(symbols, days, 300, 450, **{symbols[2]: (str(days[370].date()), None)})
    c = build_dataset(mark_members(bars, sooner))
    at_c = c.frame[c.frame["date"] <= t][cols].reset_index(drop=True)
    assert len(at_c) == len(at_a) + 11


def test_the_bucketed_dataset_is_the_same_with_a_membership(synthetic_market):
    from aion_core.ml.buckets import build_bucketed, model_columns
    from aion_core.ml.dataset import build_dataset
    from aion_core.ml.universe import mark_members

    bars, symbols, days = _synthetic(synthetic_market)
    marked = mark_members(bars, _membership(symbols, days, 300, 420))
    whole = build_dataset(marked)
    parts = []
    bucketed = build_bucketed(marked, None, None, parts.append, size=5)
    cols = model_columns(whole)
    pd.testing.assert_frame_equal(bucketed.frame[cols], whole.frame[cols])
    assert len(pd.concat(parts)) == len(whole.frame)


# --------------------------------------------------------------------------- the bots


def test_a_held_name_that_left_is_sold_and_a_non_member_is_never_bought():
    from aion_core.bots.signals import generate_orders
    from aion_core.bots.swing import fresh_state
    from aion_core.knobs.schema import effective_knobs

    knobs = effective_knobs({}, "swing", "1w")
    syms = [f"N{i:02d}" for i in range(20)]
    preds = pd.DataFrame({"expected_return": np.linspace(0.05, -0.05, 20),
                          "confidence": 0.9}, index=syms)
    prices = pd.Series(50.0, index=[*syms, "LEFT"])
    state = fresh_state("b", 100_000) | {"positions": {"LEFT": {
        "qty": 10, "avg_price": 50.0, "entry_date": "2024-03-01", "last_price": 50.0}}}
    session = pd.Timestamp("2024-03-04")
    members = frozenset(syms[1:])  # N00, the best forecast, is not a member
    got = generate_orders(preds, state, knobs, prices, session, members)
    sells = [(o.symbol, o.reason) for o in got.orders if o.side == "sell"]
    bought = {o.symbol for o in got.orders if o.side == "buy"}
    assert sells == [("LEFT", "left_index")] and got.screen.left_index == 1
    assert bought and "N00" not in bought and bought <= members
    # Without a membership the held name without a forecast stays, and N00 is bought.
    plain = generate_orders(preds, state, knobs, prices, session)
    assert not [o for o in plain.orders if o.side == "sell"]
    assert "N00" in {o.symbol for o in plain.orders}


REAL_NAMES = ["AAL", "AAPL", "AMD", "CBG", "CSCO", "F", "GE", "INTC", "JPM", "KO", "MSFT",
              "PFE", "T", "WMT", "XOM", "AAP", "HCA"]


@pytest.fixture(scope="module")
def real_members(request) -> tuple[pd.DataFrame, Membership]:
    """A handful of the shared S&P 500 bars, marked with the real membership: AAL joined on
    2015-03-23, AMD left on 2013-09-23 (and came back on 2017-03-20), CBG is CBRE."""
    from conftest import SHARED_DATA

    from aion_core.ml.universe import mark_members

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    raw = pd.read_parquet(SHARED_DATA / "sp500_5yr" / "all_stocks_5yr.parquet")
    raw = raw[raw["Name"].isin(REAL_NAMES)].rename(columns={"Name": "symbol"})
    bars = raw.assign(date=pd.to_datetime(raw["date"]).astype("datetime64[ns]"))
    bars = bars.sort_values(["symbol", "date"]).reset_index(drop=True)
    for col in ("open", "high", "low"):
        bars[col] = bars[col].fillna(bars["close"])
    table = pd.read_csv(SHARED_DATA / MEMBERSHIP, keep_default_na=False)
    ms = Membership("sp500", pd.DataFrame({
        "ticker": table["ticker"], "start": pd.to_datetime(table["start_date"]),
        "end": pd.to_datetime(table["end_date"].replace("", None))}), REAL_ALIASES)
    return mark_members(bars, ms), ms


def test_on_the_real_membership_a_2015_joiner_has_no_2014_row_anywhere(real_members):
    from aion_core.ml import model
    from aion_core.ml.dataset import build_dataset

    bars, ms = real_members
    data = build_dataset(bars)
    frame = data.frame
    aal = frame[frame["symbol"] == "AAL"]
    assert aal["date"].min() == pd.Timestamp("2015-03-23")  # no 2014 row: no rank, no label
    assert aal.loc[aal["date"] == "2015-03-23", "rank_resid_rev5"].notna().all()
    amd = frame[frame["symbol"] == "AMD"]["date"]
    assert amd[amd < "2017-03-20"].max() == pd.Timestamp("2013-09-20")
    assert amd[amd >= "2013-09-23"].min() == pd.Timestamp("2017-03-20")
    assert (frame["symbol"] == "CBG").sum() > 1000  # the alias: CBRE's membership
    # a 2014 cross-section: the ranks span the other names only
    day = frame[frame["date"] == "2014-06-02"]
    assert "AAL" not in set(day["symbol"]) and "AMD" not in set(day["symbol"])
    assert day["rank_resid_rev5"].max() == 1.0 and day["rank_resid_rev5"].count() == len(day)
    # training rows and a model's predictions, on 2014 and 2016 rows
    fitted = model.train(frame, data.feature_columns, pd.Timestamp("2014-06-02"), ["1w"],
                         config=replace(model.QUICK, model="composite"))
    data_2014 = model.TrainingMatrix.build(frame, data.feature_columns, "2014-06-02")
    assert "AAL" not in set(data_2014.symbols[data_2014.eligible("1w")])
    pred = model.predict(fitted["1w"], day)
    assert "AAL" not in set(pred["symbol"]) and len(pred) == len(day)
    later = model.predict(fitted["1w"], frame[frame["date"] == "2016-06-01"])
    assert "AAL" in set(later["symbol"]) and "AMD" not in set(later["symbol"])


def test_on_the_real_membership_a_name_that_left_keeps_its_exit(real_members):
    from aion_core.bots.ledger import Book
    from aion_core.bots.registry import swing_bot
    from aion_core.bots.swing import SwingPlanner, SwingSession, fresh_state
    from aion_core.knobs.schema import effective_knobs
    from jobs.replay import Market

    bars, ms = real_members
    market = Market(bars, ms)
    out = pd.Timestamp("2013-09-23")  # AMD's first session out of the index
    assert "AMD" in market.members(market.previous(out))
    members = market.members(out)
    assert "AMD" not in members and "AAPL" in members
    bot = swing_bot("1w")
    planner = SwingPlanner(bot, effective_knobs({}, "swing", "1w"))
    state = fresh_state(bot.name, 100_000)
    book = Book(cash=90_000.0, positions={"AMD": {"qty": 1000, "avg_price": 3.5,
                                                  "entry_date": "2013-09-10",
                                                  "last_price": 3.4}})
    preds = pd.DataFrame({"expected_return": [0.01] * len(members), "confidence": 0.6},
                         index=sorted(members))
    run = SwingSession(pd.Timestamp("2013-09-24"), preds, market.prices(
        pd.Timestamp("2013-09-24")), "2013-09-24T20:00:00+00:00", members)
    plan = planner.plan(run, book, state)
    assert [(o.symbol, o.side, o.reason) for o in plan.orders if o.symbol == "AMD"] == [
        ("AMD", "sell", "left_index")]


# --------------------------------------------------------------------------- the jobs


def test_nightly_and_backtest_predict_and_trade_members_only(demo_root):
    """The nightly predicts the members of its as_of only (the others are no fault: the run
    stays ok); a backtest's predictions and entries hold each decision date's members."""
    from datetime import UTC, date, datetime

    from aion_core.config import load_settings
    from aion_core.ml.universe import Membership
    from jobs.nightly import run_nightly
    from jobs.replay import run_backtest

    symbols = demo_root.daily_symbols()
    rows = [{"ticker": s, "start": "2000-01-03", "end": None} for s in symbols[2:]]
    rows += [{"ticker": symbols[0], "start": "2026-11-09", "end": None},  # joins in the window
             {"ticker": symbols[1], "start": "2000-01-03", "end": "2026-11-05"}]  # leaves
    demo_root.write_json("universe", {"name": "mini", "intervals": rows})
    settings = load_settings(demo_root.root, env_file=None).model_copy(
        update={"aion_retrain_every": 30})
    summary = run_nightly(demo_root, settings, skip_fetch=True, as_of=date(2026, 11, 6),
                          now=lambda: datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    assert summary["status"] == "ok", summary["steps"]
    brain = demo_root.read_json("rolling_brain")
    assert set(brain["symbols"]) == set(symbols[2:])
    predict = next(s for s in summary["steps"] if s["name"] == "predict")
    assert "2 not in mini on 2026-11-06, not predicted" in predict["detail"]
    assert demo_root.read_json("ml_models_meta", horizon="1w")["universe"]["name"] == "mini"

    run_backtest(demo_root, settings, date(2026, 11, 2), date(2026, 11, 13), ["1w"])
    (folder,) = (demo_root.root / "research" / "backtests").iterdir()
    made = pd.read_parquet(folder / "predictions.parquet")
    ms = Membership.from_document(demo_root.read_universe())
    assert ms.mask(made["symbol"], made["as_of"]).all()
    assert symbols[0] in set(made["symbol"]) and symbols[1] in set(made["symbol"])
    trades = [json.loads(line) for line in (folder / "trades.jsonl").read_text().splitlines()]
    buys = pd.DataFrame([t for t in trades if t["side"] == "buy"])
    decided = pd.to_datetime(buys["ts"]).dt.tz_convert("America/New_York").dt.normalize()
    previous = made.drop_duplicates("date").set_index("date")["as_of"]
    as_of = previous.reindex(decided.dt.tz_localize(None).to_numpy()).to_numpy()
    assert len(buys) and ms.mask(buys["symbol"], as_of).all()
    for name in ("run.json", "metrics.json"):
        note = json.loads((folder / name).read_text())["universe"]
        assert note["name"] == "mini" and note["members_without_bars"] == 0


def test_an_evaluation_names_its_universe_and_without_one_says_upper_bound(demo_root):
    from datetime import date

    from aion_core.ml import model
    from aion_core.ml.universe import SURVIVORSHIP
    from jobs.evaluate import run_evaluation, summary_lines

    symbols = demo_root.daily_symbols()
    demo_root.write_json("universe", {"name": "mini", "intervals": [
        {"ticker": s, "start": "2000-01-03", "end": None} for s in [*symbols[1:], "GONE"]]})
    config = replace(model.QUICK, model="composite")
    doc = run_evaluation(demo_root, date(2026, 9, 1), date(2026, 10, 30), 40, ["1w"],
                         config=config)
    assert doc["universe"]["name"] == "mini" and doc["universe"]["members_without_bars"] == 1
    lines = summary_lines(doc)
    assert lines[-1].startswith("  Cross-sections hold the members of mini on each date; 1 of")
    assert SURVIVORSHIP not in " ".join(lines)
    predictions = pd.read_parquet(demo_root.path("evaluation_predictions", eval_id=doc["id"]))
    assert symbols[0] not in set(predictions["symbol"])
    assert summary_lines({**doc, "universe": None})[-1] == f"  {SURVIVORSHIP}"
