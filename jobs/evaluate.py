"""`aion evaluate`: the nightly's recipe, walked forward out of sample over [start, end].

Every `retrain_every` sessions from `start` (an anchor), the models are trained exactly as
the nightly trains them (aion_core.ml.model.train with the NIGHTLY config: the same features,
walk-forward folds, purge and calibration) on data whose labels had ended by the anchor's
close, and predict each session from the anchor up to the next one at that session's close.
Predictions are judged against the tradeable forward return (open t+1 to open t+1+h, where
the bots fill), with close-to-close beside it, and beside two baselines on the same days and
names (aion_core.ml.evaluation).

Resumable: each anchor's predictions are written atomically as a chunk, so a killed run
started again with the same arguments picks up at the first missing chunk; if the data root
or the recipe changed since (another run.json), the old chunks are discarded and it starts
over, so one evaluation never mixes two data sets. Writes research/evaluations/<id>/
(`predictions.parquet`: date, symbol, horizon, expected_return, score, confidence;
`analytics.parquet`: the tear sheet's series per horizon, aion_core.ml.analytics' long frame
with `horizon` first; `report.json`, written last).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from aion_core.bots import performance
from aion_core.bots.registry import swing_bot
from aion_core.config import HORIZONS
from aion_core.errors import ConfigurationError
from aion_core.ml import analytics, cohorts, evaluation, model
from aion_core.ml.dataset import build_dataset
from aion_core.ml.features import MODEL_FEATURES
from aion_core.ml.labels import open_forward_returns
from aion_core.ml.universe import mark_members, note_line, universe_note
from aion_core.store import Store, read_json, read_parquet, write_json, write_parquet
from jobs.collect import EMPTY_ROOT, universe_left_out
from jobs.progress import progress
from jobs.trials import deflate, record_trial
from jobs.universe import read_membership

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ["date", "symbol", "horizon", "expected_return", "score", "confidence"]


def evaluation_id(start: date, end: date, retrain_every: int, horizons: list[str],
                  model_kind: str = "gbm") -> str:
    """The report's folder name; the trees' keep the name they had before the composite
    could be evaluated as the model."""
    tag = "all" if horizons == list(HORIZONS) else "-".join(horizons)
    kind = "" if model_kind == "gbm" else f"_{model_kind}"
    return f"eval_{start:%Y%m%d}_{end:%Y%m%d}_r{retrain_every}_{tag}{kind}"


def run_evaluation(store: Store, start: date, end: date, retrain_every: int = 63,
                   horizons: list[str] | None = None, restart: bool = False,
                   config: model.TrainConfig = model.NIGHTLY) -> dict[str, Any]:
    """Walk [start, end] and write the evaluation; returns its report."""
    horizons = horizons or list(HORIZONS)
    if start > end:
        raise ConfigurationError(f"--start {start} is after --end {end}")
    bars = store.read_daily_panel()  # AION_UNIVERSE's symbols when it is set
    dropped = universe_left_out(store, "evaluate")
    if bars.empty:
        raise ConfigurationError(EMPTY_ROOT.format(root=store.root))
    membership = read_membership(store)
    bars = mark_members(bars, membership)  # the dataset keeps each date's members only
    last = pd.Timestamp(bars["date"].max())
    data = build_dataset(bars, store.read_macro_asof(last), store.read_news_asof(last))
    frame = data.frame
    sessions = pd.DatetimeIndex(sorted(frame["date"].unique()))
    window = sessions[(sessions >= pd.Timestamp(start)) & (sessions <= pd.Timestamp(end))]
    if window.empty:
        raise ConfigurationError(f"no sessions with bars between {start} and {end}")
    eval_id = evaluation_id(start, end, retrain_every, horizons, config.model)
    folder = store.path("evaluation_report", eval_id=eval_id).parent
    run = {"start": str(start), "end": str(end), "retrain_every": retrain_every,
           "horizons": horizons, "recipe": _recipe(data.feature_columns, config),
           "data": {"symbols": int(bars["symbol"].nunique()), "rows": int(len(bars)),
                    "first": str(sessions[0].date()), "last": str(sessions[-1].date()),
                    # another membership is another data set: a resumed run starts over
                    "universe": None if membership is None
                    else f"{membership.name} {membership.imported_at}"}}
    _prepare(folder, run, restart)

    anchors = window[::retrain_every]
    for i, anchor in enumerate(progress(anchors, total=len(anchors), desc="evaluate")):
        chunk = store.path("evaluation_chunk", eval_id=eval_id, yyyymmdd=anchor.date())
        if chunk.exists():
            continue
        until = anchors[i + 1] if i + 1 < len(anchors) else window[-1] + pd.Timedelta(days=1)
        rows = frame[(frame["date"] >= anchor) & (frame["date"] < until)
                     & (frame["date"] <= window[-1])]
        fitted = model.train(frame, data.feature_columns, anchor,
                             model.blended_horizons(horizons), config=config)
        blended = model.predict_all(fitted, rows)
        preds = pd.concat([blended[h].assign(horizon=h) for h in horizons], ignore_index=True)
        write_parquet(chunk, preds[PREDICTION_COLUMNS])
        log.info("evaluate: anchor %s done (%d rows)", anchor.date(), len(preds))

    predictions = pd.concat(
        [read_parquet(store.path("evaluation_chunk", eval_id=eval_id, yyyymmdd=a.date()))
         for a in anchors], ignore_index=True).sort_values(["horizon", "date", "symbol"])
    write_parquet(store.path("evaluation_predictions", eval_id=eval_id), predictions)
    inputs = evaluation.model_input_signals(frame, list(MODEL_FEATURES))
    inputs[MODEL_FEATURES] = frame[MODEL_FEATURES].to_numpy()  # for their own ICs (analytics)
    baselines = evaluation.baseline_signals(bars).merge(inputs, on=["symbol", "date"],
                                                        how="left")
    daily = open_forward_returns(bars, {"1d": 1}).pivot(index="date", columns="symbol",
                                                        values="open_fwd_1d")
    truth = frame[["symbol", "date", *(model.label_column(h) for h in horizons)]].merge(
        open_forward_returns(bars, {h: HORIZONS[h] for h in horizons}),
        on=["symbol", "date"], how="left")
    doc = {"id": eval_id, "created_at": datetime.now(UTC).isoformat(timespec="seconds"), **run,
           "dropped": dropped,
           "universe": universe_note(membership, set(bars["symbol"]), start, end),
           "horizons": {h: _horizon_report(store, judged(predictions, truth, baselines, h),
                                           h, daily)
                        for h in horizons}}
    options = {k: run[k] for k in ("retrain_every", "horizons", "recipe")} \
        | {"membership": None if membership is None else membership.name}
    doc["deflated"] = deflate(store, "evaluate", eval_id, run["start"], run["end"],
                              {h: rep.pop("_long_short_moments")
                               for h, rep in doc["horizons"].items()})
    doc["trials"] = doc["deflated"]["trials"]
    write_parquet(store.path("evaluation_analytics", eval_id=eval_id), pd.concat(
        [rep.pop("_analytics").assign(horizon=h)[["horizon", *analytics.COLUMNS]]
         for h, rep in doc["horizons"].items()], ignore_index=True))
    write_json(store.path("evaluation_report", eval_id=eval_id), doc)
    figures: dict[str, Any] = {h: {k: rep["all"]["model"][k] for k in ("mean_rank_ic", "rank_ic_t")}
                               for h, rep in doc["horizons"].items()}
    figures |= {key: {h: d[key] for h, d in doc["deflated"]["horizons"].items()}
                for key in ("sharpe_per_session", "psr", "dsr")}
    record_trial(store, "evaluate", eval_id, options, run["start"], run["end"],
                 run["data"]["symbols"], figures)
    return doc


def _horizon_report(store: Store, rows: pd.DataFrame, horizon: str,
                    daily: pd.DataFrame) -> dict[str, Any]:
    """One horizon's report, with what the model and the composite earn as portfolios net of
    that horizon's bot's fees and slippage (aion_core.ml.cohorts), on the judged rows; and,
    under keys for the caller to pop, the moments of the model's net long-short returns and
    the tear sheet's series (aion_core.ml.analytics) on the same rows and book."""
    rep = evaluation.report(rows, HORIZONS[horizon])
    knobs = store.read_knobs([swing_bot(horizon)])[horizon]
    returns = daily.reindex(index=sorted(rows["date"].unique()))
    signals = {name: rows.pivot(index="date", columns="symbol", values=col).reindex(
        columns=returns.columns) for name, col in (("model", "expected_return"),
                                                   ("composite", "composite"))}
    cost, n_top = knobs.slippage_bps + knobs.fee_bps, knobs.max_positions
    rep["portfolios"] = evaluation.finite_or_none({
        name: cohorts.portfolio_figures(signal, returns, HORIZONS[horizon], n_top, cost)
        for name, signal in signals.items()})
    long_short = cohorts.book(signals["model"], returns, HORIZONS[horizon], "long_short",
                              n_top, cost)
    # the model's net long-short returns, whose Sharpe the trial registry deflates
    rep["_long_short_moments"] = performance.sharpe_moments(long_short["net"])
    rep["_analytics"] = analytics.signal_analytics(rows, long_short, list(MODEL_FEATURES))
    return rep


def judged(predictions: pd.DataFrame, truth: pd.DataFrame, baselines: pd.DataFrame,
           horizon: str) -> pd.DataFrame:
    """One horizon's predictions beside its realised returns, tradeable (`realised`, from
    `open_fwd_<h>`) and close-to-close (`realised_close`, from `fwd_<h>`), and the baselines:
    rows where all of them are known."""
    preds = predictions[predictions["horizon"] == horizon]
    known = truth[["symbol", "date", f"open_fwd_{horizon}", model.label_column(horizon)]].rename(
        columns={f"open_fwd_{horizon}": "realised", model.label_column(horizon): "realised_close"})
    both = preds.merge(known, on=["symbol", "date"], how="inner")
    both = both.merge(baselines, on=["symbol", "date"], how="left")
    return both.dropna(subset=["realised", "realised_close", "expected_return",
                               *evaluation.BASELINES])


def _recipe(features: list[str], config: model.TrainConfig) -> str:
    """A fingerprint of what is evaluated: the feature list and the training config."""
    text = json.dumps({"features": features, "config": repr(config)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _prepare(folder, run: dict[str, Any], restart: bool) -> None:
    """Keep the chunks of an unfinished run of the same evaluation; otherwise start clean."""
    marker = folder / "run.json"
    old = read_json(marker) if marker.exists() else None
    if restart or (old is not None and old != run):
        if old is not None and old != run:
            log.warning("evaluate: the data or the recipe changed since %s was started; "
                        "starting it over", folder.name)
        shutil.rmtree(folder / "chunks", ignore_errors=True)
    write_json(marker, run)


def _fmt(value: float | None, spec: str) -> str:
    """A figure in `spec`; n/a where the report holds none (too few names for deciles, too
    few days for a t: the last sessions of a window have no label yet)."""
    return "n/a" if value is None else format(value, spec)


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """The report's headline figures, a line per horizon: tradeable label first."""
    lines = [f"evaluation {doc['id']}: {doc['start']}..{doc['end']}, refit every "
             f"{doc['retrain_every']} sessions, {doc['data']['symbols']} symbols; "
             f"{doc.get('trials', '?')} trial(s) on this window (research/trials.jsonl)"
             + (f"; left out, no bars: {', '.join(doc['dropped'])}" if doc.get("dropped")
                else "")]
    for h, rep in doc["horizons"].items():
        lines.append(f"  {h} verdict: {rep.get('verdict', 'none')}")
        m, rev, mom = rep["all"]["model"], rep["all"]["reversal"], rep["all"]["momentum"]
        close = (rep.get("close_to_close") or {}).get("all", {}).get("model", {})
        lines.append(
            f"  {h} ({rep.get('label', 'close t -> close t+h')}): rank IC "
            f"{_fmt(m['mean_rank_ic'], '+.4f')} (NW t {_fmt(m['rank_ic_t'], '+.2f')}, "
            f"non-overlapping t {_fmt(m.get('rank_ic_t_nonoverlap'), '+.2f')}), ICIR "
            f"{_fmt(m['rank_icir'], '+.2f')}, days > 0 {_fmt(m['days_positive'], '.0%')}, "
            f"top-bottom {_fmt(m['top_minus_bottom'], '+.2%')}; reversal "
            f"{_fmt(rev['mean_rank_ic'], '+.4f')}, momentum {_fmt(mom['mean_rank_ic'], '+.4f')}"
            f"; close->close rank IC {_fmt(close.get('mean_rank_ic'), '+.4f')}")
        books = rep.get("portfolios", {}).get("model", {})
        dsr = (doc.get("deflated") or {}).get("horizons", {}).get(h, {})
        if books:
            top, ls = books["top_n"], books["long_short"]
            lines.append(
                f"     net of {books['cost_bps_per_unit_traded']:g} bp a unit traded: top "
                f"{books['n_top']} {_fmt(top['net']['annual_return'], '+.1%')}/yr (gross "
                f"{_fmt(top['gross']['annual_return'], '+.1%')}, over the universe "
                f"{_fmt(top['net_excess_over_universe']['annual_return'], '+.1%')}, turnover "
                f"{_fmt(top['turnover_per_year'], '.0f')}x, costs "
                f"{_fmt(top['cost_drag_per_year'], '.1%')}); decile long-short "
                f"{_fmt(ls['net']['annual_return'], '+.1%')}/yr (Sharpe "
                f"{_fmt(ls['net']['sharpe'], '+.2f')}, PSR {_fmt(dsr.get('psr'), '.0%')}, "
                f"deflated {_fmt(dsr.get('dsr'), '.0%')})")
    return lines + [f"  {note_line(doc.get('universe'))[1]}"]
