"""The interfaces every market, macro and news source implements.

All frames use the contract's columns. Dates are tz-naive midnight `datetime64[ns]` session
dates; intraday `ts` and news `published_at` are tz-aware UTC. A provider never returns a
silent empty success: items it could not deliver are listed in `FetchResult.failed` with a
reason, and when nothing at all could be delivered it raises ProviderError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import pandas as pd

from aion_core.config import DAILY_COLUMNS, INTRADAY_COLUMNS, MACRO_COLUMNS, NEWS_COLUMNS

__all__ = ["DAILY_COLUMNS", "INTRADAY_COLUMNS", "MACRO_COLUMNS", "NEWS_COLUMNS", "FetchResult",
           "MacroProvider", "MarketDataProvider", "NewsProvider"]


@dataclass
class FetchResult:
    """What a provider delivered (`data`) and what it could not (`failed`: item -> reason)."""

    data: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)


class MarketDataProvider(Protocol):
    name: str

    def daily_bars(self, symbols: Sequence[str], start: date, end: date) -> FetchResult:
        """DAILY_COLUMNS, adjusted prices, sessions in [start, end]."""

    def intraday_bars(self, symbols: Sequence[str], day: date) -> FetchResult:
        """INTRADAY_COLUMNS, 1-minute bars of session `day`; `ts` is the bar's START, UTC."""


class MacroProvider(Protocol):
    name: str

    def series(self, ids: Sequence[str], start: date, end: date) -> FetchResult:
        """MACRO_COLUMNS, one row per observation (observation date, not release date)."""


class NewsProvider(Protocol):
    name: str

    def headlines(self, symbols: Sequence[str], start: date, end: date) -> FetchResult:
        """NEWS_COLUMNS, published in [start, end] (New York dates)."""
