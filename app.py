"""Aion Analytics: the Streamlit frame. `streamlit run app.py`.

Lists every page for `st.navigation` (pages/ is not auto-discovered once it is called), draws
the shared sidebar (data root, last nightly run, scheduler heartbeat) in its own auto-refreshing
fragment, and creates the admin authenticator once per run, as streamlit-authenticator needs.
"""

from __future__ import annotations

import html
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # AppTest runs the script without adding its folder
    sys.path.insert(0, str(HERE))

from aion_core.app import views  # noqa: E402
from aion_core.bots.registry import NIGHTLY_JOB  # noqa: E402
from pages import _ui  # noqa: E402

HEARTBEAT_STALE_S = 180
PAGES = [
    st.Page("pages/dashboard.py", title="Dashboard", icon=":material/monitoring:", default=True),
    st.Page("pages/bots.py", title="Bots", icon=":material/smart_toy:"),
    st.Page("pages/predictions.py", title="Predictions", icon=":material/insights:"),
    st.Page("pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("pages/research.py", title="Research", icon=":material/science:"),
    st.Page("pages/config.py", title="Config", icon=":material/tune:"),
    st.Page("pages/logs.py", title="Logs", icon=":material/receipt_long:"),
    st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"),
]


@st.cache_resource
def _process_cookie_key() -> str:
    """A cookie key for this server process when none is configured (never shown)."""
    return secrets.token_hex(32)


def make_authenticator(settings):
    """The one streamlit-authenticator of this run, or None while no admin hash is set."""
    if not settings.admin_password_hash:
        return None
    import streamlit_authenticator as stauth

    creds = {"usernames": {"admin": {"name": "Administrator", "email": "admin@localhost",
                                     "password": settings.admin_password_hash}}}
    key = settings.admin_cookie_key if len(settings.admin_cookie_key) >= 32 \
        else _process_cookie_key()
    return stauth.Authenticate(creds, cookie_name="aion_admin", cookie_key=key,
                               cookie_expiry_days=settings.admin_token_ttl_s / 86400,
                               auto_hash=False, login_sleep_time=0)


def _ago(iso: str | None) -> tuple[str, float | None]:
    if not iso:
        return "never", None
    try:
        at = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso), None
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    secs = (datetime.now(UTC) - at).total_seconds()
    text = f"{int(secs)} s ago" if secs < 120 else f"{int(secs // 60)} min ago" if secs < 7200 \
        else at.strftime("%Y-%m-%d %H:%M UTC")
    return text, secs


def draw_sidebar_status(store) -> None:
    with _ui.guard("Data source"):
        sources = _ui.load(store, "bars_sources") or []
        st.caption(f"Data root `{store.root}` · bars from {', '.join(sources) or 'nowhere yet'}")
    with _ui.guard("Last nightly"):
        summary = _ui.load(store, "doc", "nightly_summary")
        run = None
        with _ui.guard("Nightly run marker"):
            run = views.run_state(_ui.load(store, "run_marker", NIGHTLY_JOB), summary)
        if run is not None:  # started and not finished: running, or died during a step
            st.html(f"Nightly {_ui.pill(run.headline, _ui.status_ok(run.status))} "
                    f"<small>{html.escape(run.when)}</small>")
            if summary is not None:
                st.caption(f"Last finished run: {summary.get('status', '?')}, as of "
                           f"{summary.get('as_of', '?')}")
        elif summary is None:
            st.caption("Nightly: not run yet (`aion nightly`)")
        else:
            when, _ = _ago(summary.get("finished_at") or summary.get("started_at"))
            status = summary.get("status", "?")
            st.html(f"Nightly {_ui.pill(status, _ui.status_ok(status))} "
                    f"<small>as of {summary.get('as_of', '?')} · {when}</small>")
    with _ui.guard("Scheduler heartbeat"):
        beat = _ui.load(store, "doc", "scheduler_heartbeat")
        if beat is None:
            st.caption("Scheduler: no heartbeat (`aion scheduler`)")
        else:
            when, secs = _ago(beat.get("at"))
            alive = beat.get("status") == "running" and secs is not None \
                and secs < HEARTBEAT_STALE_S
            st.html(f"Scheduler {_ui.pill('alive' if alive else 'down', alive)} "
                    f"<small>{when}</small>")
            for name, job in (beat.get("jobs") or {}).items():
                last = (job or {}).get("last_result") or {}
                nxt = (job or {}).get("next_run") or "—"
                st.caption(f"**{name}**: next {str(nxt)[:16]} · last {last.get('status', '—')}")
    if notice := _ui.cache_notice():
        st.caption(f":material/cloud_off: {notice}")


def draw_data_badge(store) -> None:
    """Above every page while the bars are the synthetic market: its numbers are not a
    market's, however real they look."""
    with _ui.guard("Data source"):
        if "synthetic" in (_ui.load(store, "bars_sources") or []):
            st.warning("**Synthetic data.** These bars come from Aion's generated market "
                       "(`aion demo-data`), not a real one. Bring your own with "
                       "`aion import bars FILE --data-dir NEW_ROOT` (docs/DATA.md).",
                       icon=":material/science:")


def main() -> None:
    st.set_page_config(page_title="Aion Analytics", page_icon=":material/monitoring:",
                       layout="wide")
    _ui.style()
    settings, store = _ui.context()
    page = st.navigation(PAGES)
    goto = st.session_state.pop(_ui.GOTO, None)
    if goto:  # a page that was first served outside this frame (see _ui.require_frame)
        st.switch_page(goto)
    with st.sidebar:
        st.markdown("### Aion Analytics")
        st.fragment(run_every=_ui.refresh_every(settings))(draw_sidebar_status)(store)
        # Its cookie component draws where it is created: keep it out of the pages' way.
        st.session_state["aion_auth"] = make_authenticator(settings)
    st.session_state[_ui.FRAMED] = True
    draw_data_badge(store)
    page.run()


main()
