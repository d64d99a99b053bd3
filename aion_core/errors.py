"""Errors typed by what the caller should do with them.

- TemporaryError: try again later (rate limits, timeouts); adapters retry these with backoff.
- ConfigurationError: stop and tell the user what to set (a missing key, a bad setting).
- RefusedError: skip this one thing and log why (a risk rule, a disabled bot).
- DataError / CorruptFileError: an input is unusable; the message names it.
Every message is written for a person: one line, naming the thing and what to do.
"""

from __future__ import annotations

from pathlib import Path


class AionError(Exception):
    """Base of the errors whose message is shown to the user as is."""


class TemporaryError(AionError):
    """Transient failure; retrying later may succeed."""


class ConfigurationError(AionError):
    """A setting is missing or wrong; nothing will work until it is fixed."""


class KnobError(ConfigurationError):
    """A bot knob is unknown or outside the schema's range; `path`, when known, is the file
    that set it (bots_config.json, knobs.env, dt_knobs.env), so a page can say which."""

    def __init__(self, message: str, knob: str | None = None,
                 path: Path | str | None = None) -> None:
        super().__init__(message)
        self.knob = knob
        self.path = Path(path) if path is not None else None


class RefusedError(AionError):
    """An action was refused by a rule (risk limit, kill switch, live-trading guard)."""


class BusyError(RefusedError):
    """Another run of the same job holds its lock; this start was refused, nothing changed."""


class DataError(AionError):
    """Input data is unusable (empty answer, malformed payload, missing columns)."""


class ProviderError(DataError):
    """A provider could not deliver; `failures` maps each failed item to its reason."""

    def __init__(self, message: str, failures: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.failures = failures or {}


class CorruptFileError(DataError):
    """A file in the data root exists but cannot be parsed; the message names it."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"corrupt file {path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def causes(failed: dict[str, str], shown: int = 5) -> str:
    """`reason: SYM, SYM, ...` once per distinct reason: 500 symbols down for one cause (the
    network) is one line, not 500."""
    by_reason: dict[str, list[str]] = {}
    for sym, reason in sorted(failed.items()):
        by_reason.setdefault(reason, []).append(sym)
    return "; ".join(f"{reason}: {', '.join(syms[:shown])}"
                     + (f" and {len(syms) - shown} more" if len(syms) > shown else "")
                     for reason, syms in sorted(by_reason.items(), key=lambda kv: -len(kv[1])))
