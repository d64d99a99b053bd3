"""Models: how the live models were validated, how their forecasts turned out since, what
drives them, whether their inputs drifted, and why one forecast is what it is."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from aion_core.app import models_view  # also registers this page's loaders
from aion_core.app.calc import predictions_table, validation_row
from aion_core.app.views import FILL
from aion_core.bots.registry import SWING_JOB
from aion_core.config import HORIZONS
from pages import _ui

HORIZON_COLOURS = {"1w": "#1f6feb", "2w": "#8250df", "4w": "#bf8700"}
TOP_FEATURES = 10
NIGHTLY = "aion nightly"
REPLAY = FILL[SWING_JOB]


def plot_closest(fig: go.Figure, height: int, title: str) -> None:
    """A chart whose hover shows the point under the pointer: its x is no time axis."""
    _ui.plot(_ui.layout(fig, height=height, title=title).update_layout(hovermode="closest"))


def horizon_ui() -> str:
    picked = st.segmented_control("Horizon", list(HORIZONS), default="1w", key="models_h",
                                  help="The model the per-horizon charts below are about.")
    return picked or "1w"


# --------------------------------------------------------------------------- validation


def draw_universe(upper_bound: bool, line: str) -> None:
    """Which names the models' cross-sections held: a warning while they are upper bounds."""
    if upper_bound:
        st.warning(f"{line} Import the index's membership: `aion import universe FILE`.",
                   icon=":material/warning:")
    else:
        st.caption(line)


def draw_validation(meta: dict[str, dict]) -> None:
    rows = pd.DataFrame([{"horizon": h, **validation_row(m)} for h, m in meta.items()])
    st.dataframe(rows, hide_index=True, column_config={
        "horizon": "Horizon", "trained_through": "Trained through",
        "rounds": st.column_config.NumberColumn(
            "Rounds", format="%d", help="Boosting rounds of the final model"),
        "ic": st.column_config.NumberColumn("IC", format="%.3f"),
        "rank_ic": st.column_config.NumberColumn("Rank IC", format="%.3f"),
        "hit_rate": st.column_config.NumberColumn("Hit rate", format="percent"),
        "decile_spread": st.column_config.NumberColumn("Decile spread", format="percent"),
        "folds": st.column_config.NumberColumn("Folds", help="Walk-forward folds averaged")})


# --------------------------------------------------------------------------- track record


def draw_ic(ic: pd.DataFrame, h: str) -> None:
    part = ic[ic["horizon"] == h]
    if part.empty:
        st.caption(f"No {h} forecast has been judged yet: each waits {HORIZONS[h]} sessions "
                   "for its outcome.")
        return
    colour = HORIZON_COLOURS[h]
    fig = go.Figure()
    fig.add_scatter(x=part["date"], y=part["high"], line={"width": 0}, showlegend=False,
                    hoverinfo="skip")
    fig.add_scatter(x=part["date"], y=part["low"], line={"width": 0}, fill="tonexty",
                    fillcolor="rgba(31,111,235,0.12)", name="95% band (Newey-West)")
    fig.add_bar(x=part["date"], y=part["rank_ic"], name="rank IC of the day",
                marker_color=_ui.signed_colours(part["rank_ic"]), opacity=0.5)
    fig.add_scatter(x=part["date"], y=part["rolling"], name="rolling mean",
                    line={"color": colour, "width": 2.2})
    fig.update_yaxes(tickformat=".2f")
    _ui.plot(_ui.layout(_ui.break_even(fig), height=320,
                        title=f"Realised rank IC of the {h} forecasts, by prediction date"))


def draw_decay(decay: pd.DataFrame) -> None:
    shown = decay.dropna(subset=["mean_rank_ic"])
    fig = go.Figure(go.Bar(
        x=shown["horizon"], y=shown["mean_rank_ic"], name="tradeable",
        error_y={"type": "data", "array": 1.96 * shown["se"].fillna(0)},
        marker_color=[HORIZON_COLOURS[h] for h in shown["horizon"]],
        customdata=shown[["days", "t"]], hovertemplate="mean rank IC %{y:.3f}<br>"
        "%{customdata[0]} dates, t %{customdata[1]:.2f}<extra></extra>"))
    if "mean_rank_ic_close" in shown:
        fig.add_bar(x=shown["horizon"], y=shown["mean_rank_ic_close"], name="close-to-close",
                    marker_color="#b8c2cc",
                    hovertemplate="close-to-close %{y:.3f}<extra></extra>")
    fig.update_yaxes(tickformat=".3f")
    plot_closest(_ui.break_even(fig), 300, "Mean rank IC by horizon: tradeable (next open to "
                 "the open h sessions later, where the bots fill), close-to-close beside it")


def draw_deciles(deciles: pd.DataFrame) -> None:
    fig = go.Figure()
    for h, part in deciles.groupby("horizon", sort=False):
        fig.add_bar(x=part["decile"], y=part["mean_return"], name=str(h),
                    marker_color=HORIZON_COLOURS.get(str(h)))
    fig.update_xaxes(title="prediction decile (1 = lowest)", dtick=1)
    fig.update_yaxes(tickformat=".2%")
    _ui.plot(_ui.layout(_ui.break_even(fig), height=300, barmode="group",
                        title="Realised return by prediction decile"))


def draw_reliability(rel: pd.DataFrame) -> None:
    fig = go.Figure()
    fig.add_scatter(x=[0.45, 1], y=[0.45, 1], mode="lines", name="perfectly calibrated",
                    line={"dash": "dot", "color": _ui.MUTED})
    for h, part in rel.groupby("horizon", sort=False):
        fig.add_scatter(x=part["mean_confidence"], y=part["hit_rate"], name=str(h),
                        mode="markers", customdata=part["rows"],
                        hovertemplate="confidence %{x:.1%}: %{y:.1%} right of %{customdata}",
                        marker={"size": 6 + 14 * part["rows"] / max(part["rows"].max(), 1),
                                "color": HORIZON_COLOURS.get(str(h)), "opacity": 0.8})
    fig.update_xaxes(title="confidence (dot size: forecasts)",
                     tickformat=".0%")
    fig.update_yaxes(title="on the predicted side of the median", tickformat=".0%",
                     range=[-0.02, 1.02])
    plot_closest(fig, 300, "Reliability of confidence")


def draw_track_record(record: models_view.TrackRecord | None, h: str) -> None:
    if record is None:
        st.info(f"No prediction history yet. Run `{NIGHTLY}` to start one, or `{REPLAY}` to "
                "record past sessions' forecasts at once.", icon=":material/hourglass_empty:")
        return
    a, b = st.columns(2)
    a.metric("Predictions recorded", f"{record.predictions:,}")
    b.metric("Judged (horizon passed)", f"{record.realised:,}")
    if record.realised == 0:
        first = next(iter(HORIZONS))
        st.info(f"No forecast's horizon has passed yet: the {first} forecasts are judged "
                f"{HORIZONS[first]} sessions after they were made; `{REPLAY}` records past "
                "sessions' forecasts at once.", icon=":material/hourglass_empty:")
        return
    draw_ic(record.ic, h)
    left, mid, right = st.columns(3)
    with left:
        draw_decay(record.decay)
    with mid:
        if record.deciles.empty:
            st.caption("Deciles need at least 10 names per date.")
        else:
            draw_deciles(record.deciles)
    with right:
        draw_reliability(record.reliability)


# --------------------------------------------------------------------------- importance, drift


def draw_importance(runs: pd.DataFrame, h: str) -> None:
    part = runs[runs["horizon"] == h]
    if part.empty:
        _ui.empty(f"No {h} model", NIGHTLY)
        return
    latest = part[part["as_of"] == part["as_of"].max()].head(TOP_FEATURES)
    unit = "gain: total loss reduction of the splits on the feature"
    if part["as_of"].nunique() < 2:
        fig = go.Figure(go.Bar(x=latest["gain"][::-1], y=latest["feature"][::-1],
                               orientation="h", marker_color=HORIZON_COLOURS[h]))
        fig.update_xaxes(title=unit)
        title = f"Top features of the {h} model ({part['as_of'].max():%Y-%m-%d})"
        _ui.plot(_ui.layout(fig, height=28 * len(latest) + 90, title=title))
        st.caption("One nightly run so far: each later run adds a point per feature.")
        return
    fig = go.Figure()
    for feature in latest["feature"]:
        f = part[part["feature"] == feature]
        fig.add_scatter(x=f["as_of"].dt.strftime("%Y-%m-%d"), y=f["share"], name=feature,
                        mode="lines+markers", customdata=f["gain"],
                        hovertemplate="%{y:.1%} (gain %{customdata:.4g})")
    fig.update_xaxes(type="category", title="nightly run (as of)")  # one step per run
    fig.update_yaxes(tickformat=".0%", title="share of the run's total gain")
    _ui.plot(_ui.layout(fig, height=360, title=f"Feature importance across nightly runs ({h}, "
                        f"top {len(latest)} of the latest)"))
    st.caption(f"Importance unit: {unit}; shown as each feature's share of its run's total.")


def draw_drift(drift: models_view.Drift | None, h: str) -> None:
    if drift is None:
        _ui.empty(f"No training dataset or {h} model", NIGHTLY)
        return
    t = drift.table
    fig = go.Figure(go.Bar(x=t["feature"], y=t["psi"],
                           marker_color=[_ui.LOSS if f else _ui.MUTED for f in t["flagged"]]))
    flag = models_view.PSI_FLAG
    fig.add_hline(y=flag, line={"dash": "dot", "color": _ui.LOSS},
                  annotation_text=f"drift flag {flag}", annotation_position="top right")
    plot_closest(fig, 320, f"Feature drift of the {h} model (PSI)")
    ref = "no training rows before it" if drift.reference is None else \
        f"training rows {drift.reference[0]:%Y-%m-%d} to {drift.reference[1]:%Y-%m-%d}"
    daily = t[t["test"] == "range"]
    ranged = ("; once-a-day series (no PSI: 20 values of one series cannot pass it) are "
              "flagged when most recent days lie outside their training range: "
              + ", ".join(f"{r.feature} {r.outside_range:.0%}" for r in daily.itertuples())
              if len(daily) else "")
    st.caption(f"Last sessions {drift.recent[0]:%Y-%m-%d} to {drift.recent[1]:%Y-%m-%d} "
               f"against {ref}; {int(t['flagged'].sum())} of {len(t)} features flagged"
               f"{ranged}. Missing values are left out and shown below.")
    with st.expander("Drift table"):
        st.dataframe(t, hide_index=True, column_config={
            "test": "Test",
            "psi": st.column_config.NumberColumn("PSI", format="%.3f"),
            "outside_range": st.column_config.NumberColumn("Outside training range",
                                                           format="percent"),
            "flagged": "Drifted",
            "missing_reference": st.column_config.NumberColumn("Missing (training)",
                                                               format="percent"),
            "missing_recent": st.column_config.NumberColumn("Missing (recent)",
                                                            format="percent")})


# --------------------------------------------------------------------------- explanation


def symbol_ui(brain: dict | None, h: str) -> str | None:
    table = predictions_table(brain)
    ranked = table[table["horizon"] == h].sort_values("rank")["symbol"].tolist()
    return st.selectbox("Symbol", ranked, key="models_symbol",
                        help="Ordered by the forecast's rank, best first") if ranked else None


def draw_explanation(exp: models_view.Explanation | None, symbol: str, h: str) -> None:
    if exp is None:
        _ui.empty(f"No {h} model, dataset or row for {symbol}", NIGHTLY)
        return
    top = exp.table.head(TOP_FEATURES)
    rest = float(exp.table["contribution"].iloc[TOP_FEATURES:].sum())
    labels = ["base + drift", *[f"{f} = {v:.3g}" for f, v in zip(top["feature"], top["value"],
                                                                   strict=True)],
              "other features", "model forecast"]
    values = [exp.base + exp.drift, *top["contribution"], rest, exp.model_return]
    fig = go.Figure(go.Waterfall(
        x=values, y=labels, orientation="h", measure=["absolute", *["relative"] * (len(top) + 1),
                                                      "total"],
        increasing={"marker": {"color": _ui.GAIN}}, decreasing={"marker": {"color": _ui.LOSS}},
        totals={"marker": {"color": HORIZON_COLOURS[h]}}))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickformat=".2%")
    title = f"Why {symbol}'s {h} forecast of {exp.date:%Y-%m-%d} is {_ui.pct(exp.model_return)}"
    plot_closest(fig, 34 * len(labels) + 90, title)
    st.caption("Each bar is a feature's contribution (LightGBM's pred_contrib, a SHAP value) to "
               f"the {h} model's own forecast. The published forecast blends it with the "
               "shorter horizons' models, so it can differ.")


def main() -> None:
    _, store = _ui.context()
    st.title("Models")
    st.caption("The LightGBM forecasts the nightly publishes: their validation, how they "
               "turned out, what drives them, and whether their inputs drifted.")
    with _ui.guard("Model metadata"):
        meta = _ui.load(store, "model_meta")
        if meta:
            draw_universe(*models_view.models_universe(meta))
            draw_validation(meta)
        else:
            _ui.empty("No trained model", NIGHTLY)
    h = horizon_ui()
    st.subheader("Track record")
    with _ui.guard("Prediction history"):
        draw_track_record(_ui.load(store, "track_record"), h)
    st.subheader("Feature importance")
    with _ui.guard("Model runs"):
        draw_importance(_ui.load(store, "model_runs"), h)
    st.subheader("Feature drift")
    with _ui.guard("Training dataset"):
        draw_drift(_ui.load(store, "drift", h), h)
    st.subheader("Why this forecast")
    with _ui.guard("Model explanation"):
        symbol = symbol_ui(_ui.load(store, "brain"), h)
        if symbol is None:
            _ui.empty("No predictions", NIGHTLY)
        else:
            draw_explanation(_ui.load(store, "explanation", symbol, h), symbol, h)


_ui.require_frame(__file__)
main()
