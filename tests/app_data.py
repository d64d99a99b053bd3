"""A plausible filled data root in CONTRACT.md's formats, for the app's tests and benchmark.

Built directly from the contract (not by running the jobs) so the app can be tested at any
size in a second: daily bars, both brains with regime and portfolio, model metadata, bot
states with a history of equity and trades, the intraday bot, prediction history, a nightly
log and summary, and a scheduler heartbeat. Random but seeded: same arguments, same files.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from aion_core.config import HORIZONS
from aion_core.store import Store, append_jsonl, write_parquet, write_text

END = pd.Timestamp("2026-11-20")
FEATURES = ["ret_5", "ret_20", "rsi_14", "macd", "atr_14", "vol_20", "sma_ratio", "news_tone"]


def _bars(rng: np.random.Generator, symbol: str, dates: pd.DatetimeIndex) -> pd.DataFrame:
    close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.018, len(dates))))
    spread = np.abs(rng.normal(0, 0.01, len(dates))) * close
    open_ = close * (1 + rng.normal(0, 0.006, len(dates)))
    return pd.DataFrame({"symbol": symbol, "date": dates, "open": open_,
                         "high": np.maximum(open_, close) + spread,
                         "low": np.minimum(open_, close) - spread, "close": close,
                         "volume": rng.integers(100_000, 5_000_000, len(dates)).astype(float)})


def _brain(rng: np.random.Generator, closes: dict[str, float], as_of: str) -> dict:
    symbols = {}
    for sym, close in closes.items():
        preds = {}
        for h in HORIZONS:
            er = float(rng.normal(0.004, 0.02))
            preds[h] = {"expected_return": round(er, 5),
                        "confidence": round(float(rng.uniform(0.4, 0.9)), 3),
                        "score": round(er / 0.02, 3), "rank": 0}
        symbols[sym] = {"last_close": round(close, 2), "predictions": preds}
    for h in HORIZONS:
        order = sorted(symbols, key=lambda s: -symbols[s]["predictions"][h]["score"])
        for rank, sym in enumerate(order, 1):
            symbols[sym]["predictions"][h]["rank"] = rank
    models = {h: {"trained_through": as_of, "validation": {"ic": 0.04, "rank_ic": 0.05}}
              for h in HORIZONS}
    return {"schema": 1, "generated_at": datetime.now(UTC).isoformat(), "as_of": as_of,
            "horizons": list(HORIZONS), "models": models, "symbols": symbols}


def _bot(store: Store, rng: np.random.Generator, bot: str, dates: pd.DatetimeIndex,
         closes: dict[str, float], trades_path) -> dict:
    equity = 100_000 * np.cumprod(1 + rng.normal(0.0006, 0.008, len(dates)))
    syms = list(closes)
    for day in dates:
        recs = []
        for j in range(2):
            sym = syms[int(rng.integers(len(syms)))]
            side = "buy" if j == 0 else "sell"
            recs.append({"ts": f"{day:%Y-%m-%d}T14:30:00+00:00", "bot": bot, "symbol": sym,
                         "side": side, "qty": 10, "price": round(closes[sym], 2), "fees": 0.1,
                         "reason": "entry" if side == "buy" else "take_profit",
                         "order_id": f"{bot}-{day:%Y%m%d}-{sym}-{side}",
                         "realized_pnl": 0.0 if side == "buy"
                         else round(float(rng.normal(20, 80)), 2)})
        append_jsonl(trades_path(day), recs)
    positions = {s: {"qty": 50, "avg_price": round(closes[s] * 0.97, 2),
                     "entry_date": f"{dates[-5]:%Y-%m-%d}", "last_price": round(closes[s], 2)}
                 for s in syms[:6]}
    last = f"{dates[-1]:%Y-%m-%d}"
    return {"schema": 1, "bot": bot, "as_of": last, "initial_cash": 100_000.0,
            "cash": float(equity[-1]) - 50 * sum(p["last_price"] for p in positions.values()),
            "positions": positions,
            "equity_history": [{"date": f"{d:%Y-%m-%d}", "equity": round(float(e), 2)}
                               for d, e in zip(dates, equity, strict=True)],
            "pending_signals": [{"symbol": s, "side": "buy", "expected_return": 0.02,
                                 "confidence": 0.7} for s in syms[6:9]],
            "last_run": {"at": f"{last}T21:05:00+00:00", "session": last, "status": "ok",
                         "orders": 2}}


#: The swing bots whose state carries the selection screen of their last session (and how
#: many sessions they went without a fill); the 4w bot's state is older and has none.
SCREENED = {"1w": 7, "2w": 0}


def _screened(symbols: list[str], idle: int) -> dict:
    """The screen fields a swing session writes (aion_core.bots.swing.SwingPlanner.close),
    made up without the root's random stream, so every other file stays as it was."""
    why = ["ranked beyond max_positions", "excess below the cost bar",
           "no free slot: the kept names fill the book"]
    nearest = [{"symbol": s, "side": "buy", "rank": i + 4, "excess": round(0.0011 - 2e-4 * i, 6),
                "confidence": round(0.71 - 0.03 * i, 4), "why": why[i % 3]}
               for i, s in enumerate(symbols[6:10])]
    screen = {"candidates": len(symbols) - 6, "no_price": 0, "below_bar": 2,
              "low_confidence": 0, "outside_top": 1, "no_slot": 1, "no_cash": 0,
              "entered": 0 if idle else 2, "kept": 6, "left_band": 0, "bar": 0.0012}
    return {"pending_signals": nearest, "idle_sessions": idle, "screen": screen}


def _history(rng: np.random.Generator, symbols: list[str], dates: pd.DatetimeIndex) -> pd.DataFrame:
    rows = len(symbols) * len(dates) * len(HORIZONS)
    return pd.DataFrame({
        "as_of": np.repeat(dates.values, len(symbols) * len(HORIZONS)),
        "symbol": np.tile(np.repeat(symbols, len(HORIZONS)), len(dates)),
        "horizon": np.tile(list(HORIZONS), len(symbols) * len(dates)),
        "expected_return": rng.normal(0.003, 0.02, rows),
        "confidence": rng.uniform(0.4, 0.9, rows), "score": rng.normal(0, 1, rows),
        "rank": rng.integers(1, len(symbols) + 1, rows)})


def _nightly(store: Store, as_of: str) -> None:
    lines = [f"2026-11-21 02:0{i % 10}:00 INFO jobs.nightly: step {i}" for i in range(40)]
    lines[10] = "2026-11-21 02:01:00 WARNING jobs.collect: news for SYM003 missing"
    lines[20] = "2026-11-21 02:02:00 ERROR jobs.collect: macro series UNRATE failed"
    write_text(store.path("nightly_logs", yyyymmdd="20261121"), "\n".join(lines) + "\n")
    steps = [{"name": n, "status": "ok", "seconds": s, "detail": ""} for n, s in
             [("collect", 3.2), ("features", 5.1), ("train", 40.0), ("predict", 1.2),
              ("brain", 0.4), ("summary", 0.1)]]
    store.write_json("nightly_summary", {
        "run_id": "20261121T020000", "started_at": "2026-11-21T07:00:00+00:00",
        "finished_at": "2026-11-21T07:00:50+00:00", "as_of": as_of, "status": "ok",
        "steps": steps, "metrics": {h: {"ic": 0.04, "rank_ic": 0.05} for h in HORIZONS}})


def build_filled_root(store: Store, n_symbols: int = 12, sessions: int = 120,
                      seed: int = 1, history_days: int = 20) -> None:
    """Write every file the app reads for `n_symbols` over `sessions` sessions."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(end=END, periods=sessions)
    symbols = [f"SYM{i:03d}" for i in range(n_symbols)]
    closes = {}
    for sym in symbols:
        bars = _bars(rng, sym, dates)
        store.write_daily(sym, bars)
        closes[sym] = float(bars["close"].iloc[-1])
    as_of = f"{dates[-1]:%Y-%m-%d}"
    brain = _brain(rng, closes, as_of)
    store.write_json("rolling_brain", brain)
    hist = [{"date": f"{d:%Y-%m-%d}", "label": ["bull", "bear", "sideways"][i % 3]}
            for i, d in enumerate(dates[::20])]
    store.write_json("aion_brain", {**brain, "regime": {
        "label": "bull", "probabilities": {"bull": 0.7, "sideways": 0.2, "bear": 0.1},
        "history": hist}, "portfolio": {"weights": {s: 0.1 for s in symbols[:5]}}})
    for h in HORIZONS:
        imp = {f: float(rng.uniform(1, 100)) for f in FEATURES}
        store.write_json("ml_models_meta", {"horizon": h, "num_rounds": 60,
                                            "features": FEATURES, "trained_through": as_of,
                                            "params": {"num_leaves": 31},
                                            "validation": {"ic": 0.04, "rank_ic": 0.05},
                                            "feature_importance": imp}, horizon=h)
        append_jsonl(store.path("model_runs"), [{"horizon": h, "as_of": as_of,
                                                 "trained_through": as_of, "num_rounds": 60,
                                                 "feature_importance": imp}])
        state = _bot(store, rng, f"swing_{h}", dates, closes,
                     lambda d, h=h: store.path("bot_trades", horizon=h, yyyymmdd=d))
        if h in SCREENED:
            extra = _screened(symbols, SCREENED[h])
            state["last_run"]["screen"] = extra.pop("screen")
            state.update(extra)
        store.write_json("bot_state", state, horizon=h)
    dt = _bot(store, rng, "intraday", dates[-10:], closes,
              lambda d: store.path("dt_trades_file"))
    store.write_json("dt_state_file", dt)
    write_parquet(store.path("prediction_history"), _history(rng, symbols, dates[-history_days:]))
    _nightly(store, as_of)
    store.write_json("scheduler_heartbeat", {
        "schema": 1, "pid": 1, "at": datetime.now(UTC).isoformat(), "status": "running",
        "jobs": {"nightly": {"next_run": "2026-11-22T02:00:00-05:00",
                             "last_result": {"status": "ok", "at": "2026-11-21T07:00:50+00:00",
                                             "detail": ""}}}})


def add_models(store: Store, seed: int = 1, past_runs: int = 3) -> None:
    """Real LightGBM models over a random-feature dataset of the filled root's bars (the
    Models page's drift and explanations read both), and `past_runs` earlier nightly runs
    in model_runs.jsonl. Needs build_filled_root's default 120 sessions."""
    from aion_core.ml import model

    rng = np.random.default_rng(seed)
    panel = store.read_daily_panel()
    frame = panel[["symbol", "date"]].copy()
    for i, name in enumerate(FEATURES):
        frame[name] = rng.normal(0.1 * i, 1.0, len(frame))
    close = panel.groupby("symbol")["close"]
    for h, n in HORIZONS.items():
        frame[f"fwd_{h}"] = (close.shift(-n) / panel["close"] - 1.0).to_numpy()
    write_parquet(store.path("ml_datasets"), frame)
    as_of = frame["date"].max()
    quick = replace(model.QUICK, max_rounds=10, min_rounds=5)  # a test's budget, not a fit's
    for h, fitted in model.train(frame, FEATURES, as_of, config=quick).items():
        write_text(store.path("ml_models", horizon=h), fitted.to_model_string())
        store.write_json("ml_models_meta", fitted.metadata(), horizon=h)
        runs = [{**fitted.run_record(), "as_of": f"{as_of - pd.Timedelta(days=k):%Y-%m-%d}",
                 "feature_importance": {f: float(rng.uniform(1, 100)) for f in FEATURES}}
                for k in range(past_runs, 0, -1)]
        append_jsonl(store.path("model_runs"), [*runs, fitted.run_record()])
