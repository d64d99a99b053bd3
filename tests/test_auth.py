"""The admin gate's rules: bcrypt hashes, the file-kept lockout, the session expiry."""

from __future__ import annotations

import pytest

from aion_core import auth
from aion_core.errors import ConfigurationError


def test_hash_checks_the_right_password_only():
    hashed = auth.hash_password("correct horse")
    assert hashed.startswith("$2b$")
    assert auth.check_password("correct horse", hashed)
    assert not auth.check_password("wrong horse!", hashed)
    assert not auth.check_password("correct horse", "not-a-hash")


def test_short_password_refused():
    with pytest.raises(ConfigurationError, match="at least"):
        auth.hash_password("short")


def test_five_failures_lock_and_the_lock_ends(store):
    now = 1_000.0
    counts = [auth.record_failure(store, now + i) for i in range(auth.MAX_FAILURES)]
    assert counts[:-1] == list(range(1, auth.MAX_FAILURES))
    assert counts[-1] == auth.MAX_FAILURES
    left = auth.lockout_remaining(store, now + auth.MAX_FAILURES)
    assert 0 < left <= auth.LOCKOUT_S
    assert auth.lockout_remaining(store, now + auth.MAX_FAILURES + auth.LOCKOUT_S) == 0.0


def test_lockout_is_in_the_data_root_not_in_memory(store):
    from aion_core.store import Store

    for i in range(auth.MAX_FAILURES):
        auth.record_failure(store, 50.0 + i)
    assert auth.lockout_remaining(Store(store.root), 56.0) > 0


def test_success_resets_the_count(store):
    for i in range(auth.MAX_FAILURES - 1):
        auth.record_failure(store, float(i))
    auth.reset_failures(store)
    assert auth.record_failure(store, 10.0) == 1
    assert auth.lockout_remaining(store, 10.0) == 0.0


def test_corrupt_lockout_file_locks_nothing_and_is_replaced(store):
    path = store.path("admin_lockout")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert auth.lockout_remaining(store, 0.0) == 0.0
    assert auth.record_failure(store, 0.0) == 1
    assert store.read_json("admin_lockout")["failures"] == 1


def test_session_expiry_bounded_by_the_cookie():
    assert auth.session_expires_at(100.0, 3600) == 3700.0
    assert auth.session_expires_at(100.0, 3600, cookie_expiry=500.0) == 500.0
    assert not auth.is_expired(3700.0, 3699.9)
    assert auth.is_expired(3700.0, 3700.0)
    assert not auth.is_expired(None, 1e12)
