"""Research: backtests started here (or with `aion backtest`), their tear sheets, up to four
runs side by side, and the `aion evaluate` reports with their signal analytics
(pages/_signal_charts.py).

A backtest started here runs as a background job through the same runner and lock as the
admin's run-now buttons (aion_core.app.run_now), so one runs at a time and its progress is its
log; it never touches the live bots, so it needs no login. A press while one runs queues it,
at most run_now.MAX_WAITING deep; a press beyond that is refused with a line saying so.
Every figure is recomputed from the run's files with aion_core.bots.performance
(aion_core.app.research_view), the functions that wrote its metrics.json, once per change
of those files: the page draws the cached "tear_sheets" read model, and reads the raw run
only when a download is clicked.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from aion_core.app import research_view as vr
from aion_core.app import run_now, views
from aion_core.app.views import Store, validate_bots_config
from aion_core.bots.registry import SWING_BOTS, swing_bot
from aion_core.config import Settings
from aion_core.errors import AionError
from pages import _signal_charts, _ui

FILL_BACKTEST = "aion backtest --start YYYY-MM-DD --end YYYY-MM-DD"
FILL_EVALUATE = "aion evaluate --start YYYY-MM-DD --end YYYY-MM-DD"
_PROGRESS = re.compile(r"backtest: (\d+)/(\d+)")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


# --------------------------------------------------------------------------- new backtest


def period_ui(last: date, every: int) -> tuple[date, date, int]:
    a, b, c = st.columns(3)
    start = a.date_input("From", last - timedelta(days=182), max_value=last, key="bt_start")
    end = b.date_input("To", last, max_value=last, key="bt_end")
    every = c.number_input("Retrain the models every (sessions)", 1, 252, every, key="bt_every",
                           help="The replay refits the models on data before each anchor.")
    return start, end, int(every)


def knobs_form_ui(config: dict | None,
                  env: dict | None) -> tuple[list[str], dict[str, Any]]:
    """The bots to run and their knobs (set to the ones in force: bots_config.json `config`
    over the env files `env`), as a bots_config doc."""
    keys = st.multiselect("Bots", [b.key for b in SWING_BOTS], default=[b.key for b in SWING_BOTS],
                          format_func=lambda k: swing_bot(k).label, key="bt_bots")
    swing = {}
    for key in keys:
        with st.expander(f"Knobs of {swing_bot(key).label}"):
            swing[key] = _ui.knobs_ui(swing_bot(key), config, prefix="bt", env=env)
    return keys, {SWING_BOTS[0].section: swing}  # the swing bots share one section


def start_backtest(store: Store, start: date, end: date, every: int, keys: list[str],
                   knobs: dict[str, Any]) -> None:
    if not keys:
        st.error("Pick at least one bot.", icon=":material/block:")
        return
    if start > end:
        st.error(f"From ({start}) is after To ({end}).", icon=":material/block:")
        return
    try:
        validate_bots_config(knobs)
        press = run_now.submit_job(store, run_now.BACKTEST_JOB, extra=[
            "--start", f"{start:%Y-%m-%d}", "--end", f"{end:%Y-%m-%d}", "--horizon",
            ",".join(keys), "--retrain-every", str(every), "--knobs", json.dumps(knobs)])
    except AionError as exc:
        st.error(f"Not started: {exc}", icon=":material/block:")
        return
    if press.waiting:
        st.toast(f"Backtest queued: number {press.waiting} in line; it starts when the ones "
                 "ahead have finished.", icon=":material/schedule:")
    else:
        st.toast("Backtest started; its progress is below.", icon=":material/play_arrow:")


def draw_progress(store: Store) -> None:
    """The backtest job's state: a progress bar from its log while it runs, its last line
    when it has ended."""
    job = run_now.job_view(store, run_now.BACKTEST_JOB, lines=40)
    was_running = st.session_state.get("bt_was_running", False)
    st.session_state["bt_was_running"] = job.running
    if was_running and not job.running:
        st.rerun()  # the whole page: the finished run joins the list
    if job.status == "idle":
        return
    last = next((line for line in reversed(job.log_tail) if line.strip()), "")
    if job.running:
        done = [m.groups() for line in job.log_tail if (m := _PROGRESS.search(line))]
        i, n = (int(done[-1][0]), int(done[-1][1])) if done else (0, 1)
        st.progress(i / n, text=f"Backtest running: {i}/{n} sessions" if done
                    else "Backtest running: building the dataset and training the models…")
        if queued := len(run_now.waiting(job.doc)):
            st.caption(f"{queued} more waiting (at most {run_now.MAX_WAITING}); each starts "
                       "when the one before it has finished.")
    elif job.status == "ok":
        st.success(f"Last backtest finished: {last}", icon=":material/check_circle:")
    else:
        st.error(f"Last backtest {job.status}: {last}", icon=":material/error:")
        with st.expander("Its log"):
            st.code("\n".join(job.log_tail), language=None)


def draw_new(store: Store, settings: Settings) -> None:
    st.caption("Replays the past with the models refit on schedule and the knobs below; the "
               "live bots are not touched. The run is kept under `research/backtests/`.")
    bars = None  # stays None when the guard shows why the bars cannot be read
    with _ui.guard("Daily bars"):
        symbols = store.daily_symbols()
        bars = _ui.load(store, "bars", symbols[0]) if symbols else None
        if bars is None or bars.empty:
            _ui.empty("No daily bars", "market")
            return
    # The knobs' errors under their own label, which names the file (bots_config.json,
    # knobs.env, dt_knobs.env: calc.error_label), not under "Daily bars".
    with _ui.guard("Bot knobs"):
        if bars is not None:
            config = _ui.load(store, "doc", "bots_config")
            env = _ui.load(store, "knob_env")
            draw_form(store, settings, bars, config if isinstance(config, dict) else None, env)
    st.fragment(run_every=_ui.refresh_every(settings))(draw_progress)(store)


def draw_form(store: Store, settings: Settings, bars: pd.DataFrame, config: dict | None,
              env: dict | None) -> None:
    with st.form("bt_form"):
        start, end, every = period_ui(pd.Timestamp(bars["date"].max()).date(),
                                      settings.aion_retrain_every)
        keys, knobs = knobs_form_ui(config, env)
        go_ = st.form_submit_button("Start backtest", type="primary",
                                    icon=":material/play_arrow:")
    if go_:
        start_backtest(store, start, end, every, keys, knobs)


# --------------------------------------------------------------------------- tear sheet


def draw_figures(sheet: dict[str, Any]) -> None:
    for row in (vr.FIGURES[:5], vr.FIGURES[5:10], vr.FIGURES[10:]):
        for col, (key, label, kind, meaning) in zip(st.columns(5), row, strict=False):
            col.metric(label, vr.fmt_figure(kind, sheet.get(key)), help=meaning)


def draw_curves(curves: pd.DataFrame, bot: str) -> None:
    fig = go.Figure()
    fig.add_scatter(x=curves.index, y=curves["equity"], name=bot,
                    line={"color": _ui.BOT_COLOURS.get(bot, _ui.INK), "width": 2})
    if "benchmark" in curves:
        fig.add_scatter(x=curves.index, y=curves["benchmark"], name="benchmark (equal weight)",
                        line={"color": _ui.BOT_COLOURS["benchmark"], "dash": "dot"})
    fig.update_yaxes(tickformat=_ui.MONEY_AXIS)
    _ui.plot(_ui.layout(fig, title="Equity against the benchmark"))
    left, right = st.columns(2)
    under = go.Figure(go.Scatter(x=curves.index, y=curves["drawdown"], fill="tozeroy",
                                 name="drawdown", line={"color": _ui.LOSS}))
    under.update_yaxes(tickformat=".1%")
    with left:
        _ui.plot(_ui.layout(under, height=260, title="Underwater (fall from the peak)"))
    expo = go.Figure()
    expo.add_scatter(x=curves.index, y=curves["exposure"], name="exposure (gross / equity)")
    expo.add_scatter(x=curves.index, y=curves["cash"], name="cash / equity",
                     line={"color": _ui.MUTED})
    expo.update_yaxes(tickformat=".0%")
    with right:
        _ui.plot(_ui.layout(expo, height=260, title="Exposure and cash"))


def draw_monthly_and_rolling(sheet: vr.TearSheet) -> None:
    left, right = st.columns(2)
    months = sheet["monthly"]
    heat = go.Figure(go.Heatmap(
        z=months.to_numpy(), x=MONTHS, y=[str(y) for y in months.index], zmid=0,
        colorscale=[[0, _ui.LOSS], [0.5, "#f7f9fb"], [1, _ui.GAIN]], showscale=False,
        text=[[_ui.pct(v, digits=1) if v == v else "" for v in row] for row in months.to_numpy()],
        texttemplate="%{text}", textfont={"size": 10},  # 12 months fit half a page's width
        hovertemplate="%{y} %{x}: %{text}<extra></extra>"))
    with left:
        _ui.plot(_ui.layout(heat, height=120 + 40 * len(months), title="Monthly returns"))
    roll = sheet["rolling"]
    fig = go.Figure(go.Scatter(x=roll.index, y=roll, name="rolling Sharpe"))
    with right:
        if roll.empty:
            st.caption("Too few sessions for a rolling Sharpe.")
        else:
            _ui.plot(_ui.break_even(_ui.layout(fig, height=260, title="Rolling Sharpe")))


def draw_trips(sheet: vr.TearSheet) -> None:
    trips = sheet["trips"]
    st.markdown(f"**Round trips** ({len(trips)} closed; PnL net of all fees)")
    st.dataframe(trips, hide_index=True, height=260, column_config={
        "symbol": "Symbol",
        "entry": st.column_config.DateColumn("Entry"), "exit": st.column_config.DateColumn("Exit"),
        "days_held": "Days held", "cost": st.column_config.NumberColumn("Cost", format="dollar"),
        "pnl": st.column_config.NumberColumn("PnL", format="dollar"),
        "return": st.column_config.NumberColumn("Return", format="percent"),
        "exit_reason": "Exit reason"})
    for col, by, title, table in zip(st.columns(2), ("symbol", "exit_reason"),
                                     ("PnL by symbol", "PnL by exit reason"),
                                     (sheet["by_symbol"], sheet["by_exit"]), strict=True):
        fig = go.Figure(go.Bar(x=table[by], y=table["pnl"],
                               marker_color=_ui.signed_colours(table["pnl"])))
        fig.update_yaxes(tickformat=_ui.MONEY_AXIS)
        with col:
            _ui.plot(_ui.layout(fig, height=260, title=title))


def draw_downloads(store: Store, run_id: str) -> None:
    """The run's trades and equity as CSV, written only when clicked: a year of fills is a
    few megabytes that every rerun would otherwise rebuild and send."""
    def csv(part: str) -> str:
        run = views.load(store, "backtest", run_id)
        if run is None:
            return ""
        return (pd.DataFrame(run.trades) if part == "trades" else run.equity).to_csv(index=False)

    a, b, _ = st.columns([1, 1, 3])
    a.download_button("Trades (CSV)", lambda: csv("trades"), f"{run_id}_trades.csv", "text/csv",
                      icon=":material/download:", on_click="ignore")
    b.download_button("Equity (CSV)", lambda: csv("equity"), f"{run_id}_equity.csv", "text/csv",
                      icon=":material/download:", on_click="ignore")


def draw_universe(doc: dict[str, Any] | None) -> None:
    """A report's one line on its universe: a warning while its figures are upper bounds."""
    upper_bound, line = vr.universe_line(doc)
    if upper_bound:
        st.warning(line, icon=":material/warning:")
    else:
        st.caption(line)


def draw_tear_sheet(store: Store, run: vr.RunSheets) -> None:
    doc = run["doc"]
    bots = list(run["sheets"])
    st.caption(f"{doc.get('start')} → {doc.get('end')} · models refit every "
               f"{doc.get('retrain_every')} sessions · created {doc.get('created_at')}")
    draw_universe(doc)
    if not bots:
        st.info("This run traded no bot.", icon=":material/hourglass_empty:")
        return
    bot = st.segmented_control("Bot", bots, default=bots[0], key="bt_sheet_bot") or bots[0]
    sheet = run["sheets"][bot]
    draw_figures(sheet["figures"])
    draw_curves(sheet["curves"], bot)
    draw_monthly_and_rolling(sheet)
    draw_trips(sheet)
    with st.expander("Knobs and settings used"):
        st.json({"knobs": (doc.get("knobs") or {}).get(bot), "settings": doc.get("settings")})
    draw_downloads(store, str(doc["id"]))


#: The runs table's figures, formatted like the tear sheet's (vr.fmt_figure), so a return
#: reads "+0.82%" / "−2.15%" in both places.
RUNS_FIGURES = {"total_return": ("Return", "pct"), "sharpe": ("Sharpe", "ratio"),
                "max_drawdown": ("Max DD", "pct"), "benchmark": ("Benchmark", "pct")}


def draw_runs(store: Store, runs: list[dict[str, Any]]) -> None:
    table = vr.runs_table(runs)
    for column, (_, kind) in RUNS_FIGURES.items():
        table[column] = [vr.fmt_figure(kind, v) for v in table[column]]
    st.dataframe(table, hide_index=True, width="stretch", height=min(
        36 * (len(table) + 1), 260), column_config={  # narrow columns: Benchmark stays in view
        "id": st.column_config.TextColumn("Run", width="medium"),
        "created": st.column_config.TextColumn("Created", width="small"),
        "period": st.column_config.TextColumn("Period", width="medium"),
        "bot": st.column_config.TextColumn("Bot", width="small"),
        "retrain_every": st.column_config.NumberColumn("Refit every", width="small"),
        **{c: st.column_config.TextColumn(label, width="small")
           for c, (label, _) in RUNS_FIGURES.items()}})
    names = {r["id"]: f"{r['id']} · {r.get('start')} → {r.get('end')} · "
             f"{', '.join(r.get('bots', []))}" for r in runs}
    run_id = st.selectbox("Tear sheet of", list(names), format_func=names.get, key="bt_run")
    with _ui.guard(f"Backtest {run_id}"):
        run = _ui.load(store, "tear_sheets", run_id)
        if run is not None:
            draw_tear_sheet(store, run)


def draw_compare(store: Store, runs: list[dict[str, Any]]) -> None:
    ids = st.multiselect("Runs (up to four)", [r["id"] for r in runs],
                         default=[r["id"] for r in runs[:2]], max_selections=vr.COMPARE_MAX,
                         key="bt_compare")
    with _ui.guard("Runs compared"):
        loaded = [r for i in ids if (r := _ui.load(store, "tear_sheets", i)) is not None]
        if not loaded:
            return
        draw_universe(next((r["doc"] for r in loaded if vr.universe_line(r["doc"])[0]),
                           loaded[0]["doc"]))
        table = vr.compare_frame(loaded)
        kinds = [f[2] for f in vr.FIGURES]
        shown = table.apply(lambda col: [vr.fmt_figure(k, v) for k, v in zip(kinds, col,
                                                                           strict=True)])
        st.dataframe(shown, height="content")  # a fixed height left an empty last row
        growth = vr.growth_frame(loaded)
        fig = go.Figure([go.Scatter(x=part["date"], y=part["growth"], name=name)
                         for name, part in growth.groupby("curve")])
        _ui.plot(_ui.layout(fig, title="Growth of $1"))


# --------------------------------------------------------------------------- evaluations


def draw_evaluations(store: Store) -> None:
    with _ui.guard("Evaluation reports"):
        docs, broken = _ui.load(store, "evaluations")
        for line in broken:
            st.error(f"Cannot read `{line}`", icon=":material/error:")
        if not docs:
            _ui.empty("No `aion evaluate` report", FILL_EVALUATE)
            return
        doc = next(d for d in docs if d["id"] == st.selectbox(
            "Report", [d["id"] for d in docs], key="eval_pick"))
        data = doc.get("data") or {}
        first = next(iter((doc.get("horizons") or {}).values()), {})
        st.caption(f"{doc.get('start')} → {doc.get('end')} · refit every "
                   f"{doc.get('retrain_every')} sessions · {data.get('symbols', '?')} symbols · "
                   f"rank IC against the {first.get('label', 'close-to-close')} return, "
                   "Newey-West t")
        draw_universe(doc)
        for line in vr.evaluation_verdicts(doc):
            st.markdown(line)
        years = ["all", *vr.evaluation_years(doc)]
        block = st.segmented_control("Period", years, default="all", key="eval_year") or "all"
        st.dataframe(vr.evaluation_table(doc, block), hide_index=True, column_config={
            "horizon": "Horizon", "signal": "Signal",
            "mean_rank_ic": st.column_config.NumberColumn("Mean rank IC", format="%.4f"),
            "rank_ic_t": st.column_config.NumberColumn("NW t", format="%.2f"),
            "rank_icir": st.column_config.NumberColumn("ICIR", format="%.2f"),
            "days_positive": st.column_config.NumberColumn("Days IC > 0", format="percent"),
            "top_minus_bottom": st.column_config.NumberColumn("Top − bottom decile",
                                                              format="percent")})
        with _ui.guard(f"Signal analytics of {doc['id']}"):
            _signal_charts.draw_analytics(store, doc)


def draw_trials(store: Store) -> None:
    lines = _ui.load(store, "trials")
    if not lines:
        _ui.empty("No trial recorded yet", FILL_EVALUATE)
        return
    st.caption(f"{len(lines)} trial(s): every `aion evaluate` and `aion backtest` run, newest "
               "first. A figure is worth what survives the tries that produced it: backtests "
               "and evaluations deflate their Sharpe ratios for the trials on an overlapping "
               "window (DSR, Bailey & López de Prado 2014).")
    st.dataframe(vr.trials_table(lines), hide_index=True, column_config={
        "at": "When (UTC)", "kind": "Kind", "id": "Run", "window": "Window",
        "symbols": "Symbols", "recipe": "Recipe", "code": "Code", "headline": "Headline"})


# --------------------------------------------------------------------------- the page


def main() -> None:
    settings, store = _ui.context()
    st.title("Research")
    runs: list[dict[str, Any]] = []
    tab_runs, tab_new, tab_compare, tab_eval, tab_trials = st.tabs(
        ["Backtests", "New backtest", "Compare", "Evaluations", "Trials"])
    with tab_runs, _ui.guard("Backtest runs"):
        runs, broken = _ui.load(store, "backtests")
        for line in broken:
            st.error(f"Cannot read `{line}`", icon=":material/error:")
        if runs:
            draw_runs(store, runs)
        else:
            _ui.empty("No backtest run", FILL_BACKTEST)
            st.caption("Or start one in the **New backtest** tab.")
    with tab_new:
        draw_new(store, settings)
    with tab_compare:
        if runs:
            draw_compare(store, runs)
        else:
            st.caption("Runs appear here once a backtest has finished.")
    with tab_eval:
        draw_evaluations(store)
    with tab_trials, _ui.guard("Trial registry"):
        draw_trials(store)


_ui.require_frame(__file__)
main()
