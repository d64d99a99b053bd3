"""Replay and backtest: one engine walking the clock over past sessions.

Each session D the bots trade on predictions made at the close of the session before D,
by models trained only on rows whose labels had ended by then (the model's own `as_of`
guard); they fill at D's open and are marked at D's close. Models are refit every
`settings.aion_retrain_every` sessions, counted from the replay's start, so a replay resumed
after a crash uses the very same models (the schedule does not depend on where it resumed).

`run_replay` writes the live books (state, trade logs, equity history) through the desk
(aion_core.bots.desk), so it inherits the run loop's crash safety: kill it anywhere, run it
again, and it ends where an uninterrupted replay ends. `run_backtest` runs the same walk
into memory and writes a report folder; it never touches the live state.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aion_core import market_hours
from aion_core.bots import performance
from aion_core.bots.desk import Desk, MemoryJournal
from aion_core.bots.ledger import session_key
from aion_core.bots.registry import INTRADAY_BOT, SWING_BOTS, swing_bot
from aion_core.bots.swing import SessionPrices, SwingPlanner, SwingSession
from aion_core.brokers.sim import SimBroker
from aion_core.config import Settings
from aion_core.errors import AionError, ConfigurationError, DataError
from aion_core.ml.universe import Membership, mark_members, note_line, universe_note
from aion_core.sql_copy.publish import publish
from aion_core.store import Store, write_json, write_parquet, write_text
from jobs.collect import EMPTY_ROOT, universe_left_out
from jobs.nightly_steps import append_history
from jobs.progress import progress
from jobs.trials import deflated, record_trial
from jobs.universe import read_membership

log = logging.getLogger("aion.replay")

#: (session D, horizons) -> {horizon: predictions indexed by symbol with expected_return and
#: confidence}, made from data before D only.
Predictor = Callable[[pd.Timestamp, list[str]], dict[str, pd.DataFrame]]

#: The predictions a walk traded on: `date` the session traded, `as_of` the session before it
#: (whose close the features used), fractions and [0, 1] as in the rolling brain.
PREDICTION_COLUMNS = ["date", "as_of", "symbol", "horizon", "expected_return", "confidence",
                      "score", "rank"]
#: equity.parquet of a backtest: each bot's curve, and the benchmark's as bot BENCHMARK.
EQUITY_COLUMNS = ["date", "bot", "equity", "cash", "gross"]
BENCHMARK = "benchmark"


class Market:
    """Open and close prices of the panel as wide frames (index session, columns symbol),
    and the index membership on each session when the data root has a universe."""

    def __init__(self, bars: pd.DataFrame, membership: Membership | None = None) -> None:
        self.open = bars.pivot(index="date", columns="symbol", values="open").sort_index()
        self.close = bars.pivot(index="date", columns="symbol", values="close").sort_index()
        self.sessions = self.close.index
        self.member: pd.DataFrame | None = None
        if membership is not None:
            days, syms = self.close.index, self.close.columns
            grid = membership.mask(np.tile(syms.to_numpy(), len(days)),
                                   np.repeat(days.to_numpy(), len(syms)))
            self.member = pd.DataFrame(grid.reshape(len(days), len(syms)), days, syms)

    def members(self, day: pd.Timestamp | None) -> frozenset[str] | None:
        """The symbols that were index members on `day` (None without a universe)."""
        if self.member is None or day is None:
            return None
        row = self.member.loc[day]
        return frozenset(row.index[row.to_numpy()])

    def previous(self, session: pd.Timestamp) -> pd.Timestamp | None:
        i = self.sessions.searchsorted(session)
        return self.sessions[i - 1] if i > 0 else None

    def prices(self, session: pd.Timestamp) -> SessionPrices:
        prev = self.previous(session)
        ref = self.close.loc[prev] if prev is not None else self.close.loc[session]
        opened, _ = market_hours.session_open_close(session)
        return SessionPrices(ref=ref.dropna(), fill=self.open.loc[session].dropna(),
                             mark=self.close.loc[session].dropna(), fill_ts=opened.isoformat())


class ModelPredictor:
    """Predictions from the nightly's model, refit every `every` sessions of `schedule`.

    frame: the dataset (`symbol, date`, features, `fwd_<h>` labels), built once over the
    whole history (features are causal; labels after a fit's `as_of` are never used by it).
    """

    def __init__(self, frame: pd.DataFrame, features: list[str], market: Market,
                 schedule: pd.DatetimeIndex, every: int, model_kind: str = "gbm") -> None:
        self.frame, self.features, self.market = frame, features, market
        self.schedule, self.every, self.model_kind = schedule, every, model_kind
        self._models: dict[pd.Timestamp, dict[str, Any]] = {}

    def _models_for(self, session: pd.Timestamp, horizons: list[str]) -> dict[str, Any]:
        """The anchor's models of `horizons`. Each horizon is fitted on its own, so one asked
        for later in the anchor's window (a desk that had already traded the anchor's first
        session, in a resumed replay) is trained then, on the same cutoff, to the same model."""
        from aion_core.ml import model

        anchor = self.schedule[(self.schedule.get_loc(session) // self.every) * self.every]
        if anchor not in self._models:
            self._models = {anchor: {}}
        fitted = self._models[anchor]
        missing = [h for h in horizons if h not in fitted]
        if missing:
            cutoff = self.market.previous(anchor)
            if cutoff is None:
                raise DataError(f"no history before {anchor.date()} to train on")
            fitted.update(model.train(self.frame, self.features, cutoff, missing,
                                      config=replace(model.QUICK, model=self.model_kind)))
        return fitted

    def __call__(self, session: pd.Timestamp, horizons: list[str]) -> dict[str, pd.DataFrame]:
        from aion_core.ml import model

        needed = model.blended_horizons(horizons)
        fitted = self._models_for(session, needed)
        rows = self.frame[self.frame["date"] == self.market.previous(session)]
        preds = model.predict_all({h: fitted[h] for h in needed}, rows)
        return {h: preds[h].set_index("symbol") for h in horizons}


def load_market_inputs(store: Store, end: pd.Timestamp) -> tuple[pd.DataFrame, Any, Any]:
    """Bars (and macro and news, when the data root has them) through `end`, read exactly
    as the nightly job reads them: with the MEMBER column when the data root has a universe."""
    if not market_hours.is_session(end):
        end = market_hours.previous_session(end)
    bars = store.read_daily_panel(end=end)
    if bars.empty:
        raise ConfigurationError(EMPTY_ROOT.format(root=store.root))
    bars = mark_members(bars, read_membership(store))
    return bars, store.read_macro_asof(end), store.read_news_asof(end)


def replay_sessions(market: Market, start: date, end: date) -> pd.DatetimeIndex:
    """Sessions in [start, end] that have bars and a session with bars before them."""
    if start > end:
        raise ConfigurationError(f"--start {start} is after --end {end}")
    chosen = market.sessions[(market.sessions >= pd.Timestamp(start))
                             & (market.sessions <= pd.Timestamp(end))]
    chosen = chosen[chosen > market.sessions[0]]
    if chosen.empty:
        raise ConfigurationError(f"no sessions with bars between {start} and {end}")
    return chosen


def model_predictor(store: Store, settings: Settings, start: date,
                    end: date) -> tuple[Market, pd.DatetimeIndex, Predictor]:
    """The real pipeline: the nightly's dataset built once, models refit on schedule."""
    from aion_core.ml import model
    from aion_core.ml.dataset import build_dataset

    # Said at once: reading, the features and the first fits take a while before the walk's
    # own progress starts (35 s of silence on the synthetic market of `make run`).
    log.info("reading bars, macro series and news through %s", end)
    bars, macro, news = load_market_inputs(store, pd.Timestamp(end))
    market = Market(bars, read_membership(store))
    sessions = replay_sessions(market, start, end)
    log.info("building features and labels: %d symbols, %d sessions", bars["symbol"].nunique(),
             len(market.sessions))
    data = build_dataset(bars, macro, news)
    log.info("walking %d sessions (%s..%s), models refit every %d sessions",
             len(sessions), sessions[0].date(), sessions[-1].date(),
             settings.aion_retrain_every)
    return market, sessions, ModelPredictor(data.frame, list(data.feature_columns), market,
                                            sessions, settings.aion_retrain_every,
                                            model.model_kind(settings.aion_model,
                                                             store.is_synthetic()))


def engine_inputs(store: Store, settings: Settings, start: date, end: date,
                  predictor: Predictor | None, market: Market | None
                  ) -> tuple[Market, pd.DatetimeIndex, Predictor]:
    """The market, sessions and predictor a replay or backtest walks: the given ones (tests,
    experiments), else the real pipeline over the data root's files."""
    if predictor is None or market is None:
        return model_predictor(store, settings, start, end)
    return market, replay_sessions(market, start, end), predictor


def walk(desks: list[Desk], market: Market, sessions: pd.DatetimeIndex, predictor: Predictor,
         desc: str, record: Callable[[pd.DataFrame], None] | None = None) -> pd.DataFrame:
    """The clock: each session, every desk that has not traded it yet trades it once.

    Returns the predictions traded on (PREDICTION_COLUMNS; score and rank NaN when the
    predictor gives none). `record`, when given, gets each session's predictions before its
    first fill: a replay keeps them there, not after the walk, because a replay killed
    mid-walk is resumed by a rerun that skips the sessions already traded, so predictions
    held in memory until the end would be lost (and, with them, the daily view the
    intraday bot's model is trained on)."""
    made = []
    for session in progress(sessions, total=len(sessions), desc=desc):
        todo = [d for d in desks if not d.done(session_key(session))]
        if not todo:
            continue
        preds = predictor(session, [d.bot.horizon for d in todo])
        now = [p.rename_axis("symbol").reset_index().assign(
            date=session, as_of=market.previous(session), horizon=h) for h, p in preds.items()]
        if record is not None:
            record(_predictions(now))
        made += now
        prices = market.prices(session)
        _, closed = market_hours.session_open_close(session)
        members = market.members(market.previous(session))
        for desk in todo:
            run = SwingSession(session, preds[desk.bot.horizon], prices, closed.isoformat(),
                               members, f"the {desc}'s model, refit on bars before "
                               f"{session:%Y-%m-%d}")
            desk.trade(run, SimBroker.for_run(run, desk.planner.knobs))
    return _predictions(made)


def _predictions(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True).reindex(columns=PREDICTION_COLUMNS) if frames \
        else pd.DataFrame(columns=PREDICTION_COLUMNS)


def record_history(store: Store, predictor: Predictor, made: pd.DataFrame) -> None:
    """The model's predictions of a replay or backtest into prediction_history, so the track
    record starts with the history replayed; never over a nightly's own rows (its full
    models beat the walk's quick refits). An injected predictor is no model: not recorded."""
    if isinstance(predictor, ModelPredictor) and len(made):
        append_history(store, made.drop(columns="date"), replace=False)


def run_replay(store: Store, settings: Settings, start: date, end: date,
               predictor: Predictor | None = None, market: Market | None = None) -> str:
    """Replay [start, end] into the live books of the three swing bots (resumable).

    `predictor` and `market` default to the real pipeline over the data root's files. Each
    run, finished or failed, leaves PATHS["replay_summary"] (when, its window, how it ended,
    its closing line): the Admin page's last run of the replay wherever it ran (`make run`,
    a shell, run-now).
    """
    began = datetime.now(UTC)
    try:
        summary = _replay(store, settings, start, end, predictor, market)
    except Exception as exc:
        _record_run(store, began, start, end, "failed", str(exc))
        raise
    _record_run(store, began, start, end, "ok", summary)
    return summary


def _record_run(store: Store, began: datetime, start: date, end: date, status: str,
                detail: str) -> None:
    """The replay's record of its last run; one that cannot be written costs a warning."""
    doc = {"schema": 1, "job": "replay", "started_at": began.isoformat(timespec="seconds"),
           "finished_at": datetime.now(UTC).isoformat(timespec="seconds"), "status": status,
           "start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}",
           "detail": " ".join(detail.split())[:300]}
    try:
        store.write_json("replay_summary", doc)
    except (AionError, OSError) as exc:
        log.warning("cannot write the replay's record: %s", exc)


def _replay(store: Store, settings: Settings, start: date, end: date,
            predictor: Predictor | None, market: Market | None) -> str:
    knobs = store.read_knobs(SWING_BOTS)
    market, sessions, predictor = engine_inputs(store, settings, start, end, predictor, market)
    dropped = universe_left_out(store, "replay")
    with contextlib.ExitStack() as stack:
        for bot in SWING_BOTS:
            stack.enter_context(store.bot_lock(bot))
        kill = store.kill_switch_on()
        desks = [Desk(bot, SwingPlanner(bot, knobs[bot.key], kill), store.journal(bot))
                 for bot in SWING_BOTS]
        walk(desks, market, sessions, predictor, "replay",
             record=lambda preds: record_history(store, predictor, preds))
    summary = "replay " + _summary(desks, sessions) + replay_intraday(store, settings, sessions)
    if dropped:
        summary += f"; left out, no bars: {', '.join(dropped)}"
    publish(store, settings, "replay")
    return summary


def replay_intraday(store: Store, settings: Settings, sessions: pd.DatetimeIndex) -> str:
    """The intraday bot, cycle by cycle, on each replayed session that has stored minute bars
    (resumable like the swing bots: a cycle already run is skipped by the cycle itself)."""
    from jobs.intraday import replay_intraday_session

    with_minutes = [s for s in sessions if store.path("bars_intraday", day=s.date()).exists()]
    # A live cycle logs its line; replayed, 26 a session buried the console of `make run`.
    # The trade log and the state keep every fill; the progress bar says how far it got.
    cycles = logging.getLogger("aion.intraday")
    level = cycles.level
    cycles.setLevel(logging.WARNING)
    try:
        with store.job_lock(INTRADAY_BOT.job):
            for session in progress(with_minutes, total=len(with_minutes),
                                    desc="intraday replay"):
                replay_intraday_session(store, settings, session)
    finally:
        cycles.setLevel(level)
    if not with_minutes:
        return ""
    state = store.read_json("dt_state_file") or {}
    return f"; intraday: {len(with_minutes)} sessions, equity {stored_equity(state):,.2f}"


def stored_equity(state: dict[str, Any]) -> float:
    """A bot's equity as its state stores it: the last point of its equity history, marked at
    that session's closes (its cash before any). Not the desk's book: rebuilt from the fills
    of a replay that had nothing left to trade, that is marked at entry prices."""
    history = state.get("equity_history") or []
    return float(history[-1]["equity"] if history else state.get("cash", 0.0))


def _summary(desks: list[Desk], sessions: pd.DatetimeIndex) -> str:
    parts = [f"{d.bot.name} equity {stored_equity(d.state):,.2f}" for d in desks]
    return f"{sessions[0]:%Y-%m-%d}..{sessions[-1]:%Y-%m-%d} ({len(sessions)} sessions): " \
        + ", ".join(parts)


def report(desks: list[Desk], market: Market, sessions: pd.DatetimeIndex,
           journals: list[MemoryJournal]) -> tuple[dict[str, Any], pd.DataFrame, list[dict]]:
    """metrics.json (CONTRACT.md, with the tear sheet's figures), the equity frame
    (EQUITY_COLUMNS, the benchmark's curve included) and the trades."""
    closes = market.close.loc[market.close.index.isin(sessions)]
    initial = desks[0].state["initial_cash"]
    bench_curve = performance.buy_and_hold(closes, initial)
    bots, curves = {}, []
    for desk, journal in zip(desks, journals, strict=True):
        hist = pd.DataFrame(desk.state["equity_history"])
        hist["date"] = pd.to_datetime(hist["date"])
        book = hist.set_index("date")
        trades = [f.to_record() for f in journal.logged]
        bots[desk.bot.name] = performance.tear_sheet(book["equity"], trades, book["gross"],
                                                 desk.state["initial_cash"], bench_curve)
        curves.append(hist.assign(bot=desk.bot.name)[EQUITY_COLUMNS])
    curves.append(pd.DataFrame({"date": bench_curve.index, "bot": BENCHMARK,
                                "equity": bench_curve.to_numpy(), "cash": 0.0,
                                "gross": bench_curve.to_numpy()}))
    bench = performance.benchmark(closes, initial)
    doc = {"start": f"{sessions[0]:%Y-%m-%d}", "end": f"{sessions[-1]:%Y-%m-%d}", "bots": bots,
           "benchmark": bench}
    trades = [f.to_record() for j in journals for f in j.logged]
    return doc, pd.concat(curves, ignore_index=True), trades


def _prob(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def new_backtest_id(store: Store, now: datetime) -> str:
    """A fresh id `bt_<UTC YYYYMMDDTHHMMSS>[_n]`, its folder created (claimed) here."""
    base = f"bt_{now:%Y%m%dT%H%M%S}"
    for n in range(1, 1000):
        run_id = base if n == 1 else f"{base}_{n}"
        folder = store.path("backtest_run", backtest_id=run_id).parent
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
            return run_id
    raise ConfigurationError(f"too many backtests started at {base}")


def run_document(run_id: str, doc: dict[str, Any], knobs: dict[str, Any], settings: Settings,
                 created: datetime, predictor: Predictor,
                 dropped: dict[str, str] | None = None) -> dict[str, Any]:
    """run.json: what was run, so that a run can be read, compared and repeated later
    (`dropped`: AION_UNIVERSE's symbols left out for want of bars, and why; `universe`: the
    index membership its cross-sections held, or the line saying its figures are upper
    bounds, as in metrics.json)."""
    universe = doc.get("universe") or universe_note(None)
    return {"id": run_id, "created_at": created.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "start": doc["start"], "end": doc["end"], "bots": list(doc["bots"]),
            "retrain_every": settings.aion_retrain_every,
            "predictor": "model" if isinstance(predictor, ModelPredictor) else "given",
            "knobs": {swing_bot(h).name: asdict(k) for h, k in knobs.items()},
            "settings": {"provider": settings.aion_provider, "universe": settings.aion_universe,
                         "retrain_every": settings.aion_retrain_every,
                         "model": settings.aion_model,  # as set (auto follows the bars)
                         "membership": universe.get("name")},
            "dropped": dropped or {}, "universe": universe}


def run_backtest(store: Store, settings: Settings, start: date, end: date,
                 horizons: list[str], out: Path | None = None,
                 predictor: Predictor | None = None, market: Market | None = None,
                 knobs: dict[str, Any] | None = None) -> str:
    """The replay engine into a report folder; the live books are not read or written.

    The folder is `out`, else a new research/backtests/<id>/. It holds metrics.json,
    equity.parquet (EQUITY_COLUMNS), trades.jsonl, predictions.parquet (PREDICTION_COLUMNS)
    and, written last so that its presence means complete, run.json (period, bots, knobs,
    retrain cadence, settings). `knobs`: a bots_config.json-shaped document used in place of
    the stored one (the Research page's choice), checked by the same schema.
    """
    created = datetime.now(UTC)
    bots = [swing_bot(h) for h in horizons]
    used = store.read_knobs(bots, knobs)  # a given document replaces bots_config.json only
    market, sessions, predictor = engine_inputs(store, settings, start, end, predictor, market)
    dropped = universe_left_out(store, "backtest")
    journals = [MemoryJournal() for _ in bots]
    desks = [Desk(bot, SwingPlanner(bot, used[bot.key]), journal)
             for bot, journal in zip(bots, journals, strict=True)]
    made = walk(desks, market, sessions, predictor, "backtest")
    record_history(store, predictor, made)
    doc, equity, trades = report(desks, market, sessions, journals)
    doc["universe"] = universe_note(read_membership(store), set(market.close.columns),
                                    sessions[0], sessions[-1])
    initial = desks[0].state["initial_cash"]
    returns = {bot: performance.session_returns(curve.set_index("date")["equity"], initial)
               for bot, curve in equity[equity["bot"] != BENCHMARK].groupby("bot")}
    run_id = out.name if out else new_backtest_id(store, created)
    doc["deflated"] = deflated(store, run_id, doc["start"], doc["end"], returns)
    out = Path(out) if out else store.path("backtest_run", backtest_id=run_id).parent
    write_json(out / "metrics.json", doc)
    write_parquet(out / "equity.parquet", equity)
    write_text(out / "trades.jsonl", "".join(json.dumps(t) + "\n" for t in trades))
    write_parquet(out / "predictions.parquet", made)
    run = run_document(run_id, doc, used, settings, created, predictor, dropped)
    write_json(out / "run.json", run)
    record_trial(store, "backtest", run_id,
                 {k: run[k] for k in ("bots", "knobs", "retrain_every", "predictor", "settings")},
                 doc["start"], doc["end"], int(market.close.shape[1]),
                 {"sharpe": {b: m["sharpe"] for b, m in doc["bots"].items()},
                  "total_return": {b: m["total_return"] for b, m in doc["bots"].items()},
                  **{key: {b: d[key] for b, d in doc["deflated"]["bots"].items()}
                     for key in ("sharpe_per_session", "psr", "dsr")}})
    publish(store, settings, "backtest")
    dsr = doc["deflated"]["bots"]
    lines = [f"{bot} {m['total_return']:+.2%} (sharpe {m['sharpe']:.2f}, deflated "
             f"{_prob(dsr[bot]['dsr'])} over {doc['deflated']['trials']} trials)"
             for bot, m in doc["bots"].items()]
    return f"backtest {doc['start']}..{doc['end']}: " + ", ".join(lines) \
        + f"; benchmark {doc['benchmark']['total_return']:+.2%}; " \
        + f"{note_line(doc['universe'])[1]} The report is in {out}"
