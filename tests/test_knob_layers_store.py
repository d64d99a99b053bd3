"""The knob layers read from a data root: knobs.env and dt_knobs.env beside bots_config.json
reach every job through Store.read_knobs, and a bad line stops a run naming the file, the line
and the knob (issue 14, part 3)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from aion_core.bots.registry import BOTS, INTRADAY_BOT, SWING_BOTS
from aion_core.cli import app
from aion_core.errors import KnobError
from aion_core.store import Store, write_text


def _env(store: Store, swing: str | None = None, dt: str | None = None) -> None:
    if swing is not None:
        write_text(store.path("knobs_env"), swing)
    if dt is not None:
        write_text(store.path("dt_knobs_env"), dt)


def test_the_env_files_live_beside_bots_config(store: Store):
    folder = store.path("bots_config").parent
    assert store.path("knobs_env") == folder / "knobs.env"
    assert store.path("dt_knobs_env") == folder / "dt_knobs.env"


def test_no_env_files_is_the_defaults_and_bots_config(store: Store):
    assert store.read_knob_env() == {}
    store.write_json("bots_config", {"swing": {"1w": {"max_positions": 4}}})
    assert store.read_knobs(SWING_BOTS)["1w"].max_positions == 4


def test_read_knobs_layers_defaults_env_files_and_bots_config(store: Store):
    _env(store, swing="MAX_POSITIONS=7\nSTOP_LOSS=0.04\nSWING_4W_STOP_LOSS=0.08\n",
         dt="MAX_POSITIONS=2\n")
    store.write_json("bots_config", {"swing": {"2w": {"stop_loss": 0.06}}})
    knobs = store.read_knobs(BOTS.values())
    assert [knobs[h].max_positions for h in ("1w", "2w", "4w", "dt")] == [7, 7, 7, 2]
    assert [knobs[h].stop_loss for h in ("1w", "2w", "4w")] == [0.04, 0.06, 0.08]
    assert knobs["dt"].stop_loss == INTRADAY_BOT.knobs(None).stop_loss  # the default
    # A backtest's own document replaces bots_config.json, above the same env files.
    given = store.read_knobs(SWING_BOTS, {"swing": {"1w": {"max_positions": 3}}})
    assert (given["1w"].max_positions, given["2w"].max_positions) == (3, 7)
    assert given["2w"].stop_loss == 0.04


@pytest.mark.parametrize("key,text,line,knob", [
    ("knobs_env", "STOP_LOSS=0.04\n\nTAKE_PROFIT=7", 3, "take_profit"),
    ("dt_knobs_env", "# intraday\nMAX_POSITION=3", 2, "max_position"),
])
def test_a_bad_line_stops_every_reader_naming_file_line_and_knob(store: Store, key, text,
                                                                 line, knob):
    write_text(store.path(key), text)
    where = f"{store.path(key)} line {line}: "
    with pytest.raises(KnobError, match=where) as err:
        store.read_knob_env()
    assert err.value.knob == knob and knob in str(err.value)
    with pytest.raises(KnobError, match=where):
        store.read_knobs([INTRADAY_BOT])  # the intraday bot too, whichever file is bad


def test_the_bots_command_refuses_a_bad_env_line_in_one_line(demo_root: Store):
    _env(demo_root, swing="AGGRESSION=lots\n")
    result = CliRunner().invoke(app, ["bots", "run", "--data-dir", str(demo_root.root)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "knobs.env line 1" in lines[0] and "aggression" in lines[0]
