"""A point-in-time universe (issue 26): `aion import universe`, membership on each date, and
cross-sections, training rows, predictions and entries that hold members only."""

from __future__ import annotations

import json
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
