"""aion_core.config: the contract's paths, settings from .env, and the one knob schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aion_core import config
from aion_core.config import DT_PATHS, HORIZONS, PATHS, load_settings, resolve
from aion_core.errors import ConfigurationError, CorruptFileError, KnobError
from aion_core.knobs.schema import (
    DT_KNOBS,
    SWING_KNOBS,
    effective_knobs,
    validate_bots_config,
    validate_knobs,
)

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT.parent / "shared" / "CONTRACT.md"


def test_paths_match_the_contract_table():
    expected = {
        "raw_daily": "raw/daily/{symbol}.parquet", "raw_macro": "raw/macro/{series}.parquet",
        "news_cache": "raw/news/{day}.json",
        "ml_datasets": "ml_data/datasets/training_data_daily.parquet",
        "rolling_brain": "da_brains/core/rolling_brain.json.gz",
        "aion_brain": "da_brains/core/aion_brain.json.gz",
        "nightly_logs": "logs/nightly/nightly_{yyyymmdd}.log",
        "nightly_summary": "logs/nightly/last_nightly_summary.json",
        "bots_config": "ml_data/config/bots_config.json",
        "stock_cache_master": "stock_cache/master", "ml_data": "ml_data",
        "dashboard_cache": "cache/dashboard",
    }
    for key, template in expected.items():
        assert PATHS[key] == template
    assert DT_PATHS["bars_intraday_dir"] == "raw/intraday"
    assert DT_PATHS["rolling"] == "da_brains/intraday/rolling_intraday.json.gz"
    assert DT_PATHS["dt_brain_file"] == "da_brains/intraday/dt_brain.json.gz"
    assert DT_PATHS["dt_state_file"] == "da_brains/intraday/dt_state.json.gz"
    assert DT_PATHS["dt_trades_file"] == "da_brains/intraday/dt_trades.jsonl"
    assert resolve(Path("/r"), "bot_state", horizon="2w") == \
        Path("/r/stock_cache/master/bot/rolling_2w.json.gz")
    assert resolve(Path("/r"), "bot_trades", horizon="1w", yyyymmdd="20261124") == \
        Path("/r/ml_data/bot_logs/1w/trades_20261124.jsonl")


@pytest.mark.skipif(not CONTRACT.exists(), reason="../shared/CONTRACT.md is not present")
def test_every_contract_path_key_exists():
    keys = re.findall(r"^\| (\w+)(?: \(DT\))? \| `", CONTRACT.read_text(), flags=re.M)
    assert len(keys) >= 15
    for key in keys:
        assert key in PATHS or key in DT_PATHS, key


@pytest.mark.parametrize("field,value", [
    ("symbol", "../../etc/passwd"), ("symbol", "a/b"), ("day", "2026-13-01"),
    ("day", "2026-01-01/../../x"), ("yyyymmdd", "2026011"), ("horizon", "3w"),
    ("series", "../X"),
])
def test_resolve_refuses_values_that_could_leave_the_root(field: str, value: str):
    key = {"symbol": "raw_daily", "day": "news_cache", "yyyymmdd": "nightly_logs",
           "horizon": "bot_state", "series": "raw_macro"}[field]
    with pytest.raises(ConfigurationError):
        resolve(Path("/r"), key, **{field: value})


def test_a_link_out_of_the_root_is_refused_for_reading_and_writing(tmp_path: Path):
    """Finding 1: `logs/nightly/nightly_20991231.log -> /etc/passwd` was shown to visitors."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("root:x:0:0")
    logs = resolve(root, "nightly_logs", yyyymmdd="20991231").parent
    logs.mkdir(parents=True)
    (logs / "nightly_20991231.log").symlink_to(outside / "secret.txt")
    with pytest.raises(CorruptFileError, match="outside the data root"):
        resolve(root, "nightly_logs", yyyymmdd="20991231")
    (root / "raw").mkdir()
    (root / "raw" / "daily").symlink_to(outside, target_is_directory=True)  # a folder, too
    with pytest.raises(CorruptFileError, match="outside the data root"):
        resolve(root, "raw_daily", symbol="AAPL")
    assert "root:x" not in str(pytest.raises(CorruptFileError, resolve, root, "raw_daily",
                                             symbol="AAPL").value)


def test_links_that_stay_inside_the_root_and_a_linked_root_are_fine(tmp_path: Path):
    real = tmp_path / "disk" / "aion"
    (real / "archive").mkdir(parents=True)
    (real / "logs" / "nightly").mkdir(parents=True)
    (real / "logs" / "nightly" / "nightly_20260105.log").symlink_to(real / "archive" / "n.log")
    linked = tmp_path / "data"
    linked.symlink_to(real, target_is_directory=True)
    assert resolve(linked, "nightly_logs", yyyymmdd="20260105").name == "nightly_20260105.log"


def test_settings_read_env_file_and_environment_wins(tmp_path: Path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("AION_DATA_DIR=/from/file\nADMIN_TOKEN_TTL_S=120\nAION_UNIVERSE=aapl, msft\n")
    monkeypatch.setenv("ADMIN_TOKEN_TTL_S", "600")
    s = load_settings(env_file=str(env))
    assert s.aion_data_dir == Path("/from/file")
    assert s.admin_token_ttl_s == 600
    assert s.universe == ["AAPL", "MSFT"]
    assert load_settings("/cli/root", env_file=str(env)).aion_data_dir == Path("/cli/root")


def test_bad_setting_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("ADMIN_TOKEN_TTL_S", "soon")
    with pytest.raises(ConfigurationError, match="ADMIN_TOKEN_TTL_S"):
        load_settings(env_file=None)


def test_missing_key_names_the_key(monkeypatch):
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="FRED_API_KEY"):
        load_settings(env_file=None).require("fred_api_key")


def test_masked_settings_never_show_secrets(monkeypatch):
    monkeypatch.setenv("ALPACA_SECRET_KEY", "sekrit-value")
    shown = config.masked_settings(load_settings(env_file=None))
    assert "sekrit-value" not in str(shown)
    assert shown["ALPACA_SECRET_KEY"].endswith("(set)")


def test_every_setting_is_documented_in_env_example_and_readme():
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in config.Settings.model_fields:
        assert re.search(rf"^{name.upper()}=", example, flags=re.M), name
        assert f"`{name.upper()}`" in readme, name


def test_knob_schema_covers_contract_knobs_with_sane_bounds():
    required = {"enabled", "aggression", "max_positions", "max_alloc", "min_confidence",
                "stop_loss", "take_profit"}
    for knobs in (*SWING_KNOBS.values(), DT_KNOBS):
        names = [k.name for k in knobs]
        assert required <= set(names)
        assert len(names) == len(set(names))
        for k in knobs:
            assert k.help
            if k.type is not bool:
                assert k.min <= k.default <= k.max, k.name
                assert k.step and k.step > 0
    assert set(SWING_KNOBS) == set(HORIZONS)


def test_out_of_range_or_unknown_knobs_are_refused_naming_the_knob():
    with pytest.raises(KnobError, match="max_positions") as err:
        validate_knobs("swing", {"max_positions": 10_000}, "1w")
    assert err.value.knob == "max_positions"
    with pytest.raises(KnobError, match="stop_los"):
        validate_knobs("swing", {"stop_los": 0.1}, "2w")
    with pytest.raises(KnobError, match="enabled"):
        validate_knobs("dt", {"enabled": "yes"})
    with pytest.raises(KnobError, match="5w"):
        validate_bots_config({"swing": {"5w": {}}})


def test_effective_knobs_merge_overrides_on_defaults():
    knobs = effective_knobs({"swing": {"4w": {"max_positions": 3}}, "dt": {"stop_loss": 0.02}},
                            "swing", "4w")
    assert knobs["max_positions"] == 3 and isinstance(knobs["max_positions"], int)
    assert knobs["aggression"] == 1.0
    assert effective_knobs(None, "dt")["stop_loss"] == next(
        k.default for k in DT_KNOBS if k.name == "stop_loss")
    assert effective_knobs({"dt": {"stop_loss": 0.02}}, "dt")["stop_loss"] == 0.02
