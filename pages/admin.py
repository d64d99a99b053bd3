"""Admin: behind the password gate, settings (secrets masked), run-now jobs, the kill switch.

The gate (streamlit-authenticator, created once per run in app.py) is wrapped in two rules of
our own, because its cookie alone is not enough: five wrong passwords lock the login for a few
minutes (counted in a file under the data root, so a refresh does not reset it), and the
session ends ADMIN_TOKEN_TTL_S after the password was typed (kept server-side in session
state). Nothing below the gate is rendered before a successful login.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from aion_core import auth, jobs_runner, views
from aion_core.config import masked_settings
from aion_core.errors import RefusedError
from pages import _ui

EXPIRES = "admin_expires_at"
API_KEYS = {"FRED_API_KEY": "fred_api_key", "ALPACA_API_KEY": "alpaca_api_key",
            "ALPACA_SECRET_KEY": "alpaca_secret_key"}


def _cookie_expiry(authenticator) -> float | None:
    token = authenticator.cookie_controller.get_cookie()
    return float(token["exp_date"]) if isinstance(token, dict) and "exp_date" in token else None


def end_session(authenticator, message: str | None = None) -> None:
    authenticator.logout(location="unrendered")
    st.session_state.pop(EXPIRES, None)
    if message:
        st.warning(message, icon=":material/timer_off:")


def gate(authenticator, store, settings) -> bool:
    """True when an admin session is open; otherwise draws the login (or the lockout)."""
    now = time.time()
    if st.session_state.get("authentication_status"):
        if auth.is_expired(st.session_state.get(EXPIRES), now):
            end_session(authenticator, "Your admin session expired; log in again.")
        else:
            return True
    left = auth.lockout_remaining(store, now)
    if left > 0:
        st.error(f"Too many wrong passwords: login is locked for {int(left) + 1} more "
                 "seconds.", icon=":material/lock:")
        return False
    if st.session_state.get("authentication_status") is False:
        st.session_state["authentication_status"] = None  # a new submit decides anew
    authenticator.login(location="main", key="admin_login",
                        fields={"Form name": "Admin login", "Username": "Username",
                                "Password": "Password", "Login": "Log in"})
    status = st.session_state.get("authentication_status")
    if status is False:
        failures = auth.record_failure(store, now)
        if failures >= auth.MAX_FAILURES:
            st.error("Too many wrong passwords: login is locked for a few minutes.",
                     icon=":material/lock:")
        else:
            st.error(f"Wrong username or password ({auth.MAX_FAILURES - failures} tries left "
                     "before a lockout).", icon=":material/block:")
        return False
    if status:
        auth.reset_failures(store)
        st.session_state[EXPIRES] = auth.session_expires_at(
            now, settings.admin_token_ttl_s, _cookie_expiry(authenticator))
        st.rerun()
    return False


def draw_settings(settings) -> None:
    st.subheader("Settings")
    shown = masked_settings(settings)
    keys = pd.DataFrame([{"key": k, "set": bool(getattr(settings, attr))}
                         for k, attr in API_KEYS.items()])
    a, b = st.columns([3, 2])
    a.dataframe(pd.DataFrame({"setting": list(shown), "value": [str(v) for v in shown.values()]}),
                hide_index=True)
    b.dataframe(keys, hide_index=True, column_config={
        "set": st.column_config.CheckboxColumn("API key set")})


def draw_kill_switch(store) -> None:
    st.subheader("Kill switch")
    doc = {}
    with _ui.guard("Admin settings"):
        doc = _ui.load(store, "doc", "admin_settings") or {}
    on = st.toggle("Halt all bots (no new orders)", value=bool(doc.get("kill_switch")),
                   key="admin_kill")
    if on != bool(doc.get("kill_switch")):
        views.set_kill_switch(store, on)
        st.toast("Kill switch " + ("ON: bots place no order" if on else "off"))


def run_buttons(store) -> None:
    st.subheader("Run now")
    cols = st.columns(len(jobs_runner.JOBS) + 2)
    for col, name in zip(cols, jobs_runner.JOBS, strict=False):
        if col.button(f"Run {name}", key=f"run_{name}", icon=":material/play_arrow:"):
            try:
                pid = jobs_runner.start_job(store, name)
                st.success(f"{name} started (pid {pid}).")
            except RefusedError as exc:
                st.warning(f"Refused: {exc}", icon=":material/block:")


def draw_jobs(store) -> None:
    for name in jobs_runner.JOBS:
        job = jobs_runner.job_view(store, name)
        doc = job.doc
        took = (doc.get("finished_at") or time.time()) - doc["started_at"] \
            if doc.get("started_at") else None
        ok = True if job.status == "ok" else None if job.status in ("running", "idle") else False
        st.html(f"<b>{name}</b> {_ui.pill(job.status, ok)} <small>"
                + (f"{took:.0f} s" if took is not None else "never run") + "</small>")
        if job.log_tail:
            st.code("\n".join(job.log_tail[-12:]), language=None)


def draw_admin(authenticator, store, settings) -> None:
    top = st.columns([5, 1])
    top[0].caption(f"Signed in as admin · session ends "
                   f"{time.strftime('%H:%M:%S', time.localtime(st.session_state[EXPIRES]))}")
    with top[1]:
        if st.button("Logout", key="admin_logout", icon=":material/logout:"):
            authenticator.logout(location="unrendered")
            st.session_state.pop(EXPIRES, None)
            st.rerun()
    draw_settings(settings)
    draw_kill_switch(store)
    run_buttons(store)
    st.fragment(run_every=_ui.refresh_every(settings))(draw_jobs)(store)


def main() -> None:
    settings, store = _ui.context()
    st.title("Admin")
    authenticator = st.session_state.get("aion_auth")
    if authenticator is None:
        st.warning("No admin password is set, so the admin page stays closed.",
                   icon=":material/key_off:")
        st.markdown("Make a hash and put it in `.env` as `ADMIN_PASSWORD_HASH`, then restart:")
        st.code("aion admin hash-password", language="bash")
        return
    if gate(authenticator, store, settings):
        draw_admin(authenticator, store, settings)


_ui.require_frame(__file__)
main()
