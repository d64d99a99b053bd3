"""The Research page in headless Chromium: a backtest started from its form runs as a
background job, its progress ends, and the finished run's tear sheet is drawn.

Shares test_e2e.py's app and browser helpers (Debian's chromium; skips where it is absent).
`python tests/test_e2e_research.py DIR` saves the README's Research screenshots into DIR.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_e2e import browser_page, goto, running_app, settle  # noqa: E402

from aion_core.app import research_view as vr  # noqa: E402
from aion_core.store import Store  # noqa: E402

pytestmark = pytest.mark.e2e

# Three months, one bot, one model fit: the job takes about 10 s on the small demo market.
START, END = date(2026, 8, 20), date(2026, 11, 20)
BOTS = ["swing_1w", "swing_2w", "swing_4w"]
FAST_ENV = {"AION_REFRESH_S": "1"}  # the progress fragment's poll; test_e2e's 3600 would stall
JOB_TIMEOUT_MS = 180_000


def set_date(page, label: str, value: date) -> None:
    """Type a date into a Streamlit date_input: one react-aria spinbutton per part."""
    for part, text in (("year", f"{value:%Y}"), ("month", f"{value:%m}"), ("day", f"{value:%d}")):
        box = page.get_by_role("spinbutton", name=f"{part}, {label}", exact=True)
        box.click()
        box.press_sequentially(text)


def keep_only_bot(page, keep: str) -> None:
    """Remove the other bots' tags from the Bots multiselect (all are picked by default)."""
    for label in BOTS:
        if label != keep:
            page.get_by_role("button", name=f"Remove {label}", exact=True).click()
    tags = page.locator("[data-testid='stMultiSelect']", has_text="Bots").locator(
        "[data-tag]").all_inner_texts()
    assert tags == [keep], tags


def start_backtest(page, url: str, bot: str = "swing_1w") -> None:
    """Open the New backtest tab, fill the form (three months, one bot, one refit), submit."""
    goto(page, url, "research")
    page.get_by_role("tab", name="New backtest").click()
    set_date(page, "From", START)
    set_date(page, "To", END)
    every = page.get_by_label("Retrain the models every (sessions)", exact=True)
    every.fill("252")
    keep_only_bot(page, bot)
    page.get_by_role("button", name="Start backtest").click()


def wait_for_tear_sheet(page, bot: str = "swing_1w") -> None:
    """The job ends in the success line naming `bot` (an earlier run's line names another),
    and the page, rerun, lists the run with its tear sheet."""
    done = ("[data-testid='stAlertContentSuccess']:has-text('Last backtest finished')"
            f":has-text('{bot}')")
    # attached, not visible: the rerun that lists the new run may bring the first tab forward
    page.wait_for_selector(done, state="attached", timeout=JOB_TIMEOUT_MS)
    settle(page)
    page.get_by_role("tab", name="Backtests").click()
    page.wait_for_selector("[data-testid='stMetric']:has-text('Sharpe')", timeout=30_000)
    page.wait_for_timeout(1500)  # let Plotly finish drawing


def figures_shown(page) -> dict[str, str]:
    """The tear sheet's metric tiles, label (upper case, as the theme draws it) -> value."""
    tiles = page.locator("[data-testid='stMetric']")
    labels = tiles.locator("[data-testid='stMetricLabel']").all_inner_texts()
    values = tiles.locator("[data-testid='stMetricValue']").all_inner_texts()
    return {a.strip().upper(): b.strip() for a, b in zip(labels, values, strict=True)}


def test_a_backtest_started_from_the_research_page_shows_its_tear_sheet(demo_root, tmp_path):
    with running_app(demo_root.root, FAST_ENV) as url, browser_page(1280, 1000) as page:
        start_backtest(page, url)
        page.screenshot(path=str(tmp_path / "started.png"), full_page=True)
        assert page.locator("[data-testid='stAlertContentError']").count() == 0
        page.wait_for_selector("text=Backtest running", timeout=60_000)  # its progress bar
        wait_for_tear_sheet(page)
        page.screenshot(path=str(tmp_path / "tear_sheet.png"), full_page=True)
        assert page.locator("[data-testid='stException']").count() == 0
        (run_dir,) = (demo_root.root / "research" / "backtests").iterdir()
        run = demo_root.read_json("backtest_run", backtest_id=run_dir.name)
        assert (run["start"], run["end"]) == ("2026-08-20", "2026-11-20")
        shown = figures_shown(page)
        stored = demo_root.read_json("backtest_metrics", backtest_id=run_dir.name)["bots"]
        for key, label, kind, _ in vr.FIGURES:  # the page recomputes what metrics.json holds
            assert shown[label.upper()] == vr.fmt_figure(kind, stored["swing_1w"][key]), label
        assert shown["TOTAL RETURN"] != "—" and shown["SHARPE"] != "—"
        assert page.locator("text=Equity against the benchmark").count() == 1
        assert page.locator("[data-testid='stPlotlyChart']").count() >= 4
        assert page.locator(f"text={run_dir.name}").count() >= 1


def shoot(page, path: Path) -> Path:
    """A PNG of the whole page: Streamlit scrolls inside its main block, not the document, so
    the viewport is first made as tall as that block's content."""
    settle(page)
    height = page.evaluate("document.querySelector(\"[data-testid='stMain']\").scrollHeight")
    page.set_viewport_size({"width": 1280, "height": max(900, int(height))})
    page.wait_for_timeout(2000)  # Plotly redraws at the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 1000})
    return path


def screenshots(out: Path, root: Path) -> list[Path]:
    """The README's Research pictures: a tear sheet (of a backtest run from the page), the
    new-backtest form and that run compared with the one already in `root`."""
    out.mkdir(parents=True, exist_ok=True)
    with running_app(root, FAST_ENV) as url, browser_page(1280, 1000) as page:
        start_backtest(page, url)
        wait_for_tear_sheet(page)
        goto(page, url, "research")
        page.wait_for_selector("[data-testid='stMetric']:has-text('Sharpe')")
        shots = [shoot(page, out / "app_research.png")]
        for tab, name in (("New backtest", "app_research_new.png"),
                          ("Compare", "app_research_compare.png")):
            page.get_by_role("tab", name=tab).click()
            shots.append(shoot(page, out / name))
    return shots


if __name__ == "__main__":
    from aion_core.config import load_settings
    from jobs.demo import write_demo_data
    from jobs.replay import run_backtest

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        data = Path(tmp) / "data"
        write_demo_data(Store(data), n_symbols=12, years=2.0, seed=7, intraday_days=2,
                        end=date(2026, 11, 20))
        settings = load_settings(data, env_file=None).model_copy(
            update={"aion_retrain_every": 252})
        run_backtest(Store(data), settings, START, END, ["2w"])  # the run to compare with
        for shot in screenshots(Path(sys.argv[1]), data):
            print(shot)
