"""Admin password hashing (bcrypt, as streamlit-authenticator checks it)."""

from __future__ import annotations

import bcrypt

from aion_core.errors import ConfigurationError

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
