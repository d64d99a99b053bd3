"""The admin gate's rules: password hashing, the re-login cookie, login lockout, session expiry,
and who may change the live knobs (`Access`).

The gate fails closed: a cookie that does not verify is no cookie, a session without a known
expiry is no session. The lockout is counted per source (a browser session, and the client
address when the server knows it) in a file under the data root (PATHS["admin_lockout"]), so a
refresh does not reset an address and a stranger's wrong passwords never lock the real admin
out; every failure also adds to a global count that only slows password checks. `aion admin
unlock` clears it all on the host. Time is an argument (`now`, epoch seconds): no clock in tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import bcrypt
import jwt

from aion_core.errors import ConfigurationError, CorruptFileError, RefusedError
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


# --------------------------------------------------------------------------- the re-login cookie

#: The one user the app knows (app.py's credentials); a cookie for any other name is refused.
ADMIN_USER = "admin"
COOKIE_ALGORITHM = "HS256"


def verify_cookie(token: str | None, key: str, username: str, now: float) -> dict[str, Any] | None:
    """The claims of a re-login cookie signed with `key` (HS256 only) for `username` that has
    not expired; None for anything else.

    streamlit-authenticator lets an `alg: none` or HS512 token, a cookie signed for another
    user, or one without an `exp_date` raise out of its login(); the page asks this first and
    hands the library no cookie that fails here, so such a cookie gives the login form.
    """
    if not token or not key:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=[COOKIE_ALGORITHM])
    except (jwt.PyJWTError, TypeError, ValueError):
        return None
    expiry = claims.get("exp_date")
    if claims.get("username") != username or not _is_number(expiry):
        return None
    return claims if expiry > now else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# --------------------------------------------------------------------------- lockout

#: Wrong passwords one browser session may type before it waits: an honest typo costs little.
MAX_FAILURES = 5
#: An address may be shared (an office, a VPN) and its lock falls on everyone behind it, so it
#: gets more tries; it stops a stranger who opens a new session for every guess.
ADDRESS_MAX_FAILURES = 20
#: A source's n-th lock lasts BASE_LOCKOUT_S * 2**(n-1), at most MAX_LOCKOUT_S.
BASE_LOCKOUT_S = 30.0
MAX_LOCKOUT_S = 900.0
#: Failures from every source in the last GLOBAL_WINDOW_S beyond GLOBAL_FREE each add
#: GLOBAL_STEP_S of delay before a password is checked: a spread-out guesser is slowed, and
#: nobody is ever locked by the global count.
GLOBAL_WINDOW_S = 60.0
GLOBAL_FREE = 10
GLOBAL_STEP_S = 0.25
GLOBAL_MAX_DELAY_S = 3.0
#: A source quiet this long is forgotten; at most MAX_SOURCES are kept, so a stranger opening
#: session after session cannot grow the file without bound.
FORGET_S = 86_400.0
MAX_SOURCES = 1_000
_RECENT_CAP = 1_000


def sources(session_id: str, address: str | None) -> list[str]:
    """The keys one login attempt is counted under: its browser session, and its client address
    when known. Streamlit gives no address on localhost or behind a proxy on the same host,
    where one address key would be everyone's, so then only the session counts."""
    return [f"session:{session_id}"] + ([f"address:{address}"] if address else [])


def lockout_remaining(store: Store, keys: list[str], now: float) -> float:
    """Seconds left of the longest lock on any of `keys` (0 when none).

    A corrupt or older-format file locks nothing (it is rewritten on the next failure).
    """
    entries = _entries(_read(store))
    return max([_num(entries.get(k, {}), "locked_until") - now for k in keys] + [0.0])


def record_failure(store: Store, keys: list[str], now: float) -> int:
    """Count one wrong password against each of `keys` and the global count.

    Returns the tries left before one of the keys locks: 0 when one just did.
    """

    def bump(old: Any) -> dict[str, Any]:
        entries = _prune(_entries(old), now)
        for key in keys:
            entries[key] = _bumped(entries.get(key, {}), _limit(key), now)
        return _doc(entries, [*_recent(old, now), now])

    doc = _update(store, bump)
    entries = doc["sources"]
    return min(0 if entries[k]["locked_until"] > now else _limit(k) - int(entries[k]["failures"])
               for k in keys)


def reset_failures(store: Store, keys: list[str]) -> None:
    """A right password clears its own sources' counts and locks, nobody else's."""
    _update(store, lambda old: _doc({k: e for k, e in _entries(old).items() if k not in keys},
                                    _recent(old, None)))


def global_delay(store: Store, now: float) -> float:
    """Seconds to wait before checking a password, from recent failures anywhere; capped."""
    excess = len(_recent(_read(store), now)) - GLOBAL_FREE
    return min(GLOBAL_MAX_DELAY_S, GLOBAL_STEP_S * max(0, excess))


def unlock(store: Store, now: float) -> int:
    """Clear every count and lock (`aion admin unlock`): the way back in, from the host, when
    an address the admin shares is locked. Returns how many sources were locked."""
    locked = 0

    def clear(old: Any) -> dict[str, Any]:
        nonlocal locked
        locked = sum(_num(e, "locked_until") > now for e in _entries(old).values())
        return _doc({}, [])

    _update(store, clear)
    return locked


def _limit(key: str) -> int:
    return ADDRESS_MAX_FAILURES if key.startswith("address:") else MAX_FAILURES


def _bumped(entry: dict[str, Any], limit: int, now: float) -> dict[str, float]:
    """One more failure for a source; at `limit` it locks, each lock twice as long as the last."""
    failures, strikes = _num(entry, "failures") + 1, _num(entry, "strikes")
    if failures < limit:
        return {"failures": failures, "strikes": strikes,
                "locked_until": _num(entry, "locked_until"), "last_failure": now}
    strikes += 1
    wait = min(MAX_LOCKOUT_S, BASE_LOCKOUT_S * 2.0 ** min(strikes - 1, 16))
    return {"failures": 0, "strikes": strikes, "locked_until": now + wait, "last_failure": now}


def _read(store: Store) -> Any:
    try:
        return store.read_json("admin_lockout")
    except CorruptFileError:
        return None


def _update(store: Store, fn: Any) -> dict[str, Any]:
    try:
        return store.update_json("admin_lockout", fn)
    except CorruptFileError:
        doc = fn(None)
        store.write_json("admin_lockout", doc)
        return doc


def _doc(entries: dict[str, dict[str, Any]], recent: list[float]) -> dict[str, Any]:
    return {"schema": 2, "sources": entries, "recent": recent[-_RECENT_CAP:]}


def _entries(doc: Any) -> dict[str, dict[str, Any]]:
    """The per-source entries; anything malformed (the older one-count format, a hand edit)
    is no entry, so it locks nobody."""
    raw = doc.get("sources") if isinstance(doc, dict) else None
    return {k: v for k, v in raw.items() if isinstance(v, dict)} if isinstance(raw, dict) else {}


def _recent(doc: Any, now: float | None) -> list[float]:
    """Failure times of the global count, those within GLOBAL_WINDOW_S of `now` (all if None)."""
    raw = doc.get("recent") if isinstance(doc, dict) else None
    times = [float(t) for t in raw if _is_number(t)] if isinstance(raw, list) else []
    return times if now is None else [t for t in times if now - GLOBAL_WINDOW_S < t <= now]


def _num(entry: dict[str, Any], name: str) -> float:
    value = entry.get(name)
    return float(value) if _is_number(value) else 0.0


def _prune(entries: dict[str, dict[str, Any]], now: float) -> dict[str, dict[str, Any]]:
    live = {k: e for k, e in entries.items()
            if _num(e, "locked_until") > now or _num(e, "last_failure") > now - FORGET_S}
    newest = sorted(live, key=lambda k: _num(live[k], "last_failure"), reverse=True)
    return {k: live[k] for k in newest[:MAX_SOURCES]}


# --------------------------------------------------------------------------- session expiry


def session_expires_at(now: float, ttl_s: float, cookie_expiry: float | None = None) -> float:
    """When an admin session that starts `now` must end.

    A session restored from the re-login cookie ends no later than the cookie itself, so a
    refresh never stretches a session beyond one TTL from the password being typed.
    """
    end = now + ttl_s
    return min(end, cookie_expiry) if cookie_expiry else end


def session_open(status: bool | None, expires_at: float | None, now: float) -> bool:
    """Whether to draw anything behind the gate: a login whose expiry we set and which is still
    ahead. A login without our expiry (the library's status alone) counts as closed."""
    return bool(status) and expires_at is not None and now < expires_at


# --------------------------------------------------------------------------- who may change what


#: Why a live-knob change was refused; the Config page shows it as it is.
KNOBS_LOCKED = ("changing the live knobs needs the admin login: log in on the Admin page "
                f"(user {ADMIN_USER}), then come back")


@dataclass(frozen=True)
class Access:
    """What one browser session may change. `gated`: an admin password is set
    (ADMIN_PASSWORD_HASH); `admin`: this session's admin login is open (`session_open`).

    Without a password (the demo) anyone who opens the app may change the live knobs, and the
    Config page says so; with one, only an admin session. Research backtests need no login
    (they write their own folder, never the live state): run_now bounds their queue instead.
    """

    gated: bool
    admin: bool

    @property
    def may_change_knobs(self) -> bool:
        return self.admin or not self.gated


def access(password_hash: str | None, status: bool | None, expires_at: float | None,
           now: float) -> Access:
    """This session's Access from the setting and its login state (kept server-side)."""
    return Access(bool(password_hash), session_open(status, expires_at, now))


def require_knobs(who: Access) -> None:
    """Raise RefusedError(KNOBS_LOCKED) unless `who` may change the live knobs: the check every
    write of bots_config.json from the app makes itself, whatever the page drew."""
    if not who.may_change_knobs:
        raise RefusedError(KNOBS_LOCKED)
