"""Logs: one night's log (last 1,000 lines, errors and warnings highlighted), the last
summary's steps, and the reports of `aion import` (what each refused, repaired or flagged).

The day comes from the date picker or a strictly parsed `?day=YYYY-MM-DD`; either way it is a
`date` before it reaches `store.path`, which formats and re-checks it: no path can be smuggled.
"""

from __future__ import annotations

import html
from datetime import date

import streamlit as st

from aion_core import views
from aion_core.bots.registry import NIGHTLY_JOB
from aion_core.views_calc import import_findings, import_runs, log_frame, summary_steps
from pages import _ui

LEVEL_COLOURS = {"ERROR": ("#fde8e7", "#b42318"), "CRITICAL": ("#fde8e7", "#b42318"),
                 "WARNING": ("#fff4d6", "#8a5a00"), "DEBUG": ("#ffffff", "#6b7280")}
LEVELS = ["ERROR", "WARNING", "INFO", "DEBUG"]
_VIEWER = ("<div style='max-height:520px; overflow:auto; border:1px solid #e5e9ef; "
           "border-radius:8px; font:12px/1.5 ui-monospace, SFMono-Regular, Menlo, monospace'>"
           "{rows}</div>")


def day_from_query(default: date) -> date:
    """`?day=YYYY-MM-DD` when present and valid; a bad value is shown and ignored."""
    raw = st.query_params.get("day")
    if not raw:
        return default
    try:
        return views.parse_log_day(raw)
    except ValueError:
        st.warning(f"Ignoring the `day` in the address: {raw[:20]!r} is not YYYY-MM-DD.")
        return default


def logs_ui(days: list[date]) -> tuple[date, list[str], str]:
    default = day_from_query(days[0] if days else date.today())
    a, b, c = st.columns([1, 2, 2])
    day = a.date_input("Night of", value=default, key="logs_day")
    levels = b.pills("Levels", LEVELS, selection_mode="multi", default=LEVELS,
                     key="logs_levels") or []
    text = c.text_input("Contains", key="logs_text")
    return views.parse_log_day(day), levels, text


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


def draw_steps(summary: dict | None) -> None:
    st.subheader("Last nightly run")
    if summary is None:
        _ui.empty("No nightly summary", NIGHTLY_JOB)
        return
    status = summary.get("status", "?")
    st.html(f"{_ui.pill(status, _ui.status_ok(status))} <small>run {summary.get('run_id')} · "
            f"as of {summary.get('as_of')} · {summary.get('started_at')} → "
            f"{summary.get('finished_at')}</small>")
    steps = summary_steps(summary)
    styled = steps.style.map(
        lambda s: f"color: {_ui.signed({'ok': 1, 'failed': -1}.get(s, 0))}; font-weight: 600",
        subset=["status"]).format({"seconds": "{:.1f} s"}, na_rep="—")
    st.dataframe(styled, hide_index=True)


def live(store, day: date, levels: list[str], text: str) -> None:
    with _ui.guard(f"Nightly log of {day}"):
        lines = _ui.load(store, "log", day)
        if lines is None:
            st.info(f"No nightly log for {day:%Y-%m-%d}. Logs are written by `aion nightly`.",
                    icon=":material/hourglass_empty:")
        else:
            draw_log(lines, levels, text)
    with _ui.guard("Nightly summary"):
        draw_steps(_ui.load(store, "doc", "nightly_summary"))


def draw_imports(reports: list[dict]) -> None:
    st.subheader("Data imports")
    if not reports:
        st.caption("No import yet. `aion import bars FILE...` brings your own data in "
                   "(docs/DATA.md).")
        return
    runs = import_runs(reports)
    st.dataframe(runs.style.map(
        lambda s: f"color: {_ui.signed({'ok': 1, 'failed': -1}.get(s, 0))}; font-weight: 600",
        subset=["status"]), hide_index=True)
    chosen = st.selectbox("Report", runs["import"], key="logs_import")
    found = import_findings(next(r for r in reports if r.get("import_id") == chosen))
    if found.empty:
        st.caption("Every row passed every check.")
        return
    actions = st.pills("Treatment", ["refused", "repaired", "flagged"], selection_mode="multi",
                       default=["refused", "repaired", "flagged"], key="logs_actions") or []
    st.dataframe(found[found["action"].isin(actions)], hide_index=True)


def main() -> None:
    settings, store = _ui.context()
    st.title("Nightly logs")
    days: list[date] = []
    with _ui.guard("Log folder"):
        days = _ui.load(store, "log_days")
    if days:
        st.caption("Nights with a log: " + ", ".join(f"{d:%Y-%m-%d}" for d in days[:7])
                   + (" …" if len(days) > 7 else ""))
    day, levels, text = logs_ui(days)
    st.fragment(run_every=_ui.refresh_every(settings))(live)(store, day, levels, text)
    with _ui.guard("Import reports"):
        draw_imports(_ui.load(store, "imports"))


_ui.require_frame(__file__)
main()
