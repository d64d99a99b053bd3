"""Headlines of the synthetic market, whose tone leans on the hidden per-symbol signal.

Each symbol gets 0-3 headlines per session (about three a week), published between 07:00 and
19:00 New York time. A headline's tone is positive when NEWS_TONE_GAIN * signal + noise is
above NEWS_TONE_CUT, negative below -NEWS_TONE_CUT, neutral between; the templates use words
VADER (vaderSentiment) scores clearly (beats, strong, upgrade vs misses, weak, downgrade), so
a decayed average of VADER compound scores recovers much of the signal, as a real sentiment
feature should. The tone on session k uses the signal known at the close of k, which only
moves returns from session k+1 on: news carries information, never a peek at the same day's
bar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from aion_core.providers.base import NEWS_COLUMNS
from aion_core.providers.synthetic_random import Stream, session_draws

NEWS_TONE_GAIN = 1.0
NEWS_TONE_CUT = 0.5
COUNT_CUTS = (0.55, 0.88, 0.97)   # P(>=1), P(>=2), P(>=3) = 0.45, 0.12, 0.03: ~3 a week
NY_WINDOW_H = (7.0, 19.0)
SOURCES = ("Synthetic Wire", "Market Pulse", "Street Desk", "Ticker Daily")

POSITIVE = (
    "{s} beats estimates as profit surges to a record",
    "{s} rallies on strong guidance",
    "{s} wins major contract; analysts upgrade, stock gains",
    "{s} raises outlook on strong demand, shares jump",
    "{s} posts excellent quarter, beats forecasts",
    "Analysts upgrade {s}, citing great growth and strong margins",
    "{s} shares climb after upbeat earnings win",
    "{s} boosts dividend on solid profit growth",
)
NEGATIVE = (
    "{s} misses estimates as losses widen",
    "{s} plunges on weak guidance and downgrade",
    "{s} cuts outlook; shares fall on weak demand",
    "{s} hit by lawsuit and fraud probe, stock tumbles",
    "{s} warns of disappointing quarter, shares slump",
    "Analysts downgrade {s} on worries over falling sales",
    "{s} shares sink after poor results and loss",
    "{s} suspends dividend amid crisis fears",
)
NEUTRAL = (
    "{s} to present at industry conference",
    "{s} announces quarterly dividend date",
    "{s} schedules earnings call",
    "{s} names new chief financial officer",
    "{s} files annual report",
    "{s} completes previously announced acquisition",
)
_SLOTS = len(COUNT_CUTS)
_FIELDS = 1 + 4 * _SLOTS          # count, then (tone, template, time, source) per slot


def headlines(seed: int, symbols: list[str], columns: np.ndarray, days: pd.DatetimeIndex,
              k0: int, signal: np.ndarray) -> pd.DataFrame:
    """NEWS_COLUMNS frame for `days` (sessions k0.. consecutively) and the chosen symbols.

    symbols: the market's symbols in order; columns: indices of the symbols wanted;
    signal: (len(days), len(symbols)) hidden signal rows for those sessions.
    Sorted by (published_at, symbol); published_at is tz-aware UTC.
    """
    n = len(symbols)
    u = session_draws(seed, Stream.NEWS, k0, k0 + len(days), n * _FIELDS, "uniform")
    u = u.reshape(len(days), n, _FIELDS)[:, columns]
    sig = signal[:, columns]
    count = (u[..., :1] >= np.asarray(COUNT_CUTS)).sum(axis=-1)
    frames = [_slot(u[..., 1 + 4 * j: 5 + 4 * j], sig, count > j, days, columns, symbols)
              for j in range(_SLOTS)]
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["published_at", "symbol"], kind="stable").reset_index(drop=True)


def _slot(u: np.ndarray, sig: np.ndarray, active: np.ndarray, days: pd.DatetimeIndex,
          columns: np.ndarray, symbols: list[str]) -> pd.DataFrame:
    """The headlines of one slot: u is (days, symbols, 4) uniforms, active the slot's mask."""
    di, si = np.nonzero(active)
    tone = NEWS_TONE_GAIN * sig[di, si] + ndtri(np.clip(u[di, si, 0], 1e-12, 1 - 1e-12))
    pick = u[di, si, 1]
    texts = []
    for t, p, col in zip(tone, pick, columns[si], strict=True):
        pool = POSITIVE if t > NEWS_TONE_CUT else NEGATIVE if t < -NEWS_TONE_CUT else NEUTRAL
        texts.append(pool[int(p * len(pool))].format(s=symbols[col]))
    hours = NY_WINDOW_H[0] + u[di, si, 2] * (NY_WINDOW_H[1] - NY_WINDOW_H[0])
    local = days[di] + pd.to_timedelta(np.round(hours * 3600.0), unit="s")
    published = local.tz_localize("America/New_York").tz_convert("UTC").as_unit("ns")
    return pd.DataFrame({
        "symbol": [symbols[c] for c in columns[si]],
        "published_at": published,
        "headline": texts,
        "source": [SOURCES[int(x * len(SOURCES))] for x in u[di, si, 3]],
    }, columns=NEWS_COLUMNS)
