"""The real app in headless Chromium: `streamlit run app.py`, driven by Playwright.

Uses Debian's chromium (`apt-get install -y chromium`; never `playwright install`). Skips with
the reason where it is not installed. `python tests/test_e2e.py DIR [DATA_ROOT]` also saves a
screenshot of every page into DIR (the README's pictures).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from app_data import build_filled_root  # noqa: E402

from aion_core.store import Store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic"]
PAGES = ["dashboard", "bots", "predictions", "config", "logs", "admin"]

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(root: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """`streamlit run app.py` on a free 127.0.0.1 port; yields its URL, stops it after."""
    port = _free_port()
    env = {**os.environ, "AION_DATA_DIR": str(root), "AION_REFRESH_S": "3600",
           **(extra_env or {})}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", f"--server.port={port}",
           "--server.headless=true", "--server.address=127.0.0.1",
           "--browser.gatherUsageStats=false"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("streamlit did not come up") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def settle(page, timeout: float = 60_000) -> None:
    """Wait as Streamlit's own e2e suite does: connected, then the script not running."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']",
                           timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']",
                           timeout=timeout)


#: The browser this module's tests share while they run (`_one_browser`); empty otherwise.
_SHARED: list = []


@contextmanager
def browser_page(width: int = 1280, height: int = 900):
    """A page in a fresh browser context (cookies and storage of its own): of this module's
    shared Chromium during its tests, else of a Chromium started for it."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    if _SHARED:
        context = _SHARED[0].new_context(viewport={"width": width, "height": height})
        try:
            yield context.new_page()
        finally:
            context.close()
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": width, "height": height})
        finally:
            browser.close()


@pytest.fixture(scope="module", autouse=True)
def _one_browser() -> Iterator[None]:
    """One Chromium for the module's tests rather than one each (a second apiece)."""
    if not Path(CHROMIUM).exists():
        yield
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        _SHARED.append(browser)
        try:
            yield
        finally:
            _SHARED.clear()
            browser.close()


def goto(page, url: str, name: str) -> None:
    page.goto(url if name == "dashboard" else f"{url}/{name}")
    settle(page)


#: Each page's link in the sidebar and the title it draws.
LINKS = {"dashboard": ("Dashboard", "Dashboard"), "bots": ("Bots", "Bots"),
         "predictions": ("Predictions", "Predictions"), "config": ("Config", "Bot knobs"),
         "logs": ("Logs", "Logs"), "admin": ("Admin", "Admin")}


def open_page(page, name: str) -> None:
    """Go to page `name` as a user does, by its link in the sidebar (the app's frontend is not
    loaded again, as a goto does), and wait for its title and for its script to end."""
    link, title = LINKS[name]
    page.locator("[data-testid='stSidebarNavLink']", has_text=link).click()
    page.wait_for_selector(f"h1:has-text('{title}')")
    settle(page)


def test_dashboard_then_config_knob_saved(tmp_path):
    store = Store(tmp_path / "data")
    build_filled_root(store, n_symbols=8, sessions=60, history_days=5)
    with running_app(store.root) as url, browser_page() as page:
        goto(page, url, "dashboard")
        page.wait_for_selector("[data-testid='stMetric']")
        page.wait_for_selector("[data-testid='stPlotlyChart']")
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator("[data-testid='stPlotlyChart']").count() >= 2
        page.locator("[data-testid='stSidebarNavLink']", has_text="Config").click()
        settle(page)
        slider = page.get_by_role("slider", name="Max positions")
        slider.first.focus()
        page.keyboard.press("ArrowRight")
        page.get_by_role("button", name="Save").first.click()
        page.wait_for_selector("[data-testid='stAlertContentSuccess']")
        doc = json.loads(store.path("bots_config").read_text())
        assert doc == {"swing": {"1w": {"max_positions": 11}}}


@pytest.mark.parametrize("name,title", [("admin", "Admin"), ("bots", "Bots")])
def test_a_fresh_server_serves_a_sub_page_inside_the_frame(tmp_path, name, title):
    """The first request of a new server for /admin must not run pages/admin.py alone
    (Streamlit's pages/ discovery would): the frame's navigation and sidebar are there."""
    store = Store(tmp_path / "data")
    store.root.mkdir(parents=True)
    with running_app(store.root) as url, browser_page() as page:
        page.goto(f"{url}/{name}")
        settle(page)
        page.wait_for_selector(f"h1:has-text('{title}')")
        settle(page)
        links = page.locator("[data-testid='stSidebarNavLink']").all_inner_texts()
        titles = [x.split()[-1] for x in links]  # each link's text starts with its icon name
        assert titles == ["Dashboard", "Bots", "Predictions", "Models", "Research", "Config",
                          "Logs", "Admin"]
        assert page.locator("text=Aion Analytics").count() >= 1
        assert page.locator("[data-testid='stException']").count() == 0


def test_every_page_says_when_the_bars_are_synthetic_and_only_then(tmp_path):
    store = Store(tmp_path / "data")
    build_filled_root(store, n_symbols=8, sessions=60, history_days=5)
    badge = "text=Synthetic data."
    store.record_source("bars", "synthetic", "test", "2026-11-20T00:00:00+00:00")
    with running_app(store.root) as url, browser_page() as page:
        for name in PAGES:
            if name == "dashboard":
                goto(page, url, name)
            else:
                open_page(page, name)
            assert page.locator(badge).count() == 1, name
    store.path("bars_provenance").unlink()
    store.record_source("bars", "import", "test", "2026-11-20T00:00:00+00:00")
    with running_app(store.root) as url, browser_page() as page:
        goto(page, url, "dashboard")
        page.wait_for_selector("[data-testid='stMetric']")
        assert page.locator(badge).count() == 0


def login(page, password: str) -> None:
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("text=Kill switch", timeout=30_000)
    settle(page)


def screenshots(out: Path, root: Path) -> list[Path]:
    """One PNG per page (1280 wide), the pages fully drawn; the admin page logged in."""
    import bcrypt

    out.mkdir(parents=True, exist_ok=True)
    password = "screenshot-password"
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    shots = []
    with running_app(root, {"ADMIN_PASSWORD_HASH": hashed}) as url, \
            browser_page(1280, 1800) as page:
        for name in PAGES:
            goto(page, url, name)
            if name == "admin":
                login(page, password)
            page.wait_for_timeout(1500)  # let Plotly finish drawing
            path = out / f"app_{name}.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(path)
    return shots


if __name__ == "__main__":
    target = Path(sys.argv[1])
    data = Path(sys.argv[2]) if len(sys.argv) > 2 else target / "_data"
    if not data.exists():
        build_filled_root(Store(data), n_symbols=60, sessions=250)
    for shot in screenshots(target, data):
        print(shot)
