"""The intraday cycle (`aion intraday cycle [--at TS]`) and the nightly intraday training.

A cycle at `at` is the seed's five steps:
1. market hours: when NYSE is closed at `at`, log one line and stop;
2. bars: the session's 1-minute bars up to `at` into DT_PATHS["bars_intraday"]
   (raw/intraday/<session>.parquet; stored rows kept, new ones merged in). Only bars that
   ended by `at` (`ts + 1 min <= at`) are ever read, whatever the file or provider holds;
3. features and predictions into DT_PATHS["rolling"] with the model of DT_PATHS["dt_brain_file"]
   trained on sessions before this one (`train_intraday_model`, run by the scheduler after the
   nightly job; a cycle whose model is missing or not from before its session trains one);
4. the bot's planner (aion_core.bots.intraday) trades the cycle on the desk
   (aion_core.bots.desk), like the swing bots: each fill is appended to
   DT_PATHS["dt_trades_file"] (fsync'd) before the next order;
5. the state (DT_PATHS["dt_state_file"]) is written atomically once the cycle is done.
The log is the truth and the state its cache: the book is rebuilt from the log every cycle,
already-logged order ids are never filled again, and a cycle the desk has passed does
nothing. `--at` replays any past session's cycles in order (`replay_intraday_session`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from aion_core import market_hours
from aion_core.bots.desk import Desk
from aion_core.bots.intraday import IntradayCycle, IntradayPlanner, cycle_key
from aion_core.bots.registry import INTRADAY_BOT
from aion_core.brokers.sim import SimBroker
from aion_core.config import Settings
from aion_core.errors import ProviderError
from aion_core.ml.intraday_features import FEATURES, features_at, minute_panel
from aion_core.ml.intraday_model import (
    HORIZON_MINUTES,
    IntradayModel,
    model_document,
    model_from_document,
    train_model,
)
from aion_core.sql_copy.publish import publish
from aion_core.store import Store, read_parquet
from jobs.collect import resolve_universe
from jobs.notify import check_alerts

log = logging.getLogger("aion.intraday")

CYCLE_MINUTES = 15
MINUTE = pd.Timedelta(minutes=1)


def _now() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(UTC))


# --------------------------------------------------------------------------- bars and views


def stored_sessions(store: Store) -> list[pd.Timestamp]:
    """Sessions with a minute-bar file in the data root, oldest first."""
    folder = store.path("bars_intraday_dir")
    if not folder.is_dir():
        return []
    return sorted(pd.Timestamp(p.name[: -len(".parquet")]) for p in folder.glob("*.parquet"))


def read_session_bars(store: Store, session: pd.Timestamp,
                      until: pd.Timestamp | None = None) -> pd.DataFrame | None:
    """INTRADAY_COLUMNS of `session`; with `until`, only bars that had ended by then
    (`ts + 1 min <= until`): the one place the future is cut off, whatever the file holds.
    Only AION_UNIVERSE's symbols (Store.in_universe): the intraday bot trades the daily one."""
    bars = store.in_universe(store.read_minute(session.date()))
    if bars is None or until is None:
        return bars
    return bars[bars["ts"] + MINUTE <= until].reset_index(drop=True)


def _market(store: Store, settings: Settings, session: pd.Timestamp):
    """The provider of minute bars: the data root's synthetic market (its recorded seed, built
    through `session` so today's minutes exist), or Alpaca."""
    if settings.aion_provider == "synthetic":
        from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec

        recorded = store.read_json("synthetic_spec") or {}
        spec = SyntheticSpec(n_symbols=max(int(recorded.get("n_symbols", 0)),
                                           len(store.daily_symbols()), 50),
                             seed=int(recorded.get("seed", SyntheticSpec.seed)), years=1,
                             end=session.date())
        return SyntheticMarket(spec)
    settings.require("alpaca_api_key", "alpaca_secret_key")
    from aion_core.providers.alpaca import AlpacaMarketData

    return AlpacaMarketData(settings.alpaca_api_key, settings.alpaca_secret_key,
                            url_override=settings.alpaca_url)


def ensure_session_bars(store: Store, settings: Settings, session: pd.Timestamp,
                        until: pd.Timestamp) -> None:
    """Fetch `session`'s bars when the stored file lacks the last minute ended by `until`;
    stored rows are kept, new ones merged in, the file replaced atomically."""
    stored = store.read_minute(session.date())
    last_needed = until.floor("min") - MINUTE
    if stored is not None and len(stored) and stored["ts"].max() >= last_needed:
        return
    market = _market(store, settings, session)
    got = market.intraday_bars(resolve_universe(store, settings, market), session.date())
    if got.failed:
        log.warning("no minute bars for %d symbols (e.g. %s)", len(got.failed),
                    next(iter(got.failed.items())))
    fresh = got.data[got.data["ts"] + MINUTE <= until]
    both = fresh if stored is None else pd.concat([stored, fresh], ignore_index=True)
    both = both.drop_duplicates(["symbol", "ts"], keep="first")
    store.write_minute(session.date(), both.sort_values(["symbol", "ts"], kind="stable"))


def daily_view(store: Store, session: pd.Timestamp) -> pd.Series | None:
    """The daily model's 1-week expected return per symbol, as predicted BEFORE `session`:
    the latest prediction_history as_of before it, else a rolling brain dated before it."""
    hist = read_parquet(store.path("prediction_history"), filters=[("horizon", "==", "1w")])
    if hist is not None and len(hist):
        before = hist[pd.to_datetime(hist["as_of"]) < session]
        if len(before):
            last = before[before["as_of"] == before["as_of"].max()]
            return last.set_index("symbol")["expected_return"].astype(float)
    brain = store.read_json("rolling_brain") or {}
    if brain.get("as_of") and pd.Timestamp(brain["as_of"]) < session:
        return pd.Series({s: ((e.get("predictions") or {}).get("1w") or {}).get(
            "expected_return") for s, e in (brain.get("symbols") or {}).items()},
            dtype=float).dropna()
    return None


# --------------------------------------------------------------------------- the model


def model_for(store: Store, session: pd.Timestamp) -> IntradayModel | None:
    """The model for `session`: trained through the last stored session before it.

    The stored model is used when it is exactly that; otherwise one is trained from the stored
    minute bars (and written when it is newer than the stored one, never replacing a fresher
    model with an older one during a replay of the past).
    """
    past = [d for d in stored_sessions(store) if d < session]
    if not past:
        return None
    target = past[-1]
    doc = store.read_json("dt_brain_file")
    if doc and doc.get("trained_through") == target.date().isoformat():
        return model_from_document(doc)
    trained = train_model(lambda d: read_session_bars(store, d), past,
                          lambda d: daily_view(store, d))
    if trained is None:
        return None
    fresh = model_document(trained, _now())
    if not doc or doc.get("trained_through", "") < trained.trained_through:
        store.write_json("dt_brain_file", fresh)
    # The model as stored (rounded), so a cycle gives the same answer trained now or read later.
    return model_from_document(fresh)


def train_intraday_model(store: Store, settings: Settings, now: datetime | None = None) -> str:
    """Nightly: complete the last session's minute bars, then train and write the model."""
    session = market_hours.last_completed_session(now or _now())
    _, close = market_hours.session_open_close(session)
    try:
        ensure_session_bars(store, settings, session, close)
    except ProviderError as exc:
        log.warning("intraday bars of %s not fetched: %s", session.date(), exc)
    trained = model_for(store, session + pd.Timedelta(days=1))
    if trained is None:
        return "intraday model: no stored minute bars to train on"
    return (f"intraday model trained through {trained.trained_through} on "
            f"{trained.model.n_rows} rows (validation ic {trained.validation.get('ic')})")


# --------------------------------------------------------------------------- the cycle


def run_intraday_cycle(store: Store, settings: Settings, at: datetime | None = None) -> str:
    """One cycle at `at` (default now), its figures then published (metrics_db); returns its
    one-line summary. See the module doc."""
    summary = intraday_cycle(store, settings, at)
    publish(store, settings, "intraday")
    check_alerts(store, settings, track=False)  # the intraday bot's drawdown, the kill switch
    return summary


def intraday_cycle(store: Store, settings: Settings, at: datetime | None = None) -> str:
    """One cycle, unpublished: a replay runs hundreds and publishes once, at its end."""
    at_ts = market_hours.utc(at if at is not None else _now()).floor("s")
    session = market_hours.session_at(at_ts)
    if session is None:
        msg = f"intraday {at_ts.isoformat()}: market closed, nothing to do"
        log.info(msg)
        return msg
    knobs = store.read_knobs([INTRADAY_BOT])[INTRADAY_BOT.key]
    planner = IntradayPlanner(knobs, store.kill_switch_on())
    desk = Desk(INTRADAY_BOT, planner, store.journal(INTRADAY_BOT))
    key = cycle_key(at_ts)
    if skipped := desk.passed(key):
        return skipped.line()
    open_utc, _ = market_hours.session_open_close(session)
    k = int((at_ts - open_utc) // MINUTE)
    if k < 1:
        return f"intraday {key}: no completed minute yet, nothing to do"
    ensure_session_bars(store, settings, session, at_ts)
    bars = read_session_bars(store, session, until=at_ts)
    if bars is None or bars.empty:
        return f"intraday {key}: no minute bars up to {at_ts.isoformat()}, nothing to do"
    panel = minute_panel(bars, open_utc, k)
    trained = model_for(store, session)
    rows = features_at(panel, [k], trained.profile if trained else None,
                       daily_view(store, session)).set_index("symbol")
    prices = pd.Series(panel.price[k], index=panel.symbols)
    preds = trained.model.predict(rows) if trained else pd.DataFrame(
        columns=["expected_return", "confidence"], dtype=float)
    store.write_json("rolling", rolling_document(at_ts, session, k, rows, prices, preds,
                                                 trained))
    cycle = IntradayCycle(key, session.date().isoformat(), at_ts,
                          market_hours.minutes_to_close(at_ts), preds, prices)
    summary = desk.trade(cycle, SimBroker.for_run(cycle, knobs)).line()
    log.info(summary)
    return summary


def rolling_document(at: pd.Timestamp, session: pd.Timestamp, k: int, rows: pd.DataFrame,
                     prices: pd.Series, preds: pd.DataFrame, trained: IntradayModel | None
                     ) -> dict[str, Any]:
    """DT_PATHS["rolling"]: per symbol the last price, the features and the prediction.

    rows: index symbol, FEATURES columns; preds: index symbol, expected_return, confidence.
    """
    feats = rows[FEATURES].round(6).astype(float)
    symbols = {}
    for sym, f in zip(feats.index, feats.to_dict("records"), strict=True):
        entry: dict[str, Any] = {"last_price": round(float(prices[sym]), 4), "features": f}
        if sym in preds.index:
            p = preds.loc[sym]
            entry["prediction"] = {"expected_return": round(float(p["expected_return"]), 6),
                                   "confidence": round(float(p["confidence"]), 4)}
        symbols[sym] = entry
    return {"schema": 1, "generated_at": _now().isoformat(timespec="seconds"),
            "at": at.isoformat(), "session": session.date().isoformat(), "minute": k,
            "horizon_minutes": HORIZON_MINUTES,
            "model": None if trained is None else {"trained_through": trained.trained_through,
                                                   "n_rows": trained.model.n_rows,
                                                   "validation": trained.validation},
            "symbols": symbols}


def session_cycles(session: pd.Timestamp) -> list[pd.Timestamp]:
    """The scheduler's cycle times of `session` after the open (UTC): 09:45 .. last before
    the close, every CYCLE_MINUTES."""
    open_utc, close_utc = market_hours.session_open_close(session)
    times = pd.date_range(open_utc + pd.Timedelta(minutes=CYCLE_MINUTES), close_utc,
                          freq=f"{CYCLE_MINUTES}min", inclusive="left")
    return list(times)


def replay_intraday_session(store: Store, settings: Settings,
                            session: pd.Timestamp | str) -> list[str]:
    """Every cycle of a past session in order (what `aion replay` runs for sessions that
    have minute bars); cycles already run are skipped by the cycle itself."""
    return [intraday_cycle(store, settings, at=t.to_pydatetime())
            for t in session_cycles(pd.Timestamp(session))]
