"""The admin gate: bcrypt hashes, the per-source lockout, the cookie check, the session expiry,
and the admin page under AppTest with crafted cookies, an invalid setting and a stranger's
wrong passwords. The gate fails closed: nothing that does not verify opens it or crashes it."""

from __future__ import annotations

import time
import types
from pathlib import Path

import bcrypt
import jwt
import pytest
import streamlit as st
from streamlit.runtime import context as st_context
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from aion_core.app import auth
from aion_core.cli import app as cli_app
from aion_core.errors import ConfigurationError
from aion_core.store import Store

ME = auth.sources("admin-session", "203.0.113.5")
STRANGER = auth.sources("stranger-session", "198.51.100.7")


def test_hash_checks_the_right_password_only():
    hashed = auth.hash_password("correct horse")
    assert hashed.startswith("$2b$")
    assert auth.check_password("correct horse", hashed)
    assert not auth.check_password("wrong horse!", hashed)
    assert not auth.check_password("correct horse", "not-a-hash")


def test_short_password_refused():
    with pytest.raises(ConfigurationError, match="at least"):
        auth.hash_password("short")


# --------------------------------------------------------------------------- the lockout


def test_five_failures_lock_that_session_and_the_lock_ends(store):
    mine = auth.sources("s1", None)
    left = [auth.record_failure(store, mine, 1_000.0 + i) for i in range(auth.MAX_FAILURES)]
    assert left == list(range(auth.MAX_FAILURES - 1, -1, -1))
    wait = auth.lockout_remaining(store, mine, 1_000.0 + auth.MAX_FAILURES)
    assert 0 < wait <= auth.BASE_LOCKOUT_S
    assert auth.lockout_remaining(store, mine, 1_010.0 + auth.BASE_LOCKOUT_S) == 0.0


def test_a_strangers_wrong_passwords_never_lock_the_admin_out(store):
    """The denial of service: before, five failures from anyone locked everyone."""
    for i in range(2 * auth.ADDRESS_MAX_FAILURES):  # a new session per guess, one address or none
        auth.record_failure(store, auth.sources(f"x{i}", "198.51.100.7"), 100.0 + i)
        auth.record_failure(store, auth.sources(f"y{i}", None), 100.0 + i)
    end = 100.0 + 2 * auth.ADDRESS_MAX_FAILURES
    assert auth.lockout_remaining(store, STRANGER[1:], end) > 0  # the stranger's address is
    assert auth.lockout_remaining(store, ME, end) == 0.0
    assert auth.lockout_remaining(store, auth.sources("admin-local", None), end) == 0.0
    assert 0 < auth.global_delay(store, end) <= auth.GLOBAL_MAX_DELAY_S  # slowed, not shut


def test_an_address_is_locked_across_new_sessions(store):
    """A stranger cannot dodge the session lock by opening a new session per guess."""
    for i in range(auth.ADDRESS_MAX_FAILURES):
        auth.record_failure(store, auth.sources(f"fresh{i}", "198.51.100.7"), 10.0)
    assert auth.lockout_remaining(store, auth.sources("another", "198.51.100.7"), 11.0) > 0
    assert auth.lockout_remaining(store, ME, 11.0) == 0.0


def test_each_new_lock_of_a_source_lasts_longer_up_to_a_cap(store):
    waits, now = [], 0.0
    for _ in range(8):
        for _ in range(auth.MAX_FAILURES):
            auth.record_failure(store, STRANGER[:1], now)
        waits.append(auth.lockout_remaining(store, STRANGER[:1], now))
        now += waits[-1]
    assert waits[0] == auth.BASE_LOCKOUT_S and waits[1] == 2 * auth.BASE_LOCKOUT_S
    assert waits == sorted(waits) and waits[-1] == auth.MAX_LOCKOUT_S


def test_the_global_count_only_slows_and_fades(store):
    assert auth.global_delay(store, 0.0) == 0.0
    enough = auth.GLOBAL_FREE + int(auth.GLOBAL_MAX_DELAY_S / auth.GLOBAL_STEP_S) + 1
    for i in range(enough):
        auth.record_failure(store, auth.sources(f"s{i}", None), 50.0)
    assert auth.global_delay(store, 50.0) == auth.GLOBAL_MAX_DELAY_S
    assert auth.global_delay(store, 51.0 + auth.GLOBAL_WINDOW_S) == 0.0


def test_success_clears_only_its_own_sources(store):
    for i in range(auth.MAX_FAILURES - 1):
        auth.record_failure(store, ME, float(i))
        auth.record_failure(store, STRANGER, float(i))
    auth.reset_failures(store, ME)
    assert auth.record_failure(store, ME, 10.0) == auth.MAX_FAILURES - 1
    assert auth.record_failure(store, STRANGER, 10.0) == 0  # its fifth: locked


def test_lockout_is_in_the_data_root_not_in_memory(store):
    for i in range(auth.MAX_FAILURES):
        auth.record_failure(store, STRANGER, 50.0 + i)
    assert auth.lockout_remaining(Store(store.root), STRANGER, 56.0) > 0


@pytest.mark.parametrize("text", ["{not json", '{"failures": 9, "locked_until": 1e12}',
                                  '{"sources": {"session:s": {"locked_until": "soon"}}}'])
def test_a_corrupt_or_old_lockout_file_locks_nothing_and_is_replaced(store, text):
    path = store.path("admin_lockout")
    path.parent.mkdir(parents=True)
    path.write_text(text)
    assert auth.lockout_remaining(store, auth.sources("s", None), 0.0) == 0.0
    assert auth.global_delay(store, 0.0) == 0.0
    assert auth.record_failure(store, auth.sources("s", None), 0.0) == auth.MAX_FAILURES - 1
    assert store.read_json("admin_lockout")["sources"]["session:s"]["failures"] == 1


def test_admin_unlock_clears_every_lock(store):
    for i in range(auth.ADDRESS_MAX_FAILURES):
        auth.record_failure(store, auth.sources(f"s{i}", "203.0.113.5"), time.time())
    assert auth.lockout_remaining(store, ME, time.time()) > 0
    res = CliRunner().invoke(cli_app, ["admin", "unlock", "--data-dir", str(store.root)])
    assert res.exit_code == 0, res.output
    assert "unlocked" in res.output
    assert auth.lockout_remaining(store, ME, time.time()) == 0.0
    assert auth.global_delay(store, time.time()) == 0.0


# --------------------------------------------------------------------------- cookie and expiry

KEY = "k" * 40  # ADMIN_COOKIE_KEY in the page tests
NOW = 1_000_000.0


def _token(alg: str = "HS256", key: str | None = KEY, now: float = NOW, **claims) -> str:
    body = {"username": "admin", "exp_date": now + 3600} | claims
    return jwt.encode(body, key if alg != "none" else None, algorithm=alg)


def crafted(name: str, now: float = NOW) -> str:
    """Cookies an attacker can make (and our own, expired or mangled), none of which verifies."""
    return {
        "alg-none": lambda: _token("none", now=now),
        "hs512": lambda: _token("HS512", key=KEY * 2, now=now),
        "other-user": lambda: _token(username="mallory", now=now),
        "wrong-key": lambda: _token(key="x" * 40, now=now),
        "expired": lambda: _token(exp_date=now - 1),
        "no-expiry": lambda: jwt.encode({"username": "admin"}, KEY, algorithm="HS256"),
        "text-expiry": lambda: _token(exp_date="later"),
        "garbage": lambda: "not.a.token",
    }[name]()


CRAFTED = ["alg-none", "hs512", "other-user", "wrong-key", "expired", "no-expiry",
           "text-expiry", "garbage"]


@pytest.mark.parametrize("name", CRAFTED)
def test_a_cookie_that_does_not_verify_is_no_cookie(name):
    assert auth.verify_cookie(crafted(name), KEY, auth.ADMIN_USER, NOW) is None


def test_our_own_cookie_verifies():
    claims = auth.verify_cookie(_token(), KEY, auth.ADMIN_USER, NOW)
    assert claims == {"username": "admin", "exp_date": NOW + 3600}
    assert auth.verify_cookie(None, KEY, auth.ADMIN_USER, NOW) is None
    assert auth.verify_cookie(_token(), "", auth.ADMIN_USER, NOW) is None


def test_session_expiry_bounded_by_the_cookie():
    assert auth.session_expires_at(100.0, 3600) == 3700.0
    assert auth.session_expires_at(100.0, 3600, cookie_expiry=500.0) == 500.0


def test_a_session_is_open_only_while_its_expiry_is_known_and_ahead():
    """What the jobs fragment checks before each refresh: an auto-refresh after the TTL, or a
    login status without our expiry, draws nothing."""
    assert auth.session_open(True, 3700.0, 3699.9)
    assert not auth.session_open(True, 3700.0, 3700.0)
    assert not auth.session_open(True, None, 0.0)
    assert not auth.session_open(None, 3700.0, 0.0)


# --------------------------------------------------------------------------- the page

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PASSWORD = "s3cret-password"


@pytest.fixture
def page_env(monkeypatch, tmp_path) -> Path:
    """An admin password (bcrypt cost 4, for speed) and cookie key, an empty data root, no
    stray .env; returns the data root."""
    st.cache_data.clear()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ADMIN_TOKEN_TTL_S", raising=False)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    monkeypatch.setenv("ADMIN_PASSWORD_HASH", hashed)
    monkeypatch.setenv("ADMIN_COOKIE_KEY", KEY)
    monkeypatch.setenv("AION_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _client(monkeypatch, cookies: dict[str, str] | None = None, ip: str | None = None) -> None:
    """What a browser sends and AppTest cannot: cookies and the client address."""
    fake = types.SimpleNamespace(headers=[], cookies=cookies or {}, remote_ip=ip)
    monkeypatch.setattr(st_context, "_get_client_context", lambda: fake)


def _admin_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    return at.switch_page("pages/admin.py").run()


def _login(at: AppTest, password: str) -> AppTest:
    at.text_input[0].input(auth.ADMIN_USER)
    at.text_input[1].input(password)
    return at.button[0].click().run()


def _login_form(at: AppTest) -> bool:
    return not at.exception and len(at.text_input) == 2 and not _behind_gate(at)


def _behind_gate(at: AppTest) -> bool:
    return any(s.value == "Settings" for s in at.subheader) or bool(at.toggle)


@pytest.mark.parametrize("name", ["alg-none", "hs512", "other-user", "no-expiry"])
def test_a_crafted_cookie_gives_the_login_form(monkeypatch, page_env, name):
    _client(monkeypatch, {"aion_admin": crafted(name, time.time())})
    at = _admin_page()
    assert _login_form(at), [e.value for e in at.exception]
    assert _behind_gate(_login(at, PASSWORD))  # and the password still opens it


def test_a_valid_admin_cookie_reopens_the_session(monkeypatch, page_env):
    _client(monkeypatch, {"aion_admin": _token(now=time.time() - 3000)})
    at = _admin_page()
    assert not at.exception and _behind_gate(at)
    assert at.session_state["admin_expires_at"] <= time.time() + 600


def test_an_invalid_setting_is_one_error_box_and_every_page_renders(monkeypatch, page_env):
    monkeypatch.setenv("ADMIN_TOKEN_TTL_S", "5")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    for page in ["dashboard", "bots", "predictions", "config", "logs"]:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception and at.title, (page, [e.value for e in at.exception])
    at.switch_page("pages/admin.py").run()
    assert not at.exception
    assert [e.value for e in at.error if "ADMIN_TOKEN_TTL_S" in e.value] == \
        [e.value for e in at.error] and len(at.error) == 1
    assert not at.text_input and not _behind_gate(at)


def test_a_strangers_lockout_leaves_the_admin_a_login_form(monkeypatch, page_env):
    _client(monkeypatch, ip=None)
    stranger = _admin_page()
    for _ in range(auth.MAX_FAILURES):
        _login(stranger, "wrong-password")
    assert any("locked" in e.value for e in stranger.error)
    assert not stranger.run().text_input  # that session waits
    admin = _admin_page()  # another browser session
    assert _login_form(admin)
    assert _behind_gate(_login(admin, PASSWORD))
