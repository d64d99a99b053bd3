"""Random draws for the synthetic market, addressed by (seed, stream, session index).

WHY this shape: the nightly job fetches from the synthetic provider day after day, so the
history it has stored must never change under it. Every draw is therefore a pure function
of the seed, a named stream and the session's index counted from a fixed origin: extending
`end` only appends sessions, a shorter `years` only trims the front. Draws come in blocks of
BLOCK sessions (one generator per block, not per session, to keep generation fast), and each
block is drawn symbol-major, so symbol i's numbers do not depend on how many symbols were
asked for: the first 50 symbols of a 500-symbol market are the 50-symbol market.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

BLOCK = 256
"""Sessions per generator block (about a trading year)."""


class Stream(IntEnum):
    """One independent random stream per kind of draw; values are part of the seed material."""

    TICKERS = 1
    STATIC = 2
    REGIME = 3
    MARKET = 4
    SECTOR = 5
    IDIO = 6
    SIGNAL = 7
    GAP = 8
    HIGH = 9
    LOW = 10
    VOLUME = 11
    MACRO_DAILY = 12
    MACRO_MONTHLY = 13
    NEWS = 14
    INTRADAY = 15


def seed_material(seed: int) -> int:
    """Map any int (negative too) to the non-negative entropy SeedSequence accepts."""
    return seed % (1 << 64)


def generator(seed: int, stream: Stream, *key: int) -> np.random.Generator:
    """A generator for one (seed, stream, key...) address."""
    return np.random.default_rng([seed_material(seed), int(stream), *key])


def session_draws(seed: int, stream: Stream, k0: int, k1: int, width: int,
                  kind: str = "normal") -> np.ndarray:
    """Draws for sessions k0..k1-1 (indices from the origin) and `width` columns.

    Returns a (k1 - k0, width) float array: standard normals (`kind="normal"`) or uniforms on
    [0, 1) (`kind="uniform"`). Row k depends only on (seed, stream, k); column j only on j.
    """
    if k1 <= k0:
        return np.empty((0, width))
    first, last = k0 // BLOCK, (k1 - 1) // BLOCK
    parts = []
    for block in range(first, last + 1):
        rng = generator(seed, stream, block)
        raw = rng.standard_normal((width, BLOCK)) if kind == "normal" else \
            rng.random((width, BLOCK))
        parts.append(raw.T)
    out = np.concatenate(parts) if len(parts) > 1 else parts[0]
    off = k0 - first * BLOCK
    return out[off: off + (k1 - k0)]
