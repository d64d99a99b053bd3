"""Predictions: every symbol's forecasts; for one symbol its chart (with the bots' fills of
it marked), history and the models."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from aion_core.app.bots_view import trade_markers
from aion_core.app.calc import chart_frame, predictions_table
from aion_core.bots.registry import BOTS
from aion_core.config import HORIZONS
from aion_core.errors import AionError
from pages import _ui


def filters_ui() -> tuple[list[str], float, str]:
    a, b, c = st.columns([2, 2, 2])
    horizons = a.multiselect("Horizons", list(HORIZONS), default=list(HORIZONS), key="pred_h")
    min_conf = b.slider("Min confidence", 0.0, 1.0, 0.0, 0.05, key="pred_conf")
    text = c.text_input("Symbol contains", key="pred_sym").strip().upper()
    return horizons, min_conf, text


def filter_table(table: pd.DataFrame, horizons: list[str], min_conf: float,
                 text: str) -> pd.DataFrame:
    shown = table[table["horizon"].isin(horizons) & (table["confidence"].fillna(0) >= min_conf)]
    return shown[shown["symbol"].str.contains(text, regex=False)] if text else shown


def draw_table(shown: pd.DataFrame) -> None:
    st.dataframe(shown, hide_index=True, height=360, column_config=_ui.prediction_columns())


#: Marker of a fill by side: Plotly symbol and colour.
FILL_MARKERS = {"buy": ("triangle-up", "#1f6feb"), "sell": ("triangle-down", "#bf8700")}


def bot_trades(store) -> list[pd.DataFrame]:
    """Every bot's trade log (calc.trades_frame); a bot whose files cannot be read is left
    out here, where its fills are decoration (the Bots page names the file)."""
    frames = []
    for bot in BOTS.values():
        try:
            frames.append(_ui.load(store, "bot", bot.key)[1])
        except AionError:
            continue
    return frames


def add_fills(fig: go.Figure, fills: pd.DataFrame) -> None:
    """The bots' fills on the price panel at their fill price, buys and sells apart."""
    for side, part in fills.groupby("side"):
        symbol, colour = FILL_MARKERS.get(str(side), ("circle", _ui.INK))
        fig.add_scatter(
            x=part["date"], y=part["price"], mode="markers", name=f"bot {side}s",
            marker={"symbol": symbol, "size": 11, "color": colour,
                    "line": {"color": "white", "width": 1}},
            customdata=part[["bot", "qty", "reason"]].to_numpy(),
            hovertemplate=f"{side} %{{customdata[1]:,.0f}} @ $%{{y:,.2f}} by %{{customdata[0]}}"
                          "<br>reason: %{customdata[2]}<extra></extra>", row=1, col=1)


def draw_chart(symbol: str, f: pd.DataFrame, fills: pd.DataFrame) -> None:
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.6, 0.2, 0.2],
                        vertical_spacing=0.03)
    fig.add_candlestick(x=f["date"], open=f["open"], high=f["high"], low=f["low"],
                        close=f["close"], name=symbol, increasing_line_color=_ui.GAIN,
                        decreasing_line_color=_ui.LOSS, row=1, col=1)
    for col, colour in (("sma_20", "#1f6feb"), ("sma_50", "#bf8700")):
        fig.add_scatter(x=f["date"], y=f[col], name=col.upper().replace("_", " "),
                        line={"color": colour, "width": 1.3}, row=1, col=1)
    up = f["close"] >= f["open"]
    fig.add_bar(x=f["date"], y=f["volume"], name="volume", row=2, col=1,
                marker_color=[_ui.GAIN if u else _ui.LOSS for u in up], opacity=0.6)
    fig.add_scatter(x=f["date"], y=f["rsi_14"], name="RSI 14", line={"color": "#8250df"},
                    row=3, col=1)
    add_fills(fig, fills)
    for level in (30, 70):
        fig.add_hline(y=level, line={"dash": "dot", "color": "#9ca3af", "width": 1}, row=3, col=1)
    fig.update_xaxes(rangeslider_visible=False, rangebreaks=[{"bounds": ["sat", "mon"]}])
    _ui.plot(_ui.layout(fig, height=560, title=f"{symbol}: last {len(f)} sessions"))
    if len(fills):
        st.caption(f"▲ buys and ▼ sells: the bots' {len(fills)} fills of {symbol} in this "
                   "window, at their fill price; hover one for the bot, quantity and reason.")


def draw_history(symbol: str, hist: pd.DataFrame) -> None:
    if hist.empty:
        st.caption(f"No prediction history for {symbol} yet (the nightly job appends it).")
        return
    fig = go.Figure()
    for h, part in hist.groupby("horizon"):
        fig.add_scatter(x=part["as_of"], y=part["expected_return"], name=str(h),
                        mode="lines+markers")
    fig.update_yaxes(tickformat=".2%")
    # One tick per night: with a handful of nights Plotly would label hours as repeated days.
    fig.update_xaxes(type="date", tickformat="%Y-%m-%d", dtick=86_400_000 * max(
        1, (hist["as_of"].max() - hist["as_of"].min()).days // 8))
    _ui.plot(_ui.layout(fig, height=260, title=f"{symbol}: predicted return over time"))


def draw_symbol(store, symbol: str) -> None:
    with _ui.guard(f"Daily bars of {symbol}"):
        bars = _ui.load(store, "bars", symbol)
        if bars is None or bars.empty:
            _ui.empty(f"No daily bars for {symbol}", "market")
        else:
            f = chart_frame(bars)
            labels = {b.name: b.label for b in BOTS.values()}
            draw_chart(symbol, f, trade_markers(bot_trades(store), symbol, f["date"].min(),
                                                f["date"].max(), labels))
    with _ui.guard("Prediction history"):
        draw_history(symbol, _ui.load(store, "prediction_history", symbol))


def main() -> None:
    settings, store = _ui.context()
    st.title("Predictions")
    table = predictions_table(None)
    with _ui.guard("Predictions (brain)"):
        brain = _ui.load(store, "brain")
        if brain is None:
            _ui.empty("No predictions", "brain")
        else:
            st.caption(f"As of {brain.get('as_of')} · {len(brain.get('symbols') or {})} symbols")
            table = predictions_table(brain)
            draw_table(filter_table(table, *filters_ui()))
    symbols = sorted(set(table["symbol"])) or store.daily_symbols()
    if symbols:
        symbol = st.selectbox("Symbol", symbols, key="pred_symbol")
        st.fragment(run_every=_ui.refresh_every(settings))(draw_symbol)(store, symbol)
    st.page_link("pages/models.py", label="How the models were validated and how their "
                 "forecasts turned out: Models", icon=":material/model_training:")


_ui.require_frame(__file__)
main()
