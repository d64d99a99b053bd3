"""Dashboard: a card per bot, top predictions, PnL by period, returns vs benchmark, regime."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from aion_core.app.calc import (
    BotCard,
    bot_card,
    cumulative_returns,
    equity_series,
    pnl_table,
    predictions_table,
    regime_view,
)
from aion_core.bots.registry import BOTS, SWING_JOB
from aion_core.config import HORIZONS
from pages import _ui

TOP_N = 50


def dashboard_ui() -> tuple[str, str]:
    """The PnL period and the horizon whose predictions are ranked.

    One horizon at a time: a 4-week score and a 1-week one are not on one scale, so a single
    ranking across them would say which model is bolder, not which name is better.
    """
    left, right = st.columns(2)
    period = left.segmented_control("PnL by", ["day", "week", "month"], default="week",
                                    key="dash_period") or "week"
    horizon = right.segmented_control("Predictions over", list(HORIZONS), default="1w",
                                      key="dash_horizon") or "1w"
    return period, horizon


def draw_card(card: BotCard) -> None:
    """Equity as a metric (with the total return), the rest in one compact row.

    The pill shows the status up to its first colon ("ok", "flat before the close"), or the
    idle warning in its place ("idle 7 sessions"); the whole line is its tooltip, so a long
    cycle note never overflows a narrow card.
    """
    st.html(f'<div class="aion-head"><b>{card.bot}</b>'
            f'{_ui.bot_pill(card.status, card.warning, title=card.warning or card.status)}</div>'
            f'<small style="color:{_ui.MUTED}">as of {card.as_of or "—"}</small>')
    st.metric("Equity", _ui.money(card.equity), _ui.delta(card.total_return))
    stats = [("Day PnL", _ui.money(card.day_pnl, signed=True, compact_from=1e3, cents=False),
              _ui.signed(card.day_pnl)),
             ("Total PnL", _ui.money(card.total_pnl, signed=True, compact_from=1e3,
                                     cents=False), _ui.signed(card.total_pnl)),
             ("Open", str(card.open_positions), _ui.INK),
             ("Win rate", _ui.pct(card.win_rate, signed=False, digits=0), _ui.INK),
             ("Sharpe", f"{card.sharpe:.2f}" if card.sharpe is not None else
              f"{card.days} d: too few" if card.days else "—", _ui.signed(card.sharpe)),
             ("Max DD", _ui.pct(card.max_drawdown, digits=1), _ui.signed(card.max_drawdown)),
             ("Exposure now", _ui.pct(card.exposure, signed=False, digits=0), _ui.INK)]
    cells = "".join(f'<div>{label}<b style="color:{colour}">{value}</b></div>'
                    for label, value, colour in stats)
    st.html(f'<div class="aion-card aion-stats"><div class="row">{cells}</div></div>')


def draw_pnl(pnl: pd.DataFrame, period: str) -> None:
    fig = go.Figure()
    for bot in pnl.columns:
        fig.add_bar(x=pnl.index, y=pnl[bot], name=bot, marker_color=_ui.BOT_COLOURS.get(bot))
    total = pnl.sum(axis=1)
    fig.add_scatter(x=total.index, y=total, name="all bots", mode="lines+markers",
                    line={"color": "#9ca3af", "width": 1},
                    marker={"color": _ui.signed_colours(total), "size": 6})
    fig.update_yaxes(tickformat=_ui.MONEY_AXIS, hoverformat="$,.2f")
    _ui.plot(_ui.layout(fig, title=f"PnL by {period}", barmode="relative"))


def draw_returns(cum: pd.DataFrame) -> None:
    fig = go.Figure()
    for col in cum.columns:
        fig.add_scatter(x=cum.index, y=cum[col], name=col, mode="lines",
                        line={"color": _ui.BOT_COLOURS.get(col),
                              "dash": "dot" if col == "benchmark" else "solid", "width": 2})
    fig.update_yaxes(tickformat=".1%")
    _ui.plot(_ui.layout(_ui.break_even(fig),
                        title="Cumulative return vs equal-weight benchmark"))


def draw_regime(label: str | None, probs: dict[str, float], hist: pd.DataFrame) -> None:
    st.metric("Market regime", (label or "unknown").replace("_", " ").title())
    if probs:
        names = list(probs)
        fig = go.Figure(go.Bar(x=[probs[n] for n in names], y=names, orientation="h",
                               marker_color="#1f6feb", text=[f"{probs[n]:.0%}" for n in names]))
        fig.update_xaxes(tickformat=".0%", range=[0, 1])
        _ui.plot(_ui.layout(fig, height=180, title="Regime probabilities"))
    if not hist.empty and "label" in hist:
        fig = go.Figure(go.Scatter(x=hist["date"], y=hist["label"], mode="markers",
                                   marker={"size": 5, "color": "#8250df"}))
        _ui.plot(_ui.layout(fig, height=180, title="Regime history"))


def draw_top(table: pd.DataFrame) -> None:
    st.dataframe(table.head(TOP_N), hide_index=True, height=420,
                 column_config=_ui.prediction_columns())


def draw_bots(store, period: str) -> None:
    curves, initials, cards = {}, {}, []
    for bot in BOTS.values():
        with _ui.guard(f"Bot {bot.label}"):
            state, trades = _ui.load(store, "bot", bot.key)
            if state is None:
                continue
            cards.append(bot_card(bot.label, state, trades))
            curves[bot.label] = equity_series(state)
            initials[bot.label] = float(state.get("initial_cash") or 0) or None
    if not cards:
        _ui.empty("No bot has traded", SWING_JOB)
        return
    for col, card in zip(st.columns(len(cards)), cards, strict=True):
        with col, st.container(border=True):
            draw_card(card)
    curves = {b: c for b, c in curves.items() if len(c)}
    left, right = st.columns(2)
    with left:
        pnl = pnl_table(curves, initials, period)
        if pnl.empty:
            st.caption("No equity history yet.")
        else:
            draw_pnl(pnl, period)
    with right, _ui.guard("Daily bars (benchmark)"):
        cum = cumulative_returns(curves, initials, _ui.load(store, "closes"))
        if cum.empty:
            st.caption("No equity history yet.")
        else:
            draw_returns(cum)


def draw_brain(store, horizon: str) -> None:
    left, right = st.columns([2, 1])
    with _ui.guard("Predictions (brain)"):
        brain = _ui.load(store, "brain")
        with left:
            st.subheader(f"Top {TOP_N} predictions, {horizon}")
            if brain is None:
                _ui.empty("No predictions", "brain")
            else:
                st.caption(f"As of {brain.get('as_of')} · generated {brain.get('generated_at')}")
                table = predictions_table(brain)
                draw_top(table[table["horizon"] == horizon])
        with right:
            st.subheader("Regime")
            if brain is None:
                st.caption("The nightly job labels the market regime.")
            else:
                draw_regime(*regime_view(brain))


def live(store, period: str, horizon: str) -> None:
    draw_bots(store, period)
    draw_brain(store, horizon)


def main() -> None:
    settings, store = _ui.context()
    st.title("Dashboard")
    if not store.daily_symbols():
        st.info("**Getting started**: this data root is empty. Fill it with a synthetic market "
                "(`aion demo-data`), or `make run` to do all of it, then run `aion nightly` "
                "for predictions and `aion replay --start YYYY-MM-DD --end YYYY-MM-DD` for the "
                "bots.", icon=":material/rocket_launch:")
    period, horizon = dashboard_ui()
    st.fragment(run_every=_ui.refresh_every(settings))(live)(store, period, horizon)


_ui.require_frame(__file__)
main()
