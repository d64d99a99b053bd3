"""The swing bots on real data, the rules before issue 25 against today's, on the same
predictions: prints ONE JSON line.

    .venv/bin/python bench/bench_bots_real.py [--file PATH] [--start 2014-01-02]
                                              [--end 2016-12-30] [--old-rules SHA]

Imports the shared S&P 500 file into a temporary data root (`aion import bars`), builds the
forecasts once the way a backtest does (AION_MODEL=auto: the composite on real bars, refit
every 21 sessions, only data before each session) and keeps them in a parquet file; then
backtests the three swing bots with their default knobs over the window twice, each in a
process of its own fed the same bars and forecasts: with this tree's rules, and with the
rules of `--old-rules` (default OLD_RULES, the last commit before issue 25) checked out in a
temporary git worktree. The window is the dev years (2013 is the features' warm-up); a test
window is never run here.

Also the forecasts' confidence reliability per horizon (confidence bin against the share of
names that landed on the side of the date's median their rank said, tradeable label).
Per bot and rules, whole window and per calendar year: net return, excess over the
equal-weight benchmark, Sharpe, turnover a year (traded notional over mean equity), cost drag
a year (fees and the knobs' slippage over mean equity), beta to the benchmark, the share of
sessions with a position. Ratios: new over old turnover and cost drag. Every run is a trial
(research/trials.jsonl of the temporary root is lost: say each run in the note). Skips, with
a JSON line saying so, when the file or git is absent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from aion_core.bots import performance  # noqa: E402
from aion_core.config import HORIZONS, load_settings  # noqa: E402
from aion_core.knobs.schema import SWING_KNOBS  # noqa: E402
from aion_core.store import Store, read_parquet  # noqa: E402
from jobs.imports import import_bars  # noqa: E402

DEFAULT = REPO.parent / "shared" / "data" / "sp500_5yr" / "all_stocks_5yr.parquet"
OLD_RULES = "3e7ed96"  # AION_MODEL landed; the bots' rules as issue 25 found them
START, END = date(2014, 1, 2), date(2016, 12, 30)

# Run in a code tree (this one or the old rules' worktree): the backtest of the three swing
# bots over the given bars and forecasts, into OUT. argv: root, forecasts, start, end, out.
BACKTEST = r"""
import sys
from datetime import date
from pathlib import Path
sys.path.insert(0, ".")
import pandas as pd
from aion_core.config import load_settings
from aion_core.store import Store
from jobs.replay import Market, run_backtest

root, forecasts, start, end, out = sys.argv[1:6]
store = Store(Path(root))
market = Market(store.read_daily_panel())
made = pd.read_parquet(forecasts)
by = {key: frame.set_index("symbol")[["expected_return", "confidence"]]
      for key, frame in made.groupby(["session", "horizon"])}

def predict(session, horizons):
    return {h: by[(session, h)] for h in horizons if (session, h) in by}

run_backtest(store, load_settings(store.root, env_file=None), date.fromisoformat(start),
             date.fromisoformat(end), ["1w", "2w", "4w"], Path(out), predictor=predict,
             market=market)
"""


def forecasts(store: Store, start: date, end: date, path: Path) -> int:
    """The backtest's own forecasts of every session, kept as (session, horizon, symbol)."""
    from jobs.replay import model_predictor

    settings = load_settings(store.root, env_file=None)
    market, sessions, predictor = model_predictor(store, settings, start, end)
    frames = []
    for session in sessions:
        for h, frame in predictor(session, list(HORIZONS)).items():
            frames.append(frame[["expected_return", "confidence"]].reset_index()
                          .assign(session=session, date=market.previous(session), horizon=h))
    made = pd.concat(frames, ignore_index=True)
    made.to_parquet(path)
    return len(sessions)


def reliability(store: Store, made: Path) -> dict[str, list[dict[str, float]]]:
    """Per horizon, the forecasts' confidence bins against the share of names that landed on
    the side of their date's median their rank said, on the tradeable label (issue 25, item
    4: confidence earns a place in sizing only if this is not flat)."""
    from aion_core.ml.evaluation import calibration_table
    from aion_core.ml.labels import open_forward_returns

    truth = open_forward_returns(store.read_daily_panel(), dict(HORIZONS))
    frame = pd.read_parquet(made)
    out = {}
    for h, rows in frame.groupby("horizon"):
        judged = rows.merge(truth[["symbol", "date", f"open_fwd_{h}"]], on=["symbol", "date"])
        out[str(h)] = [{k: round(v, 4) for k, v in row.items()} for row in calibration_table(
            judged.rename(columns={f"open_fwd_{h}": "realised"}))]
    return out


def backtest(code: Path, root: Path, made: Path, start: date, end: date, out: Path) -> float:
    """The backtest in `code`'s tree, in a process of its own; its seconds."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", BACKTEST, str(root), str(made), str(start),
                           str(end), str(out)], cwd=code, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the backtest in {code} failed: {done.stderr[-3000:]}")
    return time.perf_counter() - t0


def figures(out: Path, cost_bps: float) -> dict[str, dict[str, dict[str, float]]]:
    """Per bot, `all` and each year: the bench's figures from a backtest's report files."""
    equity = read_parquet(out / "equity.parquet")
    trades = pd.read_json(out / "trades.jsonl", lines=True)
    trades["date"] = pd.to_datetime(trades["session"])
    trades["notional"] = trades["qty"] * trades["price"]
    trades["cost"] = trades["fees"] + trades["notional"] * cost_bps / 1e4
    equity["date"] = pd.to_datetime(equity["date"])
    curves = equity.pivot(index="date", columns="bot", values="equity")
    bench = curves["benchmark"].pct_change()
    out_figures: dict[str, dict[str, dict[str, float]]] = {}
    for bot in [c for c in curves.columns if c != "benchmark"]:
        mine = equity[equity["bot"] == bot].set_index("date")
        fills = trades[trades["bot"] == bot]
        per: dict[str, dict[str, float]] = {}
        for label, days in [("all", curves.index)] + [
                (str(y), curves.index[curves.index.year == y])
                for y in sorted(set(curves.index.year))]:
            eq = curves.loc[days, bot]
            r = curves[bot].pct_change().loc[days].dropna()
            b = bench.loc[r.index]
            years = len(days) / 252
            mean_equity = float(eq.mean())
            done = fills[fills["date"].isin(days)]
            first = curves[bot].shift(1).loc[days].iloc[0]
            first = first if np.isfinite(first) else eq.iloc[0]
            bfirst = curves["benchmark"].shift(1).loc[days].iloc[0]
            bfirst = bfirst if np.isfinite(bfirst) else curves.loc[days, "benchmark"].iloc[0]
            ret = float(eq.iloc[-1] / first - 1)
            bret = float(curves.loc[days, "benchmark"].iloc[-1] / bfirst - 1)
            per[label] = {
                "net_return": round(ret, 4), "excess_return": round(ret - bret, 4),
                "sharpe": round(performance.sharpe(r), 2) if r.std() > 0 else None,
                "turnover_per_year": round(float(done["notional"].sum()) / mean_equity / years, 1),
                "cost_drag_per_year": round(float(done["cost"].sum()) / mean_equity / years, 4),
                "beta": round(performance.alpha_beta(r, b)[1], 2),
                "invested_share": round(float((mine.loc[days, "gross"] > 0).mean()), 3)}
        out_figures[bot] = per
    return out_figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", type=Path, default=DEFAULT)
    parser.add_argument("--start", type=date.fromisoformat, default=START)
    parser.add_argument("--end", type=date.fromisoformat, default=END)
    parser.add_argument("--old-rules", default=OLD_RULES)
    args = parser.parse_args()
    if not args.file.exists():
        print(json.dumps({"bench": "bots_real", "skipped": f"{args.file} is absent"}))
        return
    with tempfile.TemporaryDirectory(prefix="bench_bots_") as tmp:
        tmp = Path(tmp)
        old = tmp / "old_rules"
        made = subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach",
                               str(old), args.old_rules], capture_output=True, text=True)
        if made.returncode:
            print(json.dumps({"bench": "bots_real", "skipped": f"no worktree of "
                              f"{args.old_rules}: {made.stderr.strip()[:200]}"}))
            return
        try:
            store = Store(tmp / "root")
            import_bars(store, [args.file])
            t0 = time.perf_counter()
            sessions = forecasts(store, args.start, args.end, tmp / "forecasts.parquet")
            predict_s = time.perf_counter() - t0
            confidence = reliability(store, tmp / "forecasts.parquet")
            cost_bps = next(k.default for k in SWING_KNOBS["1w"] if k.name == "slippage_bps")
            runs = {}
            for rules, code in (("old", old), ("new", REPO)):
                out = tmp / f"bt_{rules}"
                seconds = backtest(code, store.root, tmp / "forecasts.parquet", args.start,
                                   args.end, out)
                runs[rules] = {"seconds": round(seconds, 1), "bots": figures(out, cost_bps)}
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)],
                           capture_output=True)
    ratios = {bot: {key: round(runs["new"]["bots"][bot]["all"][key]
                               / runs["old"]["bots"][bot]["all"][key], 3)
                    if runs["old"]["bots"][bot]["all"][key] else None
                    for key in ("turnover_per_year", "cost_drag_per_year")}
              for bot in runs["new"]["bots"]}
    print(json.dumps({"bench": "bots_real", "file": args.file.name, "start": str(args.start),
                      "end": str(args.end), "sessions": sessions, "old_rules": args.old_rules,
                      "forecast_seconds": round(predict_s, 1), "runs": runs,
                      "confidence_reliability": confidence,
                      "new_over_old": ratios}))


if __name__ == "__main__":
    main()
