"""FredProvider: the real fredapi pointed at a local server answering FRED's XML."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from fake_http import Reply, Request, serving

from aion_core.errors import ConfigurationError, ProviderError
from aion_core.providers.base import MACRO_COLUMNS
from aion_core.providers.fred import FredProvider
from aion_core.retry import Backoff

FIXTURES = Path(__file__).parent / "fixtures" / "fred"
OBSERVATIONS = "/fred/series/observations"
BAD_SERIES = Reply.text((FIXTURES / "error_bad_series.xml").read_text(), 400, "text/xml")
RATE_LIMIT = Reply.text((FIXTURES / "error_rate_limit.xml").read_text(), 429, "text/xml")


def recorded_dgs10(request: Request) -> Reply:
    """FRED's observations answer for DGS10, cut to the requested window as FRED does."""
    if request.query.get("series_id") != ["DGS10"]:
        return BAD_SERIES
    root = ET.fromstring((FIXTURES / "DGS10_2024-01.xml").read_bytes())
    lo = request.query.get("observation_start", ["0000"])[0]
    hi = request.query.get("observation_end", ["9999"])[0]
    for obs in list(root):
        if not lo <= obs.get("date") <= hi:
            root.remove(obs)
    return Reply(200, ET.tostring(root, xml_declaration=True, encoding="utf-8"),
                 {"Content-Type": "text/xml"})


@pytest.fixture
def server():
    with serving() as srv:
        yield srv


def _provider(server, sleeps: list[float] | None = None, **kwargs) -> FredProvider:
    sleep = sleeps.append if sleeps is not None else (lambda s: None)
    return FredProvider("test-key", root_url=server.url + "/fred",
                        backoff=Backoff(attempts=3, base_s=0.5, sleep=sleep), **kwargs)


def _recorded_values() -> dict[str, str]:
    root = ET.fromstring((FIXTURES / "DGS10_2024-01.xml").read_bytes())
    return {o.get("date"): o.get("value") for o in root}


def test_series_parses_recorded_xml_and_drops_missing_dots(server):
    server.route("GET", OBSERVATIONS, recorded_dgs10)
    result = _provider(server).series(["DGS10"], date(2024, 1, 1), date(2024, 1, 31))

    frame = result.data
    assert list(frame.columns) == MACRO_COLUMNS
    assert str(frame["date"].dtype) == "datetime64[ns]"
    recorded = _recorded_values()
    present = {d: float(v) for d, v in recorded.items() if v != "."}
    assert len(present) < len(recorded)  # the fixture does hold "." holidays
    assert dict(zip(frame["date"].dt.strftime("%Y-%m-%d"), frame["value"], strict=True)) == present
    sent = server.requests_to(OBSERVATIONS)[0].query
    assert sent["api_key"] == ["test-key"]
    assert sent["observation_start"] == ["2024-01-01"] and sent["observation_end"] == ["2024-01-31"]


def test_window_is_passed_to_fred(server):
    server.route("GET", OBSERVATIONS, recorded_dgs10)
    frame = _provider(server).series(["DGS10"], date(2024, 1, 10), date(2024, 1, 12)).data
    assert frame["date"].tolist() == list(pd.to_datetime(["2024-01-10", "2024-01-11",
                                                          "2024-01-12"]))


def test_bad_series_id_fails_that_series_only(server):
    server.route("GET", OBSERVATIONS, recorded_dgs10)
    result = _provider(server).series(["DGS10", "NOPE"], date(2024, 1, 1), date(2024, 1, 31))

    assert set(result.data["series"]) == {"DGS10"}
    assert "NOPE" in result.failed["NOPE"] and "does not exist" in result.failed["NOPE"]


def test_rate_limit_is_retried_with_backoff(server):
    server.route("GET", OBSERVATIONS, RATE_LIMIT, RATE_LIMIT, recorded_dgs10)
    sleeps: list[float] = []
    result = _provider(server, sleeps).series(["DGS10"], date(2024, 1, 1), date(2024, 1, 31))

    assert not result.failed and len(result.data) > 0
    assert sleeps == [0.5, 1.0]
    assert len(server.requests_to(OBSERVATIONS)) == 3


def test_a_silent_fred_times_out_and_is_retried(server):
    stall_s = 10.0
    server.route("GET", OBSERVATIONS, Reply.stalled(stall_s), recorded_dgs10)
    sleeps: list[float] = []
    started = time.monotonic()
    result = _provider(server, sleeps, timeout_s=0.3).series(["DGS10"], date(2024, 1, 1),
                                                             date(2024, 1, 31))
    assert time.monotonic() - started < stall_s / 2
    assert not result.failed and len(result.data) > 0
    assert sleeps == [0.5] and len(server.requests_to(OBSERVATIONS)) == 2


def test_a_fred_that_never_answers_fails_the_series_within_the_time_limit(server):
    stall_s = 10.0
    server.route("GET", OBSERVATIONS, Reply.stalled(stall_s))
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        _provider(server, timeout_s=0.3).series(["DGS10"], date(2024, 1, 1), date(2024, 1, 31))
    assert time.monotonic() - started < stall_s / 2
    assert "unavailable after 3 tries" in info.value.failures["DGS10"]


def test_everything_failing_raises_provider_error(server):
    server.route("GET", OBSERVATIONS, RATE_LIMIT)
    with pytest.raises(ProviderError) as info:
        _provider(server).series(["DGS10", "NOPE"], date(2024, 1, 1), date(2024, 1, 31))
    assert "rate limit" in info.value.failures["DGS10"].lower()
    assert set(info.value.failures) == {"DGS10", "NOPE"}


def test_malformed_answer_is_a_data_error_naming_the_series(server):
    server.route("GET", OBSERVATIONS, Reply.text("<observations><oops", 200, "text/xml"))
    with pytest.raises(ProviderError) as info:
        _provider(server).series(["DGS10"], date(2024, 1, 1), date(2024, 1, 31))
    assert "malformed" in info.value.failures["DGS10"]


def test_missing_key_names_the_setting():
    with pytest.raises(ConfigurationError, match="FRED_API_KEY"):
        FredProvider("")
