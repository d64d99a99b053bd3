"""What every page shares: the data root, cached loading, empty/corrupt states, formats, colours.

Pages stay thin: `*_ui()` reads widgets, `aion_core.views*` computes, `draw_*` renders with the
helpers here. Loading is cached with `st.cache_data` keyed on the mtimes of the files a loader
reads (`views.source_key`), so an auto-refresh re-reads only what a job rewrote.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from aion_core import views
from aion_core.config import Settings, load_settings
from aion_core.errors import AionError, CorruptFileError
from aion_core.store import Store

GAIN, LOSS, INK, MUTED = "#0f9d58", "#d93025", "#1b1f24", "#6b7280"
BOT_COLOURS = {"swing_1w": "#1f6feb", "swing_2w": "#8250df", "swing_4w": "#bf8700",
               "intraday": "#0e7490", "benchmark": "#6b7280"}

_CSS = """
<style>
[data-testid="stMetric"] {background: #f7f9fb; border: 1px solid #e5e9ef; border-radius: 10px;
  padding: 10px 14px;}
[data-testid="stMetricLabel"] p {font-size: 0.8rem; color: #6b7280; text-transform: uppercase;
  letter-spacing: .04em;}
[data-testid="stMetricValue"] {font-size: 1.45rem; font-variant-numeric: tabular-nums;}
.block-container {padding-top: 2.2rem; max-width: 1400px;}
.aion-card {border: 1px solid #e5e9ef; border-radius: 12px; padding: 14px 16px;
  background: #fff;}
.aion-card .big {font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums;}
.aion-card .row {display: grid; grid-template-columns: 1fr 1fr; gap: 6px 12px;
  font-size: .78rem; color: #6b7280; text-transform: uppercase; letter-spacing: .03em;}
.aion-card .row b {display: block; font-size: 1.0rem; color: #1b1f24; text-transform: none;
  font-variant-numeric: tabular-nums;}
.aion-pill {display:inline-block; padding:2px 10px; border-radius:999px; font-size:.8rem;
  font-weight:600; color:white;}
</style>
"""


def context() -> tuple[Settings, Store]:
    """Settings (from `.env` and the environment) and the data root they name."""
    settings = load_settings()
    return settings, Store(settings.aion_data_dir)


def style() -> None:
    st.html(_CSS)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, root: str, key: tuple, *args: Any) -> Any:
    del key  # only part of the cache key: the files' mtimes
    return views.load(Store(root), name, *args)


def load(store: Store, name: str, *args: Any) -> Any:
    """`views.load(store, name, *args)`, cached until one of the files it reads changes."""
    return _cached(name, str(store.root), views.source_key(store, name, *args), *args)


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Show a corrupt or unusable file as an error box; the rest of the page still renders."""
    try:
        yield
    except CorruptFileError as exc:
        st.error(f"**{what}**: cannot read `{exc.path}` ({exc.reason}). Restore or delete "
                 "the file; the job that writes it will recreate it.", icon=":material/error:")
    except AionError as exc:
        st.error(f"**{what}**: {exc}", icon=":material/error:")


def empty(what: str, fill: str) -> None:
    """The empty state: what is missing and the command that fills it."""
    st.info(f"{what} yet. Run `{views.FILL.get(fill, fill)}` to fill it.",
            icon=":material/hourglass_empty:")


def refresh_every(settings: Settings) -> str:
    return f"{settings.aion_refresh_s}s"


# --------------------------------------------------------------------------- formats


def money(x: float | None, signed: bool = False) -> str:
    """Compact USD: $1.23M, $45.6k, $789.00 (sign kept when `signed`)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    sign = ("+" if x > 0 else "-" if x < 0 else "") if signed else ("-" if x < 0 else "")
    a = abs(x)
    body = f"{a / 1e9:.2f}B" if a >= 1e9 else f"{a / 1e6:.2f}M" if a >= 1e6 \
        else f"{a / 1e3:.1f}k" if a >= 1e4 else f"{a:,.2f}"
    return f"{sign}${body}"


def pct(x: float | None, signed: bool = True, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x * 100:+.{digits}f}%" if signed else f"{x * 100:.{digits}f}%"


def pill(text: str, ok: bool | None) -> str:
    colour = GAIN if ok else LOSS if ok is False else MUTED
    return f'<span class="aion-pill" style="background:{colour}">{text}</span>'


def status_ok(status: str | None) -> bool | None:
    if not status:
        return None
    s = status.lower()
    return True if s.startswith("ok") else False if s.startswith(("fail", "halt", "error")) \
        else None


# --------------------------------------------------------------------------- charts


def layout(fig: go.Figure, height: int = 320, title: str = "", **kw: Any) -> go.Figure:
    """The house look for every Plotly chart: light grid, compact margins, the title on its
    own line and the legend under it."""
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 64 if title else 30, "b": 10},
                      template="plotly_white", font={"size": 12, "color": INK},
                      title={"text": title, "x": 0, "xanchor": "left", "y": 0.985,
                             "yanchor": "top", "font": {"size": 15}},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
                      hovermode="x unified", **kw)
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor="#eef1f5", zeroline=True, zerolinecolor="#d0d7de")
    return fig


def plot(fig: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displayModeBar": False})


def signed(x: float | None) -> str:
    """The colour of a gain or a loss."""
    return MUTED if x is None or x == 0 else GAIN if x > 0 else LOSS


def signed_colours(values: Any) -> list[str]:
    return [GAIN if v >= 0 else LOSS for v in values]
