"""Bots: per swing horizon and the intraday bot, state, positions, signals, trades, curves."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from aion_core.app import run_now
from aion_core.app.bots_view import WhyNoTrade, book_risk, position_levels, why_no_trade
from aion_core.app.calc import (
    bot_card,
    daily_equity,
    drawdown_series,
    equity_series,
    knob_table,
    positions_frame,
)
from aion_core.app.live_view import LiveVsSim, live_vs_sim
from aion_core.bots.registry import Bot
from aion_core.errors import AionError
from pages import _ui

RECENT_TRADES = 500
TRADE_ORDER = ["ts", "symbol", "side", "qty", "price", "realized_pnl", "fees", "reason",
               "order_id"]
POSITION_COLUMNS = {"symbol": "Symbol", "qty": "Qty", "avg_price": "Avg price",
                    "last_price": "Last", "market_value": "Value",
                    "unrealised_pnl": "Unrealised", "unrealised_pct": "Unrl. %",
                    "entry_date": "Entered",
                    "stop": st.column_config.Column(
                        "Stop", help="The price at which the stop_loss knob closes the "
                        "position: avg price x (1 - stop_loss) for a long, x (1 + stop_loss) "
                        "for a short, checked on each decision price."),
                    "target": st.column_config.Column(
                        "Target", help="The take_profit knob's price, the same way; shown "
                        "while the knob is on (above 0).")}


def bots_ui() -> tuple[Bot, str, list[str]]:
    """The chosen bot and the trade filters (symbol text, sides)."""
    bot = _ui.pick_bot("bots_pick")
    a, b = st.columns([2, 1])
    symbol = a.text_input("Filter trades by symbol", key="bots_symbol",
                          placeholder="e.g. SYM001").strip().upper()
    sides = b.multiselect("Sides", ["buy", "sell"], default=["buy", "sell"], key="bots_sides")
    return bot, symbol, sides


def draw_header(bot: str, state: dict, trades: pd.DataFrame, risk: dict) -> None:
    """Status, last run and the headline figures; `risk`: bots_view.book_risk."""
    card = bot_card(bot, state, trades)
    last = state.get("last_run") or {}
    note = (card.warning or card.status).partition(":")[2]
    when = str(last.get("at") or "never").replace("T", " ")[:16]
    where = f"session {last['session']}" if last.get("session") else \
        f"cycle {state['last_cycle']}" if state.get("last_cycle") else ""
    st.html(f"<div class='aion-head'><b>{bot}</b>"
            f"{_ui.bot_pill(card.status, card.warning, title=card.status)}"
            f"<small>{note.strip()}</small></div>"
            f"<small style='color:{_ui.MUTED}'>last run {when}"
            f"{' UTC' if last.get('at') else ''} · {where} · orders {last.get('orders', 0)}"
            "</small>")
    cols = st.columns(5)
    cols[0].metric("Equity", _ui.money(card.equity), _ui.delta(card.total_return))
    cols[1].metric("Day PnL", _ui.money(card.day_pnl, signed=True),
                   _ui.delta(card.day_pnl / (card.equity - card.day_pnl))
                   if card.equity != card.day_pnl else None)
    cols[2].metric("Cash", _ui.money(float(state.get("cash") or 0)))
    cols[3].metric("Open positions", card.open_positions)
    cols[4].metric("Win rate", _ui.pct(card.win_rate, signed=False, digits=0))
    draw_risk(card, risk)


def draw_risk(card, risk: dict) -> None:
    """The book's risk figures: the dashboard card's, and its beta and active risk against
    the equal-weight universe (bots_view.book_risk)."""
    over = f"over the {risk['sessions']} sessions the book and the bars share"
    cols = st.columns(5)
    cols[0].metric("Sharpe", "—" if card.sharpe is None else _ratio(card.sharpe),
                   help="Annualised, over each day's closing equity.")
    cols[1].metric("Max drawdown", _ui.pct(card.max_drawdown, digits=1))
    cols[2].metric("Exposure", _ui.pct(card.exposure, signed=False, digits=0),
                   help="Mean gross position value over equity.")
    cols[3].metric("Beta", "—" if risk["beta"] is None else _ratio(risk["beta"]),
                   help="Of the book's daily returns to the equal-weight universe's (each "
                   f"session the mean close-to-close return of every name), {over}.")
    cols[4].metric("Active risk", _ui.pct(risk["active_risk"], signed=False, digits=1),
                   help="Tracking error: the annualised standard deviation of the book's "
                   f"daily return less the equal-weight universe's, {over}.")


def _ratio(x: float) -> str:
    return f"{x:.2f}".replace("-", _ui.MINUS)


def draw_curves(equity: pd.Series, intraday: bool) -> None:
    dd = drawdown_series(equity)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.04)
    fig.add_scatter(x=equity.index, y=equity, name="equity", line={"color": "#1f6feb"},
                    row=1, col=1)
    fig.add_scatter(x=dd.index, y=dd, name="drawdown", fill="tozeroy",
                    line={"color": _ui.LOSS, "width": 1}, row=2, col=1)
    fig.update_yaxes(tickformat=_ui.MONEY_AXIS, hoverformat="$,.2f", row=1, col=1)
    fig.update_yaxes(tickformat=".1%", row=2, col=1)
    if intraday:  # cycles run in market hours: hide nights and weekends, not flat lines
        fig.update_xaxes(rangebreaks=[{"bounds": ["sat", "mon"]},
                                      {"bounds": [21, 14], "pattern": "hour"}])
    _ui.plot(_ui.layout(fig, height=380, title="Equity and drawdown"))


def universe_closes(store) -> pd.DataFrame | None:
    """Every name's closes for the benchmark; None when the bars cannot be read (the
    Predictions page names the file), so the figures show "—" and the rest still renders."""
    try:
        return _ui.load(store, "closes")
    except AionError:
        return None


def with_levels(store, bot: Bot, pos: pd.DataFrame) -> pd.DataFrame:
    """The positions with their stop and target prices under the knobs in force (the ones
    the bot's next run reads); without them, and a caption saying why, when the knobs cannot
    be read (the Knobs in force box below names the problem)."""
    try:
        config = _ui.load(store, "doc", "bots_config")
        knobs = bot.knobs(config if isinstance(config, dict) else None,
                          _ui.load(store, "knob_env"))
    except AionError as exc:
        st.caption(f"Stop and target prices not shown: {exc}")
        return pos
    return position_levels(pos, knobs.stop_loss, knobs.take_profit)


def draw_positions(pos: pd.DataFrame) -> None:
    st.subheader(f"Open positions ({len(pos)})")
    if pos.empty:
        st.caption("No open position.")
        return
    styled = pos.style.map(lambda v: f"color: {_ui.signed(v)}",
                           subset=["unrealised_pnl", "unrealised_pct"]).format(
        {"avg_price": _ui.money, "last_price": _ui.money, "market_value": _ui.money,
         "unrealised_pnl": lambda v: _ui.money(v, signed=True), "unrealised_pct": _ui.pct,
         "qty": "{:,.0f}", "stop": _ui.money, "target": _ui.money})
    st.dataframe(styled, hide_index=True, column_config=POSITION_COLUMNS)


FUNNEL_COLOURS = {"candidates": "#1f6feb", "removed": "#9ca3af", "entered": _ui.GAIN}


def draw_why(why: WhyNoTrade) -> None:
    """The last session's selection: its counts, what each rule removed, the names nearest
    to entry and why each stayed out."""
    st.subheader("Why no trade")
    if why.note:
        st.caption(why.note)
        return
    cols = st.columns(5)
    cols[0].metric("Candidates", why.candidates, help="Names with a forecast and not held.")
    cols[1].metric("Entered", why.entered)
    cols[2].metric("Kept", why.kept, help="Held names still ranked within the hold band.")
    cols[3].metric("Left the band", why.left_band, help="Held names sold: ranked beyond "
                   "the hold band.")
    cols[4].metric("Entry bar", "—" if why.bar_bp is None else f"{why.bar_bp:.1f} bp",
                   help="The excess forecast a new name must clear: entry_cost_multiple "
                   "round trips of slippage and fees.")
    left, right = st.columns([1, 2])
    with left:
        f = why.funnel.iloc[::-1]  # Plotly draws the first row at the bottom
        fig = go.Figure(go.Bar(
            x=f["names"], y=f["step"], orientation="h", text=f["names"],
            textposition="outside", marker_color=[FUNNEL_COLOURS[k] for k in f["kind"]],
            hovertemplate="%{y}: %{x} names<extra></extra>"))
        fig.update_xaxes(title="names", range=[0, max(1, int(f["names"].max())) * 1.15])
        _ui.plot(_ui.layout(fig, height=300, title="What each rule removed").update_layout(
            hovermode="closest", showlegend=False))
        st.caption(f"Session {why.session}" + (f", on {why.source}" if why.source else "")
                   + ". Each candidate (a name with a forecast, not held) is counted once, by "
                   "the first rule it fails, top to bottom.")
    with right:
        st.markdown("**Nearest to entry**")
        if why.nearest.empty:
            st.caption("No name was left out.")
        else:
            st.dataframe(why.nearest, hide_index=True, height=35 * (len(why.nearest) + 1) + 3,
                         column_config={
                "rank": st.column_config.NumberColumn("Rank", width=50),
                "symbol": "Symbol", "side": st.column_config.Column("Side", width=50),
                "excess_bp": st.column_config.NumberColumn(
                    "Excess (bp)", format="%+.1f", help="Expected return less the day's "
                    "mean over all names, in the side's favour, over the horizon."),
                "confidence": st.column_config.NumberColumn("Confidence", format="percent"),
                "why": st.column_config.Column("Why not entered", width="large")})


def start_exit(store, bot: Bot, symbol: str) -> None:
    """`aion bots exit` for one position, as a background job; the press time is the
    request (a second press within the minute is the same exit, done once)."""
    try:
        run_now.start_job(store, run_now.BOT_EXIT_JOB, extra=[
            "--bot", bot.key, "--symbol", symbol,
            "--at", datetime.now().astimezone().isoformat(timespec="seconds")])
    except AionError as exc:
        st.error(f"Not started: {exc}", icon=":material/block:")
        return
    st.toast(f"Exit of {symbol} started; its result shows below.", icon=":material/logout:")


def draw_exit_result(store) -> None:
    """The last exit job's state: running, or its result line."""
    job = run_now.job_view(store, run_now.BOT_EXIT_JOB, lines=20)
    last = next((line for line in reversed(job.log_tail) if line.strip()), "")
    if job.running:
        st.info("Exit running…", icon=":material/hourglass_top:")
    elif job.status == "ok":
        st.success(f"Last exit: {last}", icon=":material/check_circle:")
    elif job.status != "idle":
        st.error(f"Last exit {job.status}: {last}", icon=":material/error:")


def draw_exit(store, bot: Bot, pos: pd.DataFrame) -> None:
    """Admin only: close one position now, through the desk like a session (logged with
    reason "manual", once per press), and the last exit's result."""
    qty = dict(zip(pos["symbol"], pos["qty"], strict=True))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    symbol = left.selectbox("Exit a position now (admin)", list(qty), key=f"exit_pick_{bot.key}",
                            format_func=lambda s: f"{s} · {qty[s]:,.0f} shares")
    with right.popover("Exit now", icon=":material/logout:", width="stretch"):
        st.caption(f"Close all {qty[symbol]:,.0f} {symbol} at the last known price, logged "
                   "with reason manual; the bot may buy it again at a later session.")
        if st.button(f"Exit {symbol}", key=f"exit_{bot.key}", type="primary"):
            start_exit(store, bot, symbol)
    draw_exit_result(store)


def _bp(x: float | None, signed: bool = True) -> str:
    if x is None or x != x:
        return "—"
    return (f"{x:+,.1f} bp" if signed else f"{x:,.1f} bp").replace("-", _ui.MINUS)


def draw_live(view: LiveVsSim) -> None:
    """Live vs simulated, from the bot's reconcile reports: the tracking difference to its
    shadow book over the sessions, each fill's slippage against its shadow twin (histogram,
    and by symbol), and what did not match, with the order ids."""
    st.subheader("Live vs simulated")
    if view.note:
        st.caption(view.note)
        return
    t, last = view.tracking, view.last
    now = t.iloc[-1] if len(t) else None
    cols = st.columns(4)
    cols[0].metric("Tracking difference", _bp(None if now is None else now["tracking_bp"]),
                   help="The live book's equity against its shadow's (the same orders filled "
                   "by the simulator at the open with the knobs' slippage and fees), since the "
                   "shadow started; negative: live is behind.")
    cols[1].metric(f"Session {last['session']}",
                   _bp(None if now is None else now["tracking_day_bp"]),
                   help="The tracking difference's change over the last reconciled session.")
    cols[2].metric("Fills reconciled", f"{len(view.fills):,}")
    today = view.issues[view.issues["session"] == last["session"]]
    cols[3].metric("Open issues", f"{len(today):,}", help="The last report's issues.")
    left, right = st.columns(2)
    with left:
        fig = go.Figure(go.Scatter(x=t["session"], y=t["tracking_bp"], mode="lines+markers",
                                   line={"color": "#1f6feb"}, name="cumulative"))
        fig.update_yaxes(title="bp", zeroline=True)
        _ui.plot(_ui.layout(fig, height=280, title="Tracking difference, cumulative"))
    with right:
        fig = go.Figure(go.Histogram(x=view.fills["vs_shadow_bp"], nbinsx=30,
                                     marker_color="#9ca3af"))
        fig.update_xaxes(title="fill against its shadow, bp (positive: worse)")
        _ui.plot(_ui.layout(fig, height=280, title="Slippage by fill").update_layout(
            hovermode="closest", showlegend=False))
    st.markdown("**Slippage by symbol**")
    st.dataframe(view.by_symbol, hide_index=True, column_config={
        "symbol": "Symbol", "fills": "Fills",
        "notional": st.column_config.NumberColumn("Notional", format="dollar"),
        "vs_shadow_bp": st.column_config.NumberColumn(
            "vs shadow (bp)", format="%+.1f", help="Notional-weighted, against the "
            "simulator's fill of the same orders at the open."),
        "vs_decision_bp": st.column_config.NumberColumn(
            "vs decision (bp)", format="%+.1f", help="Against the last close the bot saw."),
        "cost": st.column_config.NumberColumn("Cost vs shadow", format="dollar")})
    st.markdown(f"**Unmatched and differing** (last reconciled session {last['session']}: "
                f"{last['status']})")
    if view.issues.empty:
        st.caption("Every order and position matched the broker.")
    else:
        st.dataframe(view.issues, hide_index=True, column_config={
            "session": "Session", "kind": "Kind", "order_id": "Order id",
            "symbol": "Symbol", "text": st.column_config.Column("What", width="large")})


def draw_trades(trades: pd.DataFrame, symbol: str, sides: list[str]) -> None:
    shown = trades[trades["side"].isin(sides)]
    if symbol:
        shown = shown[shown["symbol"].astype(str).str.contains(symbol, regex=False)]
    st.subheader(f"Recent trades ({len(shown):,} match)")
    if shown.empty:
        st.caption("No trade matches." if len(trades) else "No trade yet.")
        return
    shown = shown.head(RECENT_TRADES).drop(columns=["bot"])[TRADE_ORDER]
    # An opening fill realises nothing: a blank, not "+$0.00", so the gains stand out. Shown
    # as text, because st.dataframe prints a missing number as "None" whatever the Styler says.
    pnl = shown["realized_pnl"].where(shown["reason"].ne("entry")).map(
        lambda v: _ui.money(v, signed=True) if v == v else "")
    styled = shown.assign(realized_pnl=pnl).style.map(
        lambda v: f"color: {_ui.GAIN if v[:1] == '+' else _ui.LOSS if v else _ui.MUTED}",
        subset=["realized_pnl"]).format(
        {"price": _ui.money, "fees": _ui.money, "qty": "{:,.0f}",
         "ts": lambda t: f"{t:%Y-%m-%d %H:%M}"})
    st.caption("Realised PnL is net of fees: a closing fill's own and the entry fees of the "
               "shares it closes. The Fees column is each fill's share, already taken out.")
    st.dataframe(styled, hide_index=True, height=320, column_config={
        "ts": "Time (UTC)", "symbol": "Symbol", "side": "Side", "qty": "Qty", "price": "Price",
        "fees": st.column_config.Column(
            "Fees", help="This fill's fees; already deducted from Realised PnL."),
        "reason": "Reason", "order_id": "Order id",
        "realized_pnl": st.column_config.Column(
            "Realised PnL (net)", help="Net of this fill's fees and the entry fees of the "
            "shares it closes: the cash the round trip made.")})


def draw_bot(store, bot: Bot, symbol: str, sides: list[str]) -> None:
    with _ui.guard(f"Bot {bot.label}"):
        state, trades = _ui.load(store, "bot", bot.key)
        if state is None:
            _ui.empty(f"{bot.label} has no state", bot.job)
            return
        equity = equity_series(state)
        initial = float(state.get("initial_cash") or 0) or None
        draw_header(bot.label, state, trades,
                    book_risk(daily_equity(equity), initial, universe_closes(store)))
        intraday = bot.kind == "intraday"
        if len(equity):
            draw_curves(equity, intraday)
        pos = positions_frame(state)
        draw_positions(with_levels(store, bot, pos))
        if not intraday and len(pos) and _ui.admin_open():
            draw_exit(store, bot, pos)
        if not intraday:  # the intraday bot acts within its cycle: it screens no session
            draw_why(why_no_trade(state))
        with _ui.guard(f"Reconcile reports of {bot.label}"):
            draw_live(live_vs_sim(_ui.load(store, "reconcile", bot.key)))
        draw_trades(trades, symbol, sides)


def draw_knobs(store, bot: Bot) -> None:
    with _ui.guard("Bot knobs"), st.expander("Knobs in force"):
        config = _ui.load(store, "doc", "bots_config")
        table = knob_table(config, bot, _ui.load(store, "knob_env"))
        table["value"] = table["value"].astype(str)
        table["default"] = table["default"].astype(str)
        st.dataframe(table, hide_index=True)


def main() -> None:
    settings, store = _ui.context()
    st.title("Bots")
    bot, symbol, sides = bots_ui()
    st.fragment(run_every=_ui.refresh_every(settings))(draw_bot)(store, bot, symbol, sides)
    draw_knobs(store, bot)


_ui.require_frame(__file__)
main()
