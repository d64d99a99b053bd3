"""App speed: each page's script run under AppTest, cold (empty cache) and warm (cached).

Data root: 500 symbols with a year of daily bars and a year of history for every bot (tests/
app_data.py, CONTRACT.md formats), and RUNS year-long backtests of the three swing bots in the
Research page's files. Research is also timed warm at 5,000 symbols (bars and runs only: its
loaders read no other file). Prints ONE JSON line: seconds per page, cold and warm (median of
3 warm runs). Goals: warm < 0.3 s, cold < 2 s; Research warm < 0.5 s at 5,000 symbols.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

N_SYMBOLS, SESSIONS, BIG_SYMBOLS = 500, 252, 5_000
PAGES = ["dashboard", "bots", "predictions", "models", "research", "config", "logs", "admin"]
RUNS, BOTS, TRIPS_A_DAY = 4, ("swing_1w", "swing_2w", "swing_4w"), 10
EXITS = ("horizon", "take_profit", "stop_loss", "reversal")


def _fill(bot: str, sym: str, day: datetime, side: str, price: float, reason: str,
          pnl: float) -> dict[str, object]:
    return {"ts": f"{day:%Y-%m-%d}T13:30:00+00:00", "bot": bot, "symbol": sym, "side": side,
            "qty": 100, "price": round(price, 4), "fees": 1.0, "reason": reason,
            "order_id": f"{bot}-{day:%Y%m%d}-{sym}-{side}", "realized_pnl": round(pnl, 4),
            "session": f"{day:%Y-%m-%d}"}


def add_backtests(store, symbols: list[str], sessions, seed: int = 1) -> None:
    """RUNS finished backtests over `sessions` in run_backtest's files: equity of three bots
    and the benchmark (USD), TRIPS_A_DAY round trips a bot a day across `symbols` (the page
    recomputes every figure from these, so their size is what the benchmark measures)."""
    import numpy as np
    import pandas as pd

    from aion_core.bots import performance
    from aion_core.store import write_json, write_parquet, write_text

    rng = np.random.default_rng(seed)
    for r in range(RUNS):
        run_id = f"bt_20261101T0000{r:02d}"
        out = store.path("backtest_run", backtest_id=run_id).parent
        curves, trades, sheets = [], [], {}
        bench = pd.Series(1e5 * np.cumprod(1 + rng.normal(3e-4, 0.01, len(sessions))), sessions)
        for bot in BOTS:
            equity = pd.Series(1e5 * np.cumprod(1 + rng.normal(4e-4, 0.008, len(sessions))),
                               sessions)
            gross = equity * rng.uniform(0.3, 0.9, len(sessions))
            bot_trades = []
            for i, day in enumerate(sessions[:-5]):
                for sym in rng.choice(symbols, TRIPS_A_DAY, replace=False):
                    price, ret = float(rng.uniform(10, 200)), float(rng.normal(0.002, 0.04))
                    exit_day = sessions[i + int(rng.integers(1, 6))]
                    bot_trades += [_fill(bot, sym, day, "buy", price, "entry", 0.0),
                                   _fill(bot, sym, exit_day, "sell", price * (1 + ret),
                                         str(rng.choice(EXITS)), 100 * price * ret - 2.0)]
            bot_trades.sort(key=lambda t: t["ts"])
            trades += bot_trades
            sheets[bot] = performance.tear_sheet(equity, bot_trades, gross, 1e5, bench)
            curves.append(pd.DataFrame({"date": sessions, "bot": bot, "equity": equity.to_numpy(),
                                        "cash": (equity - gross).to_numpy(),
                                        "gross": gross.to_numpy()}))
        curves.append(pd.DataFrame({"date": sessions, "bot": "benchmark",
                                    "equity": bench.to_numpy(), "cash": 0.0,
                                    "gross": bench.to_numpy()}))
        span = {"start": f"{sessions[0]:%Y-%m-%d}", "end": f"{sessions[-1]:%Y-%m-%d}"}
        write_json(out / "metrics.json", {**span, "bots": sheets, "benchmark": {
            "total_return": float(bench.iloc[-1] / 1e5 - 1)}})
        write_parquet(out / "equity.parquet", pd.concat(curves, ignore_index=True))
        write_text(out / "trades.jsonl", "".join(json.dumps(t) + "\n" for t in trades))
        write_json(out / "run.json", {
            "id": run_id, "created_at": datetime(2026, 11, 1, tzinfo=UTC).isoformat(), **span,
            "bots": list(BOTS), "retrain_every": 21, "predictor": "model",
            "knobs": {b: {"initial_cash": 1e5} for b in BOTS}, "settings": {}})


def time_page(repo: Path, page: str) -> dict[str, float]:
    """Cold (empty st.cache_data) and warm (median of 3) seconds of one page's script run."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    at = AppTest.from_file(str(repo / "app.py"), default_timeout=120)
    at.switch_page(f"pages/{page}.py")
    t = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t
    assert not at.exception, (page, [e.value for e in at.exception])
    warm = []
    for _ in range(3):
        t = time.perf_counter()
        at.run()
        warm.append(time.perf_counter() - t)
    return {"cold_s": round(cold, 3), "warm_s": round(statistics.median(warm), 3)}


def big_research_root(root: Path) -> None:
    """BIG_SYMBOLS symbols of a year's daily bars, and the runs trading across all of them."""
    import numpy as np
    import pandas as pd

    from aion_core.store import Store

    store, rng = Store(root), np.random.default_rng(2)
    sessions = pd.bdate_range(end="2026-11-20", periods=SESSIONS)
    symbols = [f"S{i:04d}" for i in range(BIG_SYMBOLS)]
    for sym in symbols:
        close = 50 * np.cumprod(1 + rng.normal(0, 0.01, SESSIONS))
        store.write_daily(sym, pd.DataFrame({
            "symbol": sym, "date": sessions, "open": close, "high": close * 1.01,
            "low": close * 0.99, "close": close, "volume": 1e6}))
    add_backtests(store, symbols, sessions)


def main() -> None:
    import pandas as pd
    from app_data import add_models, build_filled_root

    from aion_core.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = Store(Path(tmp) / "data")
        build_filled_root(store, n_symbols=N_SYMBOLS, sessions=SESSIONS, history_days=60)
        add_models(store)  # the Models page's dataset and model files
        add_backtests(store, store.daily_symbols(),
                      pd.DatetimeIndex(sorted(store.read_daily_panel()["date"].unique())))
        build_s = time.perf_counter() - t0
        os.environ["AION_DATA_DIR"] = str(store.root)
        result: dict[str, object] = {"bench": "app", "symbols": N_SYMBOLS,
                                     "sessions": SESSIONS, "build_s": round(build_s, 1)}
        for page in PAGES:
            result[page] = time_page(REPO, page)
        big = Path(tmp) / "big"
        big_research_root(big)
        os.environ["AION_DATA_DIR"] = str(big)
        result[f"research_{BIG_SYMBOLS}"] = time_page(REPO, "research")
        print(json.dumps(result))


if __name__ == "__main__":
    main()
