"""Logs: every job's log (a nightly run's, and the logs/jobs/ file of the bots, intraday,
replay, evaluate and the scheduler; last 1,000 lines, errors and warnings highlighted), the
last nightly summary's steps with a link from a failed one to its traceback, and the reports of
`aion import` (what each refused, repaired or flagged).

`?log=`, `?day=YYYY-MM-DD` and `?step=` only choose among what the data root lists: a day is
parsed strictly and must have a log, a log must be one the page found, and `store.path`
formats and re-checks both, so no path can be smuggled through the address.
"""

from __future__ import annotations

import html
import re
from datetime import date
from urllib.parse import urlencode

import streamlit as st

from aion_core.app import views
from aion_core.app.calc import (
    IMPORT_ACTIONS,
    import_findings,
    import_runs,
    log_frame,
    summary_log_day,
    summary_steps,
    traceback_of,
)
from aion_core.app.views import RunState, stamp
from aion_core.bots.registry import NIGHTLY_JOB
from aion_core.errors import AionError
from pages import _ui

LEVEL_COLOURS = {"ERROR": ("#fde8e7", "#b42318"), "CRITICAL": ("#fde8e7", "#b42318"),
                 "WARNING": ("#fff4d6", "#8a5a00"), "DEBUG": ("#ffffff", "#6b7280")}
LEVELS = ["ERROR", "WARNING", "INFO", "DEBUG"]
_VIEWER = ("<div style='max-height:520px; overflow:auto; border:1px solid #e5e9ef; "
           "border-radius:8px; font:12px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace'>"
           "{rows}</div>")


STEP_NAME = re.compile(r"^[a-z_]{1,40}$")
NIGHTLY = "nightly runs"  # the dated logs/nightly files; every other choice is a job's log
STATUS_SIGN = {"ok": 1, "failed": -1, "died": -1, "interrupted": -1}
DIED = ("Its process ended without a word (SIGKILL, the out-of-memory killer or an abort in "
        "C code leave none), so its log stops at that step's start. The files keep their last "
        "good version; the next `aion nightly` starts over.")


def query_choice(raw: str | None, allowed: list[str]) -> str | None:
    """A query parameter's value when it is one of `allowed` (never a path: it only picks)."""
    return raw if raw in allowed else None


def day_from_query(days: list[date]) -> date | None:
    """`?day=YYYY-MM-DD` when present, valid and a day with a log; a bad value is shown."""
    raw = st.query_params.get("day")
    if not raw:
        return None
    try:
        day = views.parse_log_day(raw)
    except ValueError:
        st.warning(f"Ignoring the `day` in the address: {raw[:20]!r} is not YYYY-MM-DD.")
        return None
    return day if day in days else None


def logs_ui(sources: list[str], runs: list[dict], run: RunState | None = None
            ) -> tuple[str, date | None, list[str], str]:
    """Which log (a nightly run by its day, or a job's log), the levels and the text filter.

    Only days that have a nightly log are offered, each with the as-of session its data ended
    on: a run is filed by the UTC date it ran, which after midnight is the day after its data.
    The day of an unfinished run (`run`) says so: `running train`, `died during train`.
    """
    default = query_choice(st.query_params.get("log"), sources) or sources[0]
    source = st.segmented_control("Log", sources, default=default, key="logs_source") \
        or default
    a, b, c = st.columns([1, 2, 2])
    day = None
    if source == NIGHTLY:
        days = [r["day"] for r in runs]
        as_of = {r["day"]: r["as_of"] for r in runs}
        unfinished = run_day(run)
        picked = day_from_query(days) or days[0]
        day = a.selectbox("Run of", days, index=days.index(picked), key="logs_day",
                          format_func=lambda d: f"{d:%Y-%m-%d}" + (
                              f" · as of {as_of[d]}" if as_of.get(d) else "") + (
                              f" · {run.headline}" if f"{d:%Y-%m-%d}" == unfinished else ""))
    levels = b.pills("Levels", LEVELS, selection_mode="multi", default=LEVELS,
                     key="logs_levels") or []
    text = c.text_input("Contains", key="logs_text")
    return source, day, levels, text


def draw_log(lines: list[str], levels: list[str], text: str) -> None:
    frame = log_frame(lines)
    counts = frame["level"].value_counts()
    a, b, c = st.columns(3)
    a.metric("Lines shown", f"{len(frame):,}")
    b.metric("Errors", int(counts.get("ERROR", 0) + counts.get("CRITICAL", 0)))
    c.metric("Warnings", int(counts.get("WARNING", 0)))
    shown = frame[frame["level"].isin(levels + (["CRITICAL"] if "ERROR" in levels else []))]
    if text:
        shown = shown[shown["text"].str.contains(text, case=False, regex=False)]
    if shown.empty:
        st.caption("No line matches these filters.")
        return
    st.html(_VIEWER.format(rows="".join(log_row(n, level, text) for n, level, text
                                        in shown.itertuples(index=False))))


def log_row(n: int, level: str, text: str) -> str:
    """One line of the viewer: number, then the whole line wrapped, never cut off; errors
    and warnings on a coloured band with their level in bold. The text is escaped: a log
    line is data, never markup."""
    bg, ink = LEVEL_COLOURS.get(level, ("#ffffff", "#1b1f24"))
    weight = "600" if level in ("ERROR", "CRITICAL", "WARNING") else "400"
    return (f"<div style='display:flex; gap:10px; padding:1px 8px; background:{bg}; "
            f"color:{ink}; font-weight:{weight}'><span style='color:#9ca3af; min-width:3.5em;"
            f" text-align:right; user-select:none'>{n}</span><span style='white-space:"
            f"pre-wrap; word-break:break-word'>{html.escape(text)}</span></div>")


def draw_steps(summary: dict | None, run: RunState | None = None) -> None:
    """The last run's steps; a failed one links to its traceback in the run's log. A run
    that started and has not finished (`run`: running, or died during a step) comes first,
    the last finished one under it."""
    st.subheader("Last nightly run")
    if run is not None:
        draw_unfinished(run)
        if summary is not None:
            with st.expander(f"Last finished run: {summary.get('status', '?')}, as of "
                             f"{summary.get('as_of')}"):
                draw_summary(summary)
        return
    if summary is None:
        _ui.empty("No nightly summary", NIGHTLY_JOB)
        return
    draw_summary(summary)


def draw_summary(summary: dict) -> None:
    status = summary.get("status", "?")
    st.html(f"{_ui.pill(status, _ui.status_ok(status))} <small>run {summary.get('run_id')} · "
            f"as of {summary.get('as_of')} · {summary.get('started_at')} → "
            f"{summary.get('finished_at')}</small>")
    steps = summary_steps(summary)
    day = summary_log_day(summary)
    steps["traceback"] = [
        f"logs?{urlencode({'log': NIGHTLY, 'day': day, 'step': n})}" if s == "failed" and day
        else None for n, s in zip(steps["name"], steps["status"], strict=True)]
    steps_table(steps, "Traceback", "The failed step's traceback in the run's log")


def steps_table(steps, link: str, tip: str) -> None:
    styled = steps.style.map(
        lambda s: f"color: {_ui.signed(STATUS_SIGN.get(s, 0))}; font-weight: 600",
        subset=["status"]).format({"seconds": "{:.1f} s"}, na_rep="—")
    st.dataframe(styled, hide_index=True, column_config={"traceback": st.column_config.LinkColumn(
        link, display_text="open", help=tip)})


def run_day(run: RunState | None) -> str | None:
    """The YYYY-MM-DD of an unfinished run's log (None without one)."""
    return summary_log_day({"log": run.log, "started_at": run.started_at.isoformat()}) \
        if run is not None else None


def draw_unfinished(run: RunState) -> None:
    """A nightly that started and has no summary: the step it is in, or died in, and when,
    then the steps it finished before."""
    st.html(f"{_ui.pill(run.headline, _ui.status_ok(run.status))} <small>"
            f"{html.escape(run.when)} · run {html.escape(run.run_id)} · started "
            f"{stamp(run.started_at)}</small>")
    if run.status == "died":
        st.caption(DIED)
    day = run_day(run)
    steps = summary_steps({"steps": [*run.steps, {
        "name": run.step or "start-up", "status": run.status, "seconds": None,
        "detail": run.text}]})
    steps["traceback"] = [f"logs?{urlencode({'log': NIGHTLY, 'day': day})}"
                          if day and i == len(steps) - 1 else None for i in range(len(steps))]
    steps_table(steps, "Log", "The run's log, which ends where the run is now or stopped")


def draw_traceback(lines: list[str], step: str) -> None:
    block = traceback_of(lines, step)
    st.subheader(f"Step {step}: traceback")
    if block:
        st.code("\n".join(block), language=None)
    else:
        st.caption(f"The shown lines of this log hold no failure of step {step}.")


def nightly_run(store) -> RunState | None:
    """The nightly's unfinished run (running, or died during a step), None when none."""
    try:
        summary = _ui.load(store, "doc", "nightly_summary")
    except AionError:
        summary = None  # its own box says what is wrong with it
    return views.run_state(_ui.load(store, "run_marker", NIGHTLY_JOB), summary)


def live(store, source: str, day: date | None, levels: list[str], text: str,
         step: str | None) -> None:
    what = f"Nightly log of {day}" if source == NIGHTLY else f"Log of {source}"
    run = None
    with _ui.guard("Nightly run marker"):
        run = nightly_run(store)
    if run is not None and run.ended and source == NIGHTLY and day is not None \
            and f"{day:%Y-%m-%d}" == run_day(run):
        st.warning(f"This log's last run ({run.run_id}) {run.text}; its log ends there.",
                   icon=":material/error:")
    with _ui.guard(what):
        lines = _ui.load(store, "log", day) if source == NIGHTLY else \
            _ui.load(store, "job_log", source)
        if lines is None:
            st.info(f"{what} is gone: it was there when the page listed it.",
                    icon=":material/hourglass_empty:")
        else:
            if step and source == NIGHTLY:
                draw_traceback(lines, step)
            draw_log(lines, levels, text)
    with _ui.guard("Nightly summary"):
        draw_steps(_ui.load(store, "doc", "nightly_summary"), run)


def draw_imports(reports: list[dict], broken: list[str]) -> None:
    st.subheader("Data imports")
    for line in broken:  # named, and the readable ones still listed below
        st.error(f"Cannot read import report `{line}`", icon=":material/error:")
    if not reports:
        if not broken:
            st.caption("No import yet. `aion import bars FILE...` brings your own data in "
                       "(docs/DATA.md).")
        return
    runs = import_runs(reports)
    st.dataframe(runs.style.map(
        lambda s: f"color: {_ui.signed({'ok': 1, 'failed': -1}.get(s, 0))}; font-weight: 600",
        subset=["status"]), hide_index=True)
    chosen = st.selectbox("Report", runs["import"], key="logs_import")
    found = import_findings(next(r for r in reports if r.get("import_id") == chosen))
    if found.empty:  # nothing refused, dropped, repaired or flagged, by the report's own count
        st.caption("Every row passed every check.")
        return
    actions = st.pills("Treatment", list(IMPORT_ACTIONS), selection_mode="multi",
                       default=list(IMPORT_ACTIONS), key="logs_actions") or []
    st.dataframe(found[found["action"].isin(actions)], hide_index=True)


def main() -> None:
    settings, store = _ui.context()
    st.title("Logs")
    runs: list[dict] = []
    jobs: list[str] = []
    with _ui.guard("Log folders"):
        runs = _ui.load(store, "nightly_runs")
        jobs = _ui.load(store, "job_logs")
    sources = ([NIGHTLY] if runs else []) + jobs
    try:
        run = nightly_run(store)
    except AionError:  # the live part below shows what is wrong with the marker
        run = None
    if not sources:
        st.info("No log yet. `aion nightly` writes one per run, the scheduler and the admin's "
                "run-now one per job (logs/jobs/).", icon=":material/hourglass_empty:")
    else:
        source, day, levels, text = logs_ui(sources, runs, run)
        step = st.query_params.get("step")
        step = step if step and STEP_NAME.match(step) else None  # shown: no markup smuggled
        st.fragment(run_every=_ui.refresh_every(settings))(live)(
            store, source, day, levels, text, step)
    with _ui.guard("Import reports"):
        draw_imports(*_ui.load(store, "imports"))


_ui.require_frame(__file__)
main()
