"""The Research page's signal analytics of an evaluation, as alphalens and Qlib draw a factor:
the long-short book gross and net, rank IC by month and by year, returns by decile, each
input's IC and the forecast's autocorrelation. Every chart reads the evaluation's
analytics.parquet (aion_core.app.analytics_view), on the report's rows and tradeable label.
"""

from __future__ import annotations

import calendar
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from aion_core.app import analytics_view as va
from aion_core.app.calc import MINUS
from aion_core.app.views import Store
from aion_core.config import HORIZONS
from pages import _ui

MONTHS = list(calendar.month_abbr)[1:]  # Jan .. Dec
DIVERGING = [[0, _ui.LOSS], [0.5, "#f7f9fb"], [1, _ui.GAIN]]
HEIGHT = 320
ANNOTATED_MONTHS = 8  # beyond this the decile heatmap's cells are too narrow for a figure


def _signed(value: float, spec: str) -> str:
    """A figure with its sign, the true minus as on Plotly's axes; "" for a missing one."""
    return "" if value != value else format(value, spec).replace("-", MINUS)


def _colour(h: str) -> str:
    return _ui.BOT_COLOURS.get(f"swing_{h}", _ui.INK)


def horizon_ui(horizons: list[str]) -> str:
    picked = st.segmented_control("Horizon", horizons, default=horizons[0], key="eval_h",
                                  help="The horizon the charts below are about.")
    return picked or horizons[0]


def draw_long_short(curves: pd.DataFrame, h: str, cost_bps: float | None) -> None:
    fig = go.Figure()
    fig.add_scatter(x=curves.index, y=curves["gross"], name="gross",
                    line={"color": _ui.MUTED, "dash": "dot", "width": 1.6})
    fig.add_scatter(x=curves.index, y=curves["net"], name="net of fees and slippage",
                    line={"color": _colour(h), "width": 2.2})
    fig.update_yaxes(title="cumulative return (%)", tickformat=".1%")
    fig.update_xaxes(title="decision date")
    _ui.plot(_ui.layout(_ui.break_even(fig), height=HEIGHT,
                        title=f"Decile long-short book of the {h} forecasts, cumulative"))
    cost = f" ({cost_bps:g} bp a unit traded)" if cost_bps is not None else ""
    st.caption("The top decile bought and the bottom decile sold at the next open, held "
               f"{HORIZONS[h]} sessions in overlapping cohorts, compounded session by session; "
               f"net of the {h} bot's fees and slippage{cost}.")


def draw_ic_months(table: pd.DataFrame) -> None:
    values = table.to_numpy()
    heat = go.Figure(go.Heatmap(
        z=values, x=MONTHS, y=[str(y) for y in table.index], zmid=0, colorscale=DIVERGING,
        showscale=False, xgap=2, ygap=2,
        text=[[_signed(v, "+.3f") for v in row] for row in values],
        texttemplate="%{text}", textfont={"size": 10},
        hovertemplate="%{y} %{x}: mean rank IC %{text}<extra></extra>"))
    heat.update_yaxes(autorange="reversed", type="category")
    _ui.plot(_ui.layout(heat, height=_ic_height(table), title="Rank IC by month"))
    st.caption("Mean of the daily rank IC of each month (green: forecasts ranked the names' "
               "next returns right).")


def _ic_height(months: pd.DataFrame) -> int:
    """The monthly heatmap's height, and the yearly bars' beside it: a row a year."""
    return max(HEIGHT, 130 + 36 * len(months))


def draw_ic_years(years: pd.DataFrame, height: int) -> None:
    fig = go.Figure(go.Bar(
        x=years["year"], y=years["mean_rank_ic"], width=0.5, marker_color=_ui.signed_colours(
            years["mean_rank_ic"]), customdata=years["days"],
        text=[_signed(v, "+.3f") for v in years["mean_rank_ic"]], textposition="outside",
        hovertemplate="%{x}: mean rank IC %{y:.4f} over %{customdata} days<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_yaxes(title="mean daily rank IC", tickformat=".3f")
    _ui.plot(_ui.layout(_ui.break_even(fig), height=height, title="Rank IC by year")
             .update_layout(hovermode="closest"))
    st.caption("Mean daily rank IC of each calendar year; a sign that flips between years "
               "is a factor bet, not a forecast.")


def draw_deciles(means: pd.Series, by_month: pd.DataFrame, h: str) -> None:
    left, right = st.columns(2)
    bars = go.Figure(go.Bar(
        x=means.index, y=means * 1e4, marker_color=_ui.signed_colours(means),
        hovertemplate="decile %{x}: %{y:+.1f} bp<extra></extra>"))
    bars.update_xaxes(title="forecast decile (1 = lowest)", dtick=1)
    bars.update_yaxes(title="relative return (bp)")
    with left:
        _ui.plot(_ui.layout(_ui.break_even(bars), height=HEIGHT,
                            title=f"Return by decile over {h}")
                 .update_layout(hovermode="closest"))
        st.caption(f"Mean {h} return (open t+1 to open t+1+h) of each forecast decile, less "
                   "the mean of the ten: the market's move taken out.")
    z = by_month.to_numpy() * 1e4
    annotate = by_month.shape[1] <= ANNOTATED_MONTHS
    heat = go.Figure(go.Heatmap(
        z=z, x=by_month.columns, y=[str(d) for d in by_month.index], zmid=0,
        colorscale=DIVERGING, xgap=1, ygap=1, colorbar={"title": "bp", "thickness": 10},
        text=[[_signed(v, "+.0f") for v in row] for row in z] if annotate else None,
        texttemplate="%{text}" if annotate else None, textfont={"size": 9},
        hovertemplate="%{x|%b %Y}, decile %{y}: %{z:+.1f} bp<extra></extra>"))
    heat.update_yaxes(title="forecast decile", type="category")
    heat.update_xaxes(tickformat="%b %Y")
    with right:
        _ui.plot(_ui.layout(heat, height=HEIGHT, title="Return by decile, month by month")
                 .update_layout(hovermode="closest"))
        st.caption("The same per month (bp): a good forecast is red at the bottom and green "
                   "at the top in most months, not in one.")


def draw_features(ics: pd.Series, model_ic: float | None) -> None:
    fig = go.Figure(go.Bar(
        x=ics.to_numpy(), y=ics.index, orientation="h", marker_color=_ui.signed_colours(ics),
        hovertemplate="%{y}: mean rank IC %{x:.4f}<extra></extra>"))
    if model_ic is not None:
        fig.add_vline(x=model_ic, line={"dash": "dash", "color": _ui.INK, "width": 1},
                      annotation_text=f"model {_signed(model_ic, '+.3f')}",
                      annotation_position="top", annotation_font={"size": 10})
    fig.update_xaxes(title="mean daily rank IC", tickformat=".3f", showgrid=True,
                     gridcolor="#eef1f5", zeroline=True, zerolinecolor="#9ca3af")
    _ui.plot(_ui.layout(fig, height=max(HEIGHT, 90 + 28 * len(ics)),
                        title="Rank IC of each input").update_layout(hovermode="closest"))
    st.caption("Each of the model's ranked inputs judged alone on the same rows and label; "
               "the dashed line is the model's own.")


def draw_autocorrelation(ac: pd.Series, h: str) -> None:
    fig = go.Figure(go.Scatter(x=ac.index, y=ac, name="each session",
                               line={"color": _colour(h), "width": 1.4}))
    mean = float(ac.mean())
    fig.add_scatter(x=[ac.index[0], ac.index[-1]], y=[mean, mean], mode="lines",
                    name=f"mean {mean:.2f}", line={"dash": "dot", "color": _ui.INK, "width": 1})
    fig.update_yaxes(title="rank correlation, lag 1 session", range=[min(0.0, ac.min()), 1.02])
    _ui.plot(_ui.layout(fig, height=HEIGHT, title="Forecast autocorrelation (signal turnover)"))
    st.caption("Rank correlation of each name's forecast with the session before's: near 1, "
               "the ranking (and the book) barely turns over; near 0, it is redrawn daily.")


def draw_horizon(frame: pd.DataFrame, doc: dict[str, Any], h: str) -> None:
    """Every chart of one horizon."""
    if va.series(frame, h, "rank_ic").empty:
        st.caption(f"No {h} day was judged: too few names, or too short a window.")
        return
    report = (doc.get("horizons") or {}).get(h) or {}
    books = (report.get("portfolios") or {}).get("model") or {}
    draw_long_short(va.long_short_curves(frame, h), h, books.get("cost_bps_per_unit_traded"))
    months = va.ic_by_month(frame, h)
    left, right = st.columns([3, 2])
    with left:
        draw_ic_months(months)
    with right:
        draw_ic_years(va.ic_by_year(frame, h), _ic_height(months))
    if va.series(frame, h, "decile").empty:
        st.caption("Deciles need at least 10 names per date.")
    else:
        draw_deciles(va.decile_means(frame, h), va.deciles_by_month(frame, h), h)
    left, right = st.columns(2)
    with left:
        draw_features(va.feature_ics(frame, h),
                      ((report.get("all") or {}).get("model") or {}).get("mean_rank_ic"))
    with right:
        draw_autocorrelation(va.score_autocorrelation(frame, h), h)


def draw_analytics(store: Store, doc: dict[str, Any]) -> None:
    """The signal analytics of report `doc`, or how to get them for an older report."""
    st.subheader("Signal analytics", divider="gray")
    frame = _ui.load(store, "evaluation_analytics", doc["id"])
    if frame is None:
        st.info(f"This report predates the signal analytics. Run `{va.rerun_command(doc)}` "
                "to add them: with the data and the recipe unchanged, its kept predictions "
                "are reused and only the figures are recomputed (`--restart` refits the "
                "models too).", icon=":material/hourglass_empty:")
        return
    horizons = va.horizons_in(frame)
    if not horizons:
        st.caption("The analytics file holds no horizon.")
        return
    draw_horizon(frame, doc, horizon_ui(horizons))
