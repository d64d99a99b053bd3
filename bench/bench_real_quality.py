"""Forecast quality on real data, on the dev years: prints ONE JSON line.

    .venv/bin/python bench/bench_real_quality.py [--file PATH] [--retrain-every 63]
                                                 [--start 2015-01-02 --end 2016-12-30]
                                                 [--universe FILE [--alias OLD=NEW ...]]

Imports the shared S&P 500 file into a temporary data root (`aion import bars`, as a user
would, with the FRED series the macro features read when ../shared/data/fred has them) and
runs `aion evaluate` over the dev years 2015-01-02..2016-12-30 with quarterly refits (63
sessions): the nightly's recipe. 2017 has been looked at and is no longer a clean holdout, so
the default window is the dev years; decisions are made here, never on a later window.

Prints, per horizon: the verdict (the model against the zero-parameter composite of its
ranked inputs and the best baseline, paired per date); on the tradeable label (open t+1 to
open t+1+h, where the bots fill) the model's and every baseline's mean rank IC, Newey-West t
(lags 2h), the non-overlapping t, top-minus-bottom; the same on close-to-close; the model's
and the composite's net-of-cost books (top-N long-only and decile long-short, overlapping
cohorts, the bots' fees and slippage); the long-short PSR and deflated Sharpe; by year.
Every run is a trial: the temporary root's registry is lost, so say each run in the note.
Skips (a JSON line saying so) when the file is absent.

`--universe FILE` imports index membership intervals into the temporary root (`aion import
universe`, e.g. ../shared/data/sp500_membership/sp500_ticker_start_end.csv), so every
cross-section holds each date's members only; without it the figures are upper bounds
(survivorship), and the JSON line says which. The bars of the default file spell six tickers
the old way: their aliases (CBG=CBRE, ...) are passed unless `--alias` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aion_core.store import Store  # noqa: E402
from jobs.evaluate import run_evaluation  # noqa: E402
from jobs.imports import import_bars, import_macro  # noqa: E402
from jobs.universe import import_universe, parse_alias  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "sp500_5yr" / "all_stocks_5yr.parquet"
FRED = REPO.parent / "shared" / "data" / "fred"
MACRO = ("DGS10", "T10Y2Y", "CPIAUCSL", "UNRATE")
START, END = date(2015, 1, 2), date(2016, 12, 30)
#: The default file's bar tickers spelt before the membership file's (docs/DATA.md).
SP500_5YR_ALIASES = {"CBG": "CBRE", "DPS": "KDP", "HCN": "WELL", "LUK": "JEF",
                     "PCLN": "BKNG", "WYN": "WYND"}
KEYS = ("mean_rank_ic", "rank_ic_nw_se", "rank_ic_t", "rank_ic_t_nonoverlap", "rank_icir",
        "days_positive", "mean_ic", "top_minus_bottom", "days")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--retrain-every", type=int, default=63)
    parser.add_argument("--start", type=date.fromisoformat, default=START)
    parser.add_argument("--end", type=date.fromisoformat, default=END)
    parser.add_argument("--universe", type=Path, default=None,
                        help="membership intervals (ticker,start_date,end_date) to import")
    parser.add_argument("--alias", action="append", default=None,
                        help="OLD=NEW: a bar ticker = the membership's (repeatable)")
    args = parser.parse_args()
    if not args.file.exists():
        print(json.dumps({"bench": "real_quality", "skipped": f"{args.file} is absent"}))
        return
    with tempfile.TemporaryDirectory(prefix="bench_quality_") as tmp:
        store = Store(Path(tmp) / "root")
        import_bars(store, [args.file])
        macro = [FRED / f"{s}.csv" for s in MACRO if (FRED / f"{s}.csv").exists()]
        if macro:
            import_macro(store, macro)
        universe = None
        if args.universe is not None:
            aliases = dict(map(parse_alias, args.alias)) if args.alias is not None \
                else SP500_5YR_ALIASES if args.file == DEFAULT else {}
            got = import_universe(store, args.universe, aliases=aliases)
            cov = got.coverage or {}
            universe = {"file": str(args.universe), "status": got.status,
                        "aliases": (got.aliases or {}).get("used", {}),
                        "members_in_bars_span": cov.get("members_in_span"),
                        "members_without_bars": len(cov.get("no_bars_in_span", [])),
                        "bar_symbols_without_membership": cov.get("no_membership")}
        started = time.perf_counter()
        doc = run_evaluation(store, args.start, args.end, args.retrain_every)
        seconds = time.perf_counter() - started
    out: dict = {"bench": "real_quality", "window": f"{args.start}..{args.end}",
                 "retrain_every": args.retrain_every, "symbols": doc["data"]["symbols"],
                 "macro_series": [p.stem for p in macro],
                 "universe": universe, "universe_line": (doc.get("universe") or {}).get("line"),
                 "seconds": round(seconds, 1)}
    for h, rep in doc["horizons"].items():
        names = ("model", *(b for b in rep["all"] if b != "model"))
        books = rep["portfolios"]
        out[h] = {
            "verdict": rep["verdict"],
            "tradeable": {n: {k: _round(rep["all"][n][k]) for k in KEYS} for n in names},
            "close_to_close": {n: _round(rep["close_to_close"]["all"][n]["mean_rank_ic"])
                               for n in names},
            "versus": {b: {k: _round(v) for k, v in t.items()} for b, t in rep["versus"].items()},
            "books_net": {n: {kind: {"annual_return": _round(b[kind]["net"]["annual_return"]),
                                     "sharpe": _round(b[kind]["net"]["sharpe"]),
                                     "turnover_per_year": _round(b[kind]["turnover_per_year"]),
                                     "cost_drag_per_year": _round(b[kind]["cost_drag_per_year"])}
                                for kind in ("top_n", "long_short")}
                          | {"top_n_net_excess_over_universe": _round(
                              b["top_n"]["net_excess_over_universe"]["annual_return"])}
                          for n, b in books.items()},
            "long_short_psr_dsr": doc["deflated"]["horizons"][h],
            "by_year": {y: {n: _round(b[n]["mean_rank_ic"]) for n in ("model", "composite")}
                        for y, b in rep["by_year"].items()}}
    print(json.dumps(out))


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 5)


if __name__ == "__main__":
    main()
