"""Macro series from FRED through fredapi.

fredapi turns every HTTP error into a bare ValueError carrying FRED's message, so this
adapter sorts them back out: a rate limit or an unreachable server is temporary (retried
with backoff), an unknown series or a malformed answer is that series' failure. FRED marks a
missing observation (a holiday, say) with "."; those rows are dropped, not stored as NaN,
so downstream as-of joins carry the last real value.

fredapi opens its URLs with `urlopen(url)` and no timeout, so a silent FRED would block the
nightly forever; each request here waits at most the read limit of retry.HTTP_TIMEOUT_S (or
`timeout_s`), and the silence is retried like an outage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from functools import partial
from urllib.error import HTTPError, URLError
from urllib.request import urlopen
from xml.etree.ElementTree import Element, ParseError, fromstring

import pandas as pd

from aion_core.errors import ConfigurationError, DataError, ProviderError, TemporaryError
from aion_core.providers.base import MACRO_COLUMNS, FetchResult
from aion_core.retry import Backoff, http_timeout, with_retry

_RATE_LIMIT = re.compile(r"Too Many Requests|Rate Limit", re.IGNORECASE)
_FREDAPI_FETCH = "_Fred__fetch_data"  # fredapi's private `Fred.__fetch_data`, name-mangled


def _fetch_xml(api_key: str, timeout_s: float, url: str) -> Element:
    """fredapi's own fetch (fredapi 0.5's `Fred.__fetch_data`) plus the one thing it lacks:
    a time limit, which urlopen applies to the connect and to every read.

    fredapi has no timeout option; the process-wide socket default would bound every other
    socket of the process too, so the one Fred instance's fetch is replaced by this copy."""
    try:
        with urlopen(f"{url}&api_key={api_key}", timeout=timeout_s) as response:
            return fromstring(response.read())
    except HTTPError as exc:  # FRED's error answer: fredapi's ValueError with its message
        raise ValueError(fromstring(exc.read()).get("message")) from exc


class FredProvider:
    """MacroProvider over `fredapi.Fred`; `root_url` points it elsewhere (a test server),
    `timeout_s` shortens the read time limit (None: retry.HTTP_TIMEOUT_S)."""

    name = "fred"

    def __init__(self, api_key: str, root_url: str | None = None,
                 backoff: Backoff | None = None, timeout_s: float | None = None) -> None:
        if not api_key:
            raise ConfigurationError("FRED_API_KEY is not set: add it to .env or the environment")
        from fredapi import Fred

        self._fred = Fred(api_key=api_key)
        if not callable(getattr(self._fred, _FREDAPI_FETCH, None)):
            raise ConfigurationError("this fredapi version has no Fred.__fetch_data to bound "
                                     "with a time limit: install fredapi 0.5")
        setattr(self._fred, _FREDAPI_FETCH,
                partial(_fetch_xml, api_key, http_timeout(timeout_s)[1]))
        if root_url is not None:
            self._fred.root_url = root_url
        self.backoff = backoff or Backoff()

    def series(self, ids: Sequence[str], start: date, end: date) -> FetchResult:
        """MACRO_COLUMNS (`series, date, value`): observations dated in [start, end].

        `date` is the tz-naive observation date (not the release date), `value` float in the
        series' own units. Raises ProviderError when no series could be fetched.
        """
        frames, failed = [], {}
        for sid in ids:
            try:
                values = with_retry(lambda sid=sid: self._get(sid, start, end), self.backoff,
                                    f"FRED {sid}")
            except TemporaryError as exc:
                failed[sid] = f"FRED unavailable after {self.backoff.attempts} tries: {exc}"
                continue
            except DataError as exc:
                failed[sid] = str(exc)
                continue
            frames.append(values)
        if not frames:
            raise ProviderError("FRED delivered no series: " + "; ".join(
                f"{s}: {r}" for s, r in sorted(failed.items())[:5]), failed)
        return FetchResult(pd.concat(frames, ignore_index=True), failed)

    def _get(self, sid: str, start: date, end: date) -> pd.DataFrame:
        try:
            raw = self._fred.get_series(sid, observation_start=start, observation_end=end)
        except ValueError as exc:  # fredapi's wrapper around FRED's error answer
            if _RATE_LIMIT.search(str(exc)):
                raise TemporaryError(f"FRED rate limit: {exc}") from exc
            raise DataError(f"FRED refused series {sid}: {exc}") from exc
        except ParseError as exc:
            raise DataError(f"FRED answered series {sid} with malformed XML: {exc}") from exc
        except (URLError, TimeoutError, ConnectionError) as exc:  # down, refused or silent
            raise TemporaryError(f"FRED unreachable: {exc}") from exc
        observed = raw.dropna()
        if observed.empty:
            raise DataError(f"FRED has no observations of {sid} in {start} .. {end}")
        frame = pd.DataFrame({"series": sid,
                              "date": pd.DatetimeIndex(observed.index).astype("datetime64[ns]"),
                              "value": observed.to_numpy(dtype=float)})
        return frame[MACRO_COLUMNS]
