"""aion_core.store.documents: every JSON document of the data root checked on read and write,
refused with the file and the field named (issue 12's findings 3 and 4)."""

from __future__ import annotations

import json

import pytest
from faults import write_unchecked
from typer.testing import CliRunner

from aion_core.bots.registry import SWING_BOTS
from aion_core.cli import app
from aion_core.errors import CorruptFileError, KnobError
from aion_core.store import Store, append_jsonl, read_jsonl

TRADE = {"ts": "2026-01-05T21:00:00+00:00", "bot": "swing_1w", "symbol": "AAA", "side": "buy",
         "qty": 10, "price": 12.5, "fees": 0.1, "reason": "entry", "order_id": "o-1",
         "realized_pnl": 0.0}

# bots_config.json shapes the CLI once ran on with "internal error" or accepted silently.
BAD_KNOBS = [
    ([1, 2, 3], "JSON object"),
    ("hello", "JSON object"),
    ({"swing": [1]}, "swing must be an object"),
    ({"swing": {"1w": "fast"}}, "swing/1w must be an object"),
    ({"swing": {"1w": {"max_positions": "abc"}}}, "max_positions"),
    ({"swing": {"3w": {}}}, "unknown horizon"),
    ({"swings": {}}, "unknown section"),
    ({"swing": {"1w": {"stop_loss": float("nan")}}}, "stop_loss"),
    ({"dt": {"enabled": 1}}, "enabled"),
]


@pytest.mark.parametrize(("doc", "why"), BAD_KNOBS)
def test_a_bad_knobs_file_is_refused_whole_naming_the_file(store: Store, doc, why: str):
    write_unchecked(store.path("bots_config"), doc)
    with pytest.raises(KnobError, match=f"bots_config.json: .*{why}"):
        store.read_json("bots_config")
    with pytest.raises(KnobError, match=why):
        store.read_knobs(SWING_BOTS)


def test_the_cli_refuses_a_bad_knobs_file_in_one_line(demo_root: Store):
    write_unchecked(demo_root.path("bots_config"), {"swing": {"1w": "fast"}})
    result = CliRunner().invoke(app, ["bots", "run", "--data-dir", str(demo_root.root)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "bots_config.json" in lines[0] and "swing/1w" in lines[0]
    assert "internal error" not in result.output


@pytest.mark.parametrize(("key", "fields", "doc", "field"), [
    ("bot_state", {"horizon": "1w"}, {"bot": "swing_1w", "initial_cash": 1e5, "cash": "lots",
                                      "positions": []}, "cash"),
    ("bot_state", {"horizon": "1w"}, {"bot": "swing_1w", "cash": 1.0, "positions": {}},
     "initial_cash"),
    ("bot_state", {"horizon": "2w"}, {"bot": "swing_2w", "initial_cash": 1e5, "cash": 1.0,
                                      "positions": {"AAA": {"qty": "ten", "avg_price": 1.0}}},
     "positions.AAA.qty"),
    ("nightly_summary", {}, {"status": 5, "steps": "x"}, "run_id"),
    ("nightly_summary", {}, {"run_id": "r", "started_at": "t", "status": "great", "steps": []},
     "status"),
    ("rolling_brain", {}, {"generated_at": "t", "horizons": [], "models": {}, "symbols": {}},
     "as_of"),
    ("rolling_brain", {}, {"as_of": "2026-01-05", "generated_at": "t", "horizons": ["1w"],
                           "models": {}, "symbols": {"AAA": {"predictions": {"1w": {
                               "expected_return": 0.01, "confidence": 1.7, "score": 1.0,
                               "rank": 1}}}}}, "symbols.AAA.predictions.1w.confidence"),
    ("scheduler_heartbeat", {}, {"pid": "x", "at": "t", "status": "running", "jobs": {}}, "pid"),
    ("admin_settings", {}, {"kill_switch": "yes"}, "kill_switch"),
    ("job_status", {"job": "nightly"}, {"job": "nightly", "status": ""}, "status"),
])
def test_a_document_of_the_wrong_shape_names_the_file_and_the_field(
        store: Store, key: str, fields: dict, doc, field: str):
    path = write_unchecked(store.path(key, **fields), doc)
    with pytest.raises(CorruptFileError, match=f"{path.name}: field {field}") as err:
        store.read_json(key, **fields)
    assert err.value.path == path
    with pytest.raises(CorruptFileError, match=field):  # and the store never writes one
        store.write_json(key, doc, **fields)


def test_a_document_that_is_not_an_object_is_refused(store: Store):
    write_unchecked(store.path("nightly_summary"), ["ok"])
    with pytest.raises(CorruptFileError, match="expected a JSON object, got list"):
        store.read_json("nightly_summary")


@pytest.mark.parametrize(("change", "field"), [
    ({"qty": 0}, "qty"), ({"price": -1.0}, "price"), ({"side": "hold"}, "side"),
    ({"order_id": ""}, "order_id"), ({"fees": None}, "fees")])
def test_a_trade_line_that_is_no_fill_is_refused_naming_the_line(store: Store, change, field):
    path = store.path("bot_trades", horizon="1w", yyyymmdd="20260105")
    append_jsonl(path, [TRADE])
    path.write_text(path.read_text() + json.dumps({**TRADE, **change}) + "\n")
    with pytest.raises(CorruptFileError, match=f"line 2: field {field}"):
        read_jsonl(path)
    with pytest.raises(CorruptFileError, match=field):
        append_jsonl(path, [{**TRADE, **change}])


def test_a_trade_line_missing_a_field_is_refused(store: Store):
    path = store.path("bot_trades", horizon="1w", yyyymmdd="20260105")
    write_unchecked(path, {k: v for k, v in TRADE.items() if k != "order_id"})
    with pytest.raises(CorruptFileError, match="line 1: field order_id: Field required"):
        read_jsonl(path)


def test_extra_keys_from_a_newer_writer_are_kept(store: Store):
    doc = {"kill_switch": True, "added_later": [1, 2]}
    store.write_json("admin_settings", doc)
    assert store.read_json("admin_settings") == doc
