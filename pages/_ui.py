"""What every page shares: the data root, cached loading, empty/corrupt states, formats, colours.

Pages stay thin: `*_ui()` reads widgets, `aion_core.app.views*` computes, `draw_*` renders with the
helpers here. Loading is cached with `st.cache_data` keyed on the mtimes of the files a loader
reads (`views.source_key`), so an auto-refresh re-reads only what a job rewrote; with
`AION_REDIS_URL` set, a miss there asks Redis, shared by every app process (aion_core.app.cache),
before reading the files.
"""

from __future__ import annotations

import contextlib
import html
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
from pydantic import ValidationError

from aion_core.app import auth, calc, views
from aion_core.app.cache import SharedCache, cached_load
from aion_core.app.views import Knob, Store
from aion_core.bots.registry import BOTS, Bot
from aion_core.config import Settings, load_settings
from aion_core.errors import AionError, ConfigurationError, CorruptFileError

#: The house template as the process's default rather than per figure: Plotly validates and
#: deep-copies a template passed to a figure, about 15 ms each, and a page draws eight.
pio.templates.default = "plotly_white"

GAIN, LOSS, INK, MUTED = "#0f9d58", "#d93025", "#1b1f24", "#6b7280"
WARN = "#b45309"  # amber: needs a look, not a failure
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
.aion-head {display: flex; align-items: center; gap: 8px; font-size: 1.05rem;}
.aion-card .row {display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 6px 12px;
  font-size: .78rem; color: #6b7280; text-transform: uppercase; letter-spacing: .03em;}
.aion-stats {padding: 8px 10px; background: #f7f9fb;}
.aion-stats .row {font-size: .68rem; gap: 6px 8px;}
.aion-stats .row b {font-size: .95rem;}
.aion-card .row div {white-space: nowrap; overflow: hidden; text-overflow: ellipsis;}
.aion-card .row b {display: block; font-size: 1.0rem; color: #1b1f24; text-transform: none;
  font-variant-numeric: tabular-nums;}
.aion-pill {display:inline-block; padding:2px 10px; border-radius:999px; font-size:.8rem;
  font-weight:600; color:white;}
</style>
"""


FRAMED = "_aion_framed"
GOTO = "_aion_goto"


def require_frame(page_file: str) -> None:
    """Hand a session's first page run, when it did not come through app.py, over to app.py,
    which routes back to the page inside its frame.

    Until some run of a fresh server has called st.navigation, Streamlit serves a sub-page
    URL (say /admin) through its older pages/ folder discovery, which runs the page file alone:
    no shared sidebar, no admin authenticator, raw file names in the navigation. The first
    st.navigation call turns that discovery off for the whole process, so one trip through
    app.py per session is enough (and AppTest, which rediscovers pages on every run, keeps
    working on later runs).
    """
    if not st.session_state.get(FRAMED):
        st.session_state[GOTO] = f"pages/{Path(page_file).name}"
        st.switch_page("app.py")


SETTINGS_ERROR = "_aion_settings_error"


def context() -> tuple[Settings, Store]:
    """Settings (from `.env` and the environment) and the data root they name.

    An invalid setting must not take every page down: its fields fall back to their defaults
    and the error is kept in session state for the admin page, which shows it once and stays
    closed (the fallback is no setting an admin chose).
    """
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        st.session_state[SETTINGS_ERROR] = str(exc)
        bad = exc.__cause__.errors() if isinstance(exc.__cause__, ValidationError) else []
        names = {str(e["loc"][0]) for e in bad if e["loc"]} & set(Settings.model_fields)
        settings = Settings(**{n: Settings.model_fields[n].get_default() for n in names})
    else:
        st.session_state.pop(SETTINGS_ERROR, None)
    st.session_state[REDIS_URL] = settings.aion_redis_url
    return settings, Store(settings.aion_data_dir)


def style() -> None:
    st.html(_CSS)


REDIS_URL = "_aion_redis_url"


@st.cache_resource(show_spinner=False)
def _shared_cache(url: str) -> SharedCache:
    """One Redis client per process and URL: its back-off state is the process's."""
    return SharedCache(url)


@st.cache_data(show_spinner=False, max_entries=256)
def _cached(name: str, root: str, key: tuple, url: str, *args: Any) -> Any:
    del key  # only part of the cache key: the files' mtimes
    if url:
        return cached_load(_shared_cache(url), Store(root), name, *args)
    return views.load(Store(root), name, *args)


def load(store: Store, name: str, *args: Any) -> Any:
    """`views.load(store, name, *args)`, cached until one of the files it reads changes."""
    url = st.session_state.get(REDIS_URL, "")
    return _cached(name, str(store.root), views.source_key(store, name, *args), url, *args)


def cache_notice() -> str | None:
    """Why the shared cache is not in use right now (Redis unreachable), for the sidebar."""
    url = st.session_state.get(REDIS_URL, "")
    return _shared_cache(url).notice if url else None


@contextlib.contextmanager
def guard(what: str) -> Iterator[None]:
    """Show a corrupt or unusable file as an error box; the rest of the page still renders.
    The box's label is `what` and the name of the file the error came from (the error's
    `path`: CorruptFileError, a KnobError from bots_config.json or an env file), unless `what`
    names it already, so one guard around several files labels each error rightly."""
    try:
        yield
    except CorruptFileError as exc:
        st.error(f"**{calc.error_label(what, exc)}**: cannot read `{exc.path}` ({exc.reason}). "
                 "Restore or delete the file; the job that writes it will recreate it.",
                 icon=":material/error:")
    except AionError as exc:
        st.error(f"**{calc.error_label(what, exc)}**: {exc}", icon=":material/error:")


#: Set by the Admin page when the password was typed: when this session's admin rights end.
ADMIN_EXPIRES = "admin_expires_at"


def admin_open() -> bool:
    """An admin is logged in in this browser session (on the Admin page) and the session has
    not expired: what every admin-only control, on any page, asks before it is drawn."""
    return auth.session_open(st.session_state.get("authentication_status"),
                             st.session_state.get(ADMIN_EXPIRES), time.time())


def access(settings: Settings) -> auth.Access:
    """What this browser session may change (auth.Access): every write of the live knobs
    passes it to views, which refuses without an admin session when a password is set."""
    return auth.access(settings.admin_password_hash, st.session_state.get(
        "authentication_status"), st.session_state.get(ADMIN_EXPIRES), time.time())


def empty(what: str, fill: str) -> None:
    """The empty state: what is missing and the command that fills it."""
    st.info(f"{what} yet. Run `{views.FILL.get(fill, fill)}` to fill it.",
            icon=":material/hourglass_empty:")


def pick_bot(key: str) -> Bot:
    """The bot picker every page shares: the registry's bots by label, swing_1w first."""
    picked = st.segmented_control("Bot", list(BOTS), default="1w", key=key,
                                  format_func=lambda k: BOTS[k].label)
    return BOTS[picked or "1w"]


def knob_key(bot: Bot, knob: str, prefix: str = "knob") -> str:
    """The session-state key of one knob's widget (`prefix` keeps two pages' widgets apart)."""
    return f"{prefix}_{bot.key}_{knob}"


def knob_widget(knob: Knob, value: Any, key: str, disabled: bool = False) -> Any:
    """One knob's widget, its bounds, step and help from the schema."""
    label = knob.name.replace("_", " ").capitalize()
    if knob.type is bool:
        return st.toggle(label, value=bool(value), help=knob.help, key=key, disabled=disabled)
    lo, hi = knob.min, knob.max
    if knob.type is int:
        shown = min(max(int(value), int(lo)), int(hi))
        return st.slider(label, int(lo), int(hi), shown, int(knob.step or 1), help=knob.help,
                         key=key, disabled=disabled)
    shown = min(max(float(value), float(lo)), float(hi))
    step = float(knob.step or 0.01)
    fmt = "%.0f" if step >= 1 else "%.3f" if step < 0.01 else "%.2f"
    return st.slider(label, float(lo), float(hi), shown, step, format=fmt, help=knob.help,
                     key=key, disabled=disabled)


def knobs_ui(bot: Bot, config: dict | None, prefix: str = "knob", env: dict | None = None,
             sources: bool = False, disabled: bool = False) -> dict[str, Any]:
    """The knob widgets of one bot in two columns, set to the knobs in force under `config`
    (bots_config.json) over `env` (knobs.env / dt_knobs.env, views loader "knob_env");
    returns their current values. The Config page and the Research page's backtest form both
    draw them; `sources` adds under each the layer its stored value comes from; `disabled`
    draws them read-only (the Config page for a visitor when an admin password is set)."""
    table = calc.knob_table(config, bot, env).set_index("knob")
    values = {}
    cols = st.columns(2)
    for i, knob in enumerate(bot.schema()):
        with cols[i % 2]:
            values[knob.name] = knob_widget(knob, table.loc[knob.name, "value"],
                                            knob_key(bot, knob.name, prefix), disabled)
            if sources:
                st.caption(f"from {table.loc[knob.name, 'source']}")
    return values


def refresh_every(settings: Settings) -> str:
    return f"{settings.aion_refresh_s}s"


# --------------------------------------------------------------------------- formats

MONEY_AXIS = calc.MONEY_AXIS
MINUS = calc.MINUS


money, pct = calc.fmt_money, calc.fmt_pct


def delta(x: float | None) -> str | None:
    """A signed percentage for `st.metric(delta=...)`. Streamlit picks the arrow and its colour
    from a leading ASCII "-", so here (only) the true minus would show a loss as a green gain."""
    return None if x is None else pct(x).replace(calc.MINUS, "-")


def pill(text: str, ok: bool | None, title: str | None = None, colour: str | None = None) -> str:
    colour = colour or (GAIN if ok else LOSS if ok is False else MUTED)
    tip = f' title="{html.escape(title, quote=True)}"' if title else ""
    return (f'<span class="aion-pill" style="background:{colour}"{tip}>'
            f"{html.escape(text)}</span>")


def bot_pill(status: str, warning: str | None = None, title: str | None = None) -> str:
    """A bot's badge: its status up to the first colon, coloured by `status_ok`; an idle
    warning (calc.BotCard.warning) takes its place in amber."""
    if warning:
        return pill(warning.split(":", 1)[0], None, title or warning, colour=WARN)
    return pill(status.split(":", 1)[0], status_ok(status), title)


def status_ok(status: str | None) -> bool | None:
    if not status:
        return None
    s = status.lower()
    return True if s.startswith("ok") else False \
        if s.startswith(("fail", "halt", "error", "died", "interrupted")) else None


# --------------------------------------------------------------------------- charts


def layout(fig: go.Figure, height: int = 320, title: str = "", **kw: Any) -> go.Figure:
    """The house look for every Plotly chart: light grid, compact margins, the title on its
    own line and the legend under it."""
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 64 if title else 30, "b": 10},
                      font={"size": 12, "color": INK},
                      title={"text": title, "x": 0, "xanchor": "left", "y": 0.985,
                             "yanchor": "top", "font": {"size": 15}},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
                      hovermode="x unified", **kw)
    fig.update_xaxes(showgrid=False)
    fig.update_yaxes(gridcolor="#eef1f5", zeroline=True, zerolinecolor="#d0d7de")
    return fig


def break_even(fig: go.Figure) -> go.Figure:
    """A labelled dotted line at zero in place of Plotly's bare zero line, which reads as a
    series missing from the legend."""
    fig.update_yaxes(zeroline=False)
    fig.add_hline(y=0, line={"dash": "dot", "color": "#9ca3af", "width": 1},
                  annotation_text="break-even", annotation_position="bottom right",
                  annotation_font={"size": 10, "color": MUTED})
    return fig


def plot(fig: go.Figure, key: str | None = None) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displayModeBar": False})


def prediction_columns() -> dict[str, Any]:
    """One look for every predictions table (calc.PRED_COLUMNS)."""
    return {
        "symbol": "Symbol", "horizon": "Horizon", "rank": "Rank",
        "expected_return": st.column_config.NumberColumn("Exp. return", format="percent"),
        "confidence": st.column_config.ProgressColumn("Confidence", min_value=0, max_value=1,
                                                      format="percent"),
        "score": st.column_config.NumberColumn("Score", format="%.2f"),
        "last_close": st.column_config.NumberColumn("Last close", format="dollar")}


def signed(x: float | None) -> str:
    """The colour of a gain or a loss."""
    return MUTED if x is None or x == 0 else GAIN if x > 0 else LOSS


def signed_colours(values: Any) -> list[str]:
    return [GAIN if v >= 0 else LOSS for v in values]
