"""Admin: behind the password gate, settings (secrets masked), run-now jobs, the kill switch.

The gate (streamlit-authenticator, created once per run in app.py) is wrapped in rules of our
own, and fails closed: the re-login cookie reaches the library only once we verified it
(`auth.verify_cookie`), so a crafted one gives the login form, never a traceback; wrong
passwords lock this browser session and, after more, its client address (`auth.sources`),
never the admin in another one, while failures from everywhere only slow the check; the session
ends ADMIN_TOKEN_TTL_S after the password was typed (kept server-side in session state) and
every part behind the gate, the auto-refreshing jobs list too, checks it before drawing; an
invalid setting shows one error box and keeps the gate shut.
"""

from __future__ import annotations

import secrets
import time

import pandas as pd
import streamlit as st

from aion_core.app import auth, run_now, views
from aion_core.config import masked_settings
from aion_core.errors import RefusedError
from pages import _ui

EXPIRES = _ui.ADMIN_EXPIRES
SOURCE = "admin_source"
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


def session_open() -> bool:
    return _ui.admin_open()


def source_keys() -> list[str]:
    """This browser session and the client address Streamlit saw. Not a forwarded-for header:
    the client writes that, so a stranger could name the admin's address and lock it."""
    session = st.session_state.setdefault(SOURCE, secrets.token_hex(16))
    return auth.sources(session, st.context.ip_address)


def refuse_unverified_cookie(authenticator) -> None:
    """Hide a cookie that does not verify from the library's re-login, which would raise on it.

    `logout` is the library's own switch: while set, its get_cookie() returns no cookie.
    """
    model = authenticator.cookie_controller.cookie_model
    raw = st.context.cookies.get(model.cookie_name)
    if raw and auth.verify_cookie(raw, model.cookie_key, auth.ADMIN_USER, time.time()) is None:
        st.session_state["logout"] = True


def login_form(authenticator) -> bool | None:
    """The library's login (form, or re-login from a verified cookie): its status afterwards.

    Whatever it raises closes the gate for this run instead of showing a traceback.
    """
    refuse_unverified_cookie(authenticator)
    st.caption(f"The user name is **{auth.ADMIN_USER}**; the password is the one whose hash "
               "is ADMIN_PASSWORD_HASH (`aion admin hash-password` makes it).")
    try:
        authenticator.login(location="main", key="admin_login",
                            fields={"Form name": "Admin login",
                                    "Username": f"Username ({auth.ADMIN_USER})",
                                    "Password": "Password", "Login": "Log in"})
    except Exception:  # the boundary: fail closed, never a traceback
        st.session_state.update({"authentication_status": None, "logout": True})
        st.error("The login could not be checked; reload the page to try again.",
                 icon=":material/error:")
        return None
    return st.session_state.get("authentication_status")


def gate(authenticator, store, settings) -> bool:
    """True when an admin session is open; otherwise draws the login (or this source's lock)."""
    now = time.time()
    if st.session_state.get("authentication_status"):
        if session_open():
            return True
        end_session(authenticator, "Your admin session expired; log in again.")
    keys = source_keys()
    left = auth.lockout_remaining(store, keys, now)
    if left > 0:
        st.error(f"Too many wrong passwords from this browser or address: login is locked for "
                 f"{int(left) + 1} more seconds (`aion admin unlock` on the host clears it).",
                 icon=":material/lock:")
        return False
    if st.session_state.get("authentication_status") is False:
        st.session_state["authentication_status"] = None  # a new submit decides anew
    time.sleep(auth.global_delay(store, now))  # many failures anywhere: slower, never shut
    status = login_form(authenticator)
    if status is False:
        left_tries = auth.record_failure(store, keys, now)
        st.error("Too many wrong passwords: login is locked for a while." if not left_tries
                 else f"Wrong username or password ({left_tries} tries left before a lockout).",
                 icon=":material/lock:" if not left_tries else ":material/block:")
        return False
    if status:
        auth.reset_failures(store, keys)
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
    cols = st.columns(len(run_now.JOBS) + 2)
    for col, name in zip(cols, run_now.JOBS, strict=False):
        if col.button(f"Run {name}", key=f"run_{name}", icon=":material/play_arrow:"):
            try:
                pid = run_now.start_job(store, name)
                st.success(f"{name} started (pid {pid}).")
            except RefusedError as exc:
                st.warning(f"Refused: {exc}", icon=":material/block:")


def job_line(job: run_now.JobView, now: float) -> tuple[str, str]:
    """The status pill and the note beside it. A run-now in progress (or killed) speaks for
    itself; otherwise the newest run any record knows of, wherever it ran from, so a nightly
    run by the scheduler or a shell is not "never run" here."""
    doc = job.doc
    last = job.last
    if last is not None and last.source == run_now.MARKER:  # started, not finished
        how = "run now" if job.status in ("running", "interrupted") else "started marker"
        return last.status, f"{last.detail} ({how})"
    if job.status in ("running", "interrupted"):
        return job.status, f"started {ago(now - float(doc['started_at']))} ago (run now)"
    if last is None:
        return job.status, "never run"
    took = ""
    if last.source == "run now" and doc.get("finished_at"):
        took = f", took {float(doc['finished_at']) - float(doc['started_at']):.0f} s"
    return last.status, f"last run {ago(now - last.at)} ago ({last.source}{took})"


def ago(seconds: float) -> str:
    """`53 s`, `12 min`, `5 h`, `3 d`: a job's age at a glance."""
    seconds = max(seconds, 0.0)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} s"


def draw_jobs(store) -> None:
    """The auto-refreshing jobs list. A fragment's rerun skips the gate at the top of the page,
    so it checks the session itself: after the TTL it draws nothing and reruns the whole page,
    whose gate ends the session and shows the login form."""
    if not session_open():
        st.rerun(scope="app")
    for name in run_now.JOBS:
        job = run_now.job_view(store, name)
        status, note = job_line(job, time.time())
        ok = True if status == "ok" else None if status in ("running", "idle", "partial") \
            else False
        st.html(f"<b>{name}</b> {_ui.pill(status, ok)} <small>{note}</small>")
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
    problem = st.session_state.get(_ui.SETTINGS_ERROR)
    if problem:
        st.error(f"**Settings**: {problem}. Fix it in `.env` or the environment and reload; "
                 "the admin page stays closed until then.", icon=":material/error:")
        return
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
