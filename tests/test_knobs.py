"""Typed knobs: the frozen values the bots read agree with the schema, field by field."""

from __future__ import annotations

import dataclasses

import pytest

from aion_core.bots.registry import BOTS
from aion_core.knobs import (
    DT_KNOBS,
    KNOB_TYPES,
    SWING_KNOBS,
    IntradayKnobs,
    SwingKnobs,
    effective_knobs,
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
    """A forecast of 0.1 bp must not queue a buy that slippage and fees make a sure loss."""
    knobs = effective_knobs({}, "swing", horizon)
    round_trip = 2 * (knobs.slippage_bps + knobs.fee_bps) / 1e4
    assert knobs.min_expected_return > round_trip
