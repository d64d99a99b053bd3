"""The admin gate's rules: password hashing, login lockout and session expiry.

bcrypt hashes as streamlit-authenticator checks them. The lockout count is kept in a file under
the data root (PATHS["admin_lockout"]) so it survives a browser refresh; the session expiry is a
plain number the app keeps in server-side session state, because the authenticator's cookie
alone can outlive a logout. Time is an argument (`now`, epoch seconds) so tests need no clock.
"""

from __future__ import annotations

from typing import Any

import bcrypt

from aion_core.errors import ConfigurationError, CorruptFileError
from aion_core.store import Store

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    """bcrypt hash (`$2b$12$...`) for ADMIN_PASSWORD_HASH; short passwords are refused."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigurationError(
            f"the admin password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > 72:
        raise ConfigurationError("the admin password must be at most 72 bytes (a bcrypt limit)")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=12)).decode()


def check_password(password: str, hashed: str) -> bool:
    """Constant-time check; a malformed hash is simply a mismatch."""
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


# --------------------------------------------------------------------------- lockout and expiry

MAX_FAILURES = 5
LOCKOUT_S = 300.0


def lockout_remaining(store: Store, now: float) -> float:
    """Seconds left of a login lockout (0 when none).

    The count lives in a file under the data root, not in the browser session, so a refresh
    or a new tab cannot reset it; a corrupt file locks nothing but is rewritten on the next
    failure.
    """
    try:
        doc = store.read_json("admin_lockout") or {}
    except CorruptFileError:
        return 0.0
    until = float(doc.get("locked_until") or 0.0)
    return max(0.0, until - now)


def record_failure(store: Store, now: float) -> int:
    """Count one wrong password; the fifth in a row locks the login for LOCKOUT_S.

    Returns the failures counted since the last success or lockout.
    """

    def bump(old: Any) -> dict[str, Any]:
        doc = old if isinstance(old, dict) else {}
        count = int(doc.get("failures", 0)) + 1
        if count >= MAX_FAILURES:
            return {"failures": 0, "locked_until": now + LOCKOUT_S, "last_failure": now}
        return {"failures": count, "locked_until": 0.0, "last_failure": now}

    try:
        doc = store.update_json("admin_lockout", bump)
    except CorruptFileError:
        doc = bump(None)
        store.write_json("admin_lockout", doc)
    return MAX_FAILURES if doc["locked_until"] else int(doc["failures"])


def reset_failures(store: Store) -> None:
    """A right password clears the count (a lockout in force was checked before)."""
    store.write_json("admin_lockout", {"failures": 0, "locked_until": 0.0})


def session_expires_at(now: float, ttl_s: float, cookie_expiry: float | None = None) -> float:
    """When an admin session that starts `now` must end.

    A session restored from the re-login cookie ends no later than the cookie itself, so a
    refresh never stretches a session beyond one TTL from the password being typed.
    """
    end = now + ttl_s
    return min(end, cookie_expiry) if cookie_expiry else end


def is_expired(expires_at: float | None, now: float) -> bool:
    return expires_at is not None and now >= expires_at
