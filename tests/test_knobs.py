"""Typed knobs: the frozen values the bots read agree with the schema, field by field; the
layers that set them (defaults < knobs.env / dt_knobs.env < bots_config.json) and the env
files' bad lines (issue 14, part 3)."""

from __future__ import annotations

import dataclasses

import pytest

from aion_core.bots.construction import entry_bar
from aion_core.bots.registry import BOTS
from aion_core.errors import KnobError
from aion_core.knobs.env_file import parse_knobs_env
from aion_core.knobs.schema import (
    DT_KNOBS,
    KNOB_TYPES,
    SWING_KNOBS,
    IntradayKnobs,
    SwingKnobs,
    effective_knobs,
    knob_layers,
    overrides,
    with_overrides,
)


@pytest.mark.parametrize("section,schema", [("swing", s) for s in SWING_KNOBS.values()]
                         + [("dt", DT_KNOBS)])
def test_typed_fields_are_exactly_the_schema(section, schema):
    typed = {f.name: str(f.type) for f in dataclasses.fields(KNOB_TYPES[section])}
    assert typed == {k.name: k.type.__name__ for k in schema}


def test_every_bot_gets_its_typed_knobs_with_the_schema_defaults():
    for bot in BOTS.values():
        knobs = bot.knobs(None)
        assert isinstance(knobs, SwingKnobs if bot.kind == "swing" else IntradayKnobs)
        assert dataclasses.asdict(knobs) == {k.name: k.default for k in bot.schema()}


def test_a_misspelt_knob_fails_loudly_and_values_are_frozen():
    knobs = effective_knobs({"swing": {"1w": {"stop_loss": 0.04}}}, "swing", "1w")
    assert knobs.stop_loss == 0.04 and knobs["stop_loss"] == 0.04
    with pytest.raises(AttributeError):
        _ = knobs.stop_los  # type: ignore[attr-defined]
    with pytest.raises(KeyError):
        _ = knobs["stop_los"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        knobs.stop_loss = 0.5  # type: ignore[misc]


def test_overrides_round_trip_through_the_document_shape():
    doc = with_overrides({}, "swing", "2w", {"max_positions": 3})
    doc = with_overrides(doc, "dt", None, {"stop_loss": 0.02})
    assert doc == {"swing": {"2w": {"max_positions": 3}}, "dt": {"stop_loss": 0.02}}
    assert overrides(doc, "swing", "2w") == {"max_positions": 3}
    assert overrides(doc, "swing", "1w") == {} and overrides(doc, "dt") == {"stop_loss": 0.02}
    assert with_overrides(with_overrides(doc, "swing", "2w", None), "dt", None, {}) == {}


@pytest.mark.parametrize("horizon", list(SWING_KNOBS))
def test_the_default_entry_bar_clears_a_round_trip_of_default_costs(horizon):
    """An excess forecast of 0.1 bp must not queue a buy that slippage and fees make a sure
    loss; the bar is in units of cost, so doubling the fees raises it."""
    knobs = effective_knobs({}, "swing", horizon)
    round_trip = 2 * (knobs.slippage_bps + knobs.fee_bps) / 1e4
    assert entry_bar(knobs) >= round_trip
    dearer = effective_knobs({"swing": {horizon: {"fee_bps": 2 * knobs.fee_bps}}}, "swing",
                             horizon)
    assert entry_bar(dearer) > entry_bar(knobs)


def test_a_retired_knob_is_refused_naming_what_replaced_it():
    with pytest.raises(KnobError, match="retired: the entry bar is now entry_cost_multiple"):
        effective_knobs({"swing": {"1w": {"min_expected_return": 0.002}}}, "swing", "1w")


# --------------------------------------------------------------------------- the env layers

KNOBS_ENV = """\
# every swing bot
STOP_LOSS=0.04
export max_positions = 7   # a trailing comment
SWING_1W_STOP_LOSS="0.03"

ENABLED=no
"""


def test_knobs_env_sets_every_swing_bot_and_a_horizon_line_wins_wherever_it_stands():
    doc = parse_knobs_env(KNOBS_ENV, "swing", "knobs.env")
    assert doc["swing"]["1w"] == {"stop_loss": 0.03, "max_positions": 7, "enabled": False}
    assert doc["swing"]["2w"] == doc["swing"]["4w"] == {
        "stop_loss": 0.04, "max_positions": 7, "enabled": False}
    assert isinstance(doc["swing"]["2w"]["max_positions"], int)
    first = parse_knobs_env("SWING_4W_TAKE_PROFIT=0.3\nTAKE_PROFIT=0.2\n", "swing", "knobs.env")
    assert first["swing"]["4w"] == {"take_profit": 0.3} and first["swing"]["1w"] == {
        "take_profit": 0.2}


@pytest.mark.parametrize("text,value", [(f"ALLOW_SHORT={t}", v) for t, v in [
    ("true", True), ("1", True), ("YES", True), ("false", False), ("0", False), ("no", False)]])
def test_booleans_are_read_in_their_usual_spellings(text, value):
    assert parse_knobs_env(text, "swing", "knobs.env")["swing"]["2w"]["allow_short"] is value


def test_dt_knobs_env_holds_the_intraday_bot_and_empty_files_hold_nothing():
    assert parse_knobs_env("MAX_POSITIONS=3\nflat_last_minutes=10", "dt", "dt_knobs.env") == {
        "dt": {"max_positions": 3, "flat_last_minutes": 10}}
    assert parse_knobs_env("# nothing\n\n", "dt", "dt_knobs.env") == {}
    assert parse_knobs_env("", "swing", "knobs.env") == {}


def test_precedence_default_then_env_then_bots_config():
    env = {**parse_knobs_env(KNOBS_ENV, "swing", "knobs.env"),
           **parse_knobs_env("STOP_LOSS=0.02", "dt", "dt_knobs.env")}
    config = {"swing": {"2w": {"stop_loss": 0.06}}}
    layers = knob_layers(config, "swing", "2w", env)
    assert layers["stop_loss"] == (0.06, "bots_config.json")  # bots_config beats knobs.env
    assert layers["max_positions"] == (7, "knobs.env")  # knobs.env beats the default
    assert layers["aggression"] == (1.0, "default")
    assert knob_layers(config, "swing", "1w", env)["stop_loss"] == (0.03, "knobs.env")
    assert knob_layers(config, "dt", None, env)["stop_loss"] == (0.02, "dt_knobs.env")
    knobs = effective_knobs(config, "swing", "2w", env)
    assert (knobs.stop_loss, knobs.max_positions, knobs.enabled) == (0.06, 7, False)
    assert BOTS["2w"].knobs(config, env) == knobs
    assert effective_knobs(None, "swing", "2w") == BOTS["2w"].knobs(None, None)


BAD_LINES = [
    ("STOP_LOSS=0.95", 1, "stop_loss", "less than or equal to 0.9"),  # out of range
    ("# ok\nSTOP_LOSS=-0.1", 2, "stop_loss", "greater than or equal"),
    ("\nMAX_POSITIONS=1.5", 2, "max_positions", "'1.5' is not an int"),
    ("ENABLED=maybe", 1, "enabled", "not true/false"),
    ("AGGRESSION=", 1, "aggression", "'' is not a float"),
    ("AGGRESSION=nan", 1, "aggression", "aggression"),
    ("FAST=1", 1, "fast", "unknown knob FAST"),
    ("SWING_3W_STOP_LOSS=0.1", 1, "swing_3w_stop_loss", "unknown knob SWING_3W_STOP_LOSS"),
    ("STOP_LOSS=0.04\nstop_loss=0.05", 2, "stop_loss", r"set again \(first on line 1\)"),
    ("MAX_POSITIONS=3\njust text", 2, None, "expected KNOB=VALUE"),
]


@pytest.mark.parametrize("text,line,knob,why", BAD_LINES)
def test_a_bad_line_names_the_file_the_line_and_the_knob(text, line, knob, why):
    with pytest.raises(KnobError, match=f"^/root/knobs.env line {line}: .*{why}") as err:
        parse_knobs_env(text, "swing", "/root/knobs.env")
    assert err.value.knob == knob
    if knob:
        assert knob in str(err.value).lower()


def test_a_swing_only_name_is_unknown_in_dt_knobs_env():
    with pytest.raises(KnobError, match="dt_knobs.env line 1: unknown knob ALLOW_SHORT"):
        parse_knobs_env("ALLOW_SHORT=1", "dt", "dt_knobs.env")
    with pytest.raises(KnobError, match="line 1: unknown knob SWING_1W_STOP_LOSS"):
        parse_knobs_env("SWING_1W_STOP_LOSS=0.1", "dt", "dt_knobs.env")
