"""Configuration: the data root's layout, settings from `.env`, and the one knob schema.

Three kinds of configuration, each with one source of truth:
- where files live (PATHS / DT_PATHS, exactly CONTRACT.md's table, relative to the data root);
- deployment settings (Settings: `.env` and the environment, environment wins);
- bot knobs (SWING_KNOBS / DT_KNOBS: type, default, bounds and help for each knob), read by the
  bots, the config page's sliders, `.env.example` and the README alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field as PydField
from pydantic import ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from aion_core.errors import ConfigurationError, KnobError

# --------------------------------------------------------------------------- the data root

#: CONTRACT.md's PATHS, relative to the data root; `{fields}` are filled by `resolve`.
#: Keys after `dashboard_cache` are additions (the contract allows added fields).
PATHS: Mapping[str, str] = {
    "raw_daily": "raw/daily/{symbol}.parquet",
    "raw_macro": "raw/macro/{series}.parquet",
    "news_cache": "raw/news/{day}.json",
    "ml_datasets": "ml_data/datasets/training_data_daily.parquet",
    "ml_models": "ml_data/models/lgbm_cache/lgbm_{horizon}.txt",
    "ml_models_meta": "ml_data/models/lgbm_cache/lgbm_{horizon}.json",
    "rolling_brain": "da_brains/core/rolling_brain.json.gz",
    "aion_brain": "da_brains/core/aion_brain.json.gz",
    "nightly_logs": "logs/nightly/nightly_{yyyymmdd}.log",
    "nightly_summary": "logs/nightly/last_nightly_summary.json",
    "bots_config": "ml_data/config/bots_config.json",
    "stock_cache_master": "stock_cache/master",
    "bot_state": "stock_cache/master/bot/rolling_{horizon}.json.gz",
    "ml_data": "ml_data",
    "bot_trades": "ml_data/bot_logs/{horizon}/trades_{yyyymmdd}.jsonl",
    "dashboard_cache": "cache/dashboard",
    "admin_settings": "ml_data/config/admin_settings.json",
    "synthetic_spec": "raw/synthetic_spec.json",
    "prediction_history": "da_brains/core/prediction_history.parquet",
    "scheduler_heartbeat": "logs/scheduler/heartbeat.json",
    "job_status": "logs/jobs/{job}.json",
    "job_log": "logs/jobs/{job}.log",
    "job_lock": "logs/jobs/{job}.lock",
    "admin_lockout": "logs/admin/lockout.json",
}

#: CONTRACT.md's DT_PATHS (the intraday bot), relative to the data root.
DT_PATHS: Mapping[str, str] = {
    "bars_intraday_dir": "raw/intraday",
    "bars_intraday": "raw/intraday/{day}.parquet",
    "rolling": "da_brains/intraday/rolling_intraday.json.gz",
    "dt_brain_file": "da_brains/intraday/dt_brain.json.gz",
    "dt_state_file": "da_brains/intraday/dt_state.json.gz",
    "dt_trades_file": "da_brains/intraday/dt_trades.jsonl",
}

HORIZONS: dict[str, int] = {"1w": 5, "2w": 10, "4w": 20}
"""Swing horizons and their length in trading sessions (labels run close t -> close t+h)."""

# Each template field accepts only what cannot climb out of its folder.
_FIELD_PATTERNS = {
    "symbol": re.compile(r"^[A-Z0-9][A-Z0-9.\-=^]{0,19}$"),
    "series": re.compile(r"^[A-Z0-9_]{1,40}$"),
    "day": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "yyyymmdd": re.compile(r"^\d{8}$"),
    "horizon": re.compile(r"^(1w|2w|4w)$"),
    "job": re.compile(r"^[a-z][a-z0-9_]{0,39}$"),
}


def _check_field(name: str, value: str) -> str:
    pattern = _FIELD_PATTERNS[name]
    if not pattern.match(value) or ".." in value:
        raise ConfigurationError(f"invalid {name} {value!r} for a data-root path")
    if name in ("day", "yyyymmdd"):
        fmt = "%Y-%m-%d" if name == "day" else "%Y%m%d"
        from datetime import datetime

        try:
            datetime.strptime(value, fmt)
        except ValueError as exc:
            raise ConfigurationError(f"invalid {name} {value!r}: not a calendar date") from exc
    return value


def resolve(root: Path, key: str, **fields: Any) -> Path:
    """Absolute path of PATHS/DT_PATHS entry `key` under `root`, its fields checked.

    Fields are validated against strict patterns so that no caller-supplied value (a symbol
    from a provider, a date from a page) can point outside the data root.
    """
    template = PATHS.get(key) or DT_PATHS.get(key)
    if template is None:
        raise KeyError(f"unknown data-root path {key!r}")
    clean = {}
    for name, value in fields.items():
        if isinstance(value, date):
            value = value.strftime("%Y%m%d" if name == "yyyymmdd" else "%Y-%m-%d")
        clean[name] = _check_field(name, str(value))
    return Path(root) / template.format(**clean)


# --------------------------------------------------------------------------- settings

Provider = Literal["synthetic", "yfinance"]


class Settings(BaseSettings):
    """Deployment settings from `.env` and the environment (the environment wins).

    Secrets are held here only; nothing in the package logs or writes them.
    """

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    aion_data_dir: Path = PydField(Path("./data"), description="the data root")
    aion_provider: Provider = PydField("synthetic", description="market data: synthetic|yfinance")
    aion_universe: str = PydField(
        "", description="comma-separated symbols; empty = the synthetic universe / stored symbols"
    )
    aion_timezone: str = PydField("America/New_York", description="the scheduler's time zone")
    aion_refresh_s: int = PydField(5, ge=1, le=3600, description="app auto-refresh, seconds")
    aion_retrain_every: int = PydField(
        21, ge=1, le=252, description="replay: retrain the models every N sessions"
    )
    admin_password_hash: str = PydField(
        "", description="bcrypt hash from `aion admin hash-password`"
    )
    admin_token_ttl_s: int = PydField(3600, ge=60, description="admin session lifetime, seconds")
    admin_cookie_key: str = PydField(
        "", description="admin cookie signing key (>= 32 chars); generated per process if empty"
    )
    fred_api_key: str = PydField("", description="FRED API key (macro series)")
    alpaca_api_key: str = PydField("", description="Alpaca API key id (bars, news, trading)")
    alpaca_secret_key: str = PydField("", description="Alpaca secret key")
    alpaca_paper: bool = PydField(True, description="Alpaca paper trading; live needs false here "
                                  "AND --broker alpaca-live")
    alpaca_max_order_notional: float = PydField(
        25_000.0, gt=0, description="largest notional (USD) one Alpaca order may have; "
        "larger orders are refused, not shrunk")

    @property
    def universe(self) -> list[str]:
        return [s.strip().upper() for s in self.aion_universe.split(",") if s.strip()]

    def require(self, *names: str) -> None:
        """Raise one clear error naming the first missing setting among `names`."""
        for name in names:
            if not getattr(self, name):
                raise ConfigurationError(
                    f"{name.upper()} is not set: add it to .env or the environment"
                )


SECRET_SETTINGS = frozenset(
    {"admin_password_hash", "admin_cookie_key", "fred_api_key", "alpaca_api_key",
     "alpaca_secret_key"}
)


def load_settings(data_dir: Path | str | None = None, env_file: str | None = ".env") -> Settings:
    """Settings with an optional `--data-dir` override; a bad value is one clear error."""
    try:
        settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]).upper()
        raise ConfigurationError(f"setting {name}: {first['msg']}") from exc
    if data_dir is not None:
        settings = settings.model_copy(update={"aion_data_dir": Path(data_dir)})
    return settings


def masked_settings(settings: Settings) -> dict[str, Any]:
    """Settings as shown to an admin: secrets replaced by whether they are set."""
    shown: dict[str, Any] = {}
    for name, value in settings.model_dump().items():
        if name in SECRET_SETTINGS:
            shown[name.upper()] = "•••• (set)" if value else "(not set)"
        else:
            shown[name.upper()] = str(value) if isinstance(value, Path) else value
    return shown


# --------------------------------------------------------------------------- the knob schema


@dataclass(frozen=True)
class Knob:
    """One bot knob: the bots, the config page and the docs all read this."""

    name: str
    type: type
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    help: str = ""


def _swing_knobs(horizon: str) -> tuple[Knob, ...]:
    days = HORIZONS[horizon]
    # Wider stops and targets for longer holds: a 4-week move is about twice a 1-week one.
    scale = (days / 5) ** 0.5
    return (
        Knob("enabled", bool, True, help="Trade at all. Off: the bot runs, places no order."),
        Knob("aggression", float, 1.0, 0.1, 2.0, 0.05,
             "Scales each position's size (1.0 = max_alloc of equity)."),
        Knob("max_positions", int, 10, 1, 100, 1, "Most names held at once."),
        Knob("max_alloc", float, 0.10, 0.01, 0.5, 0.01,
             "Largest share of equity put in one name, before aggression."),
        # Confidence is P(the name lands on its predicted side of the median); a useful
        # 1w model puts its best names at 0.52-0.60, so 0.52 keeps the top of the list.
        Knob("min_confidence", float, 0.52, 0.0, 1.0, 0.01,
             "Ignore predictions whose calibrated confidence is below this."),
        Knob("min_expected_return", float, 0.0, -0.05, 0.10, 0.001,
             "Enter only when the predicted return over the horizon exceeds this."),
        Knob("stop_loss", float, round(0.05 * scale, 3), 0.005, 0.5, 0.005,
             "Sell when a position has lost this fraction since entry."),
        Knob("take_profit", float, round(0.10 * scale, 3), 0.005, 1.0, 0.005,
             "Sell when a position has gained this fraction since entry."),
        Knob("exit_on_reversal", bool, True,
             help="Sell when the name's prediction turns against the position."),
        Knob("allow_short", bool, False, help="Also sell short the names predicted to fall."),
        Knob("slippage_bps", float, 5.0, 0.0, 100.0, 0.5,
             "Simulated fill slippage, basis points against us."),
        Knob("fee_bps", float, 1.0, 0.0, 100.0, 0.5, "Simulated fees, basis points of notional."),
        Knob("initial_cash", float, 100_000.0, 1_000.0, 10_000_000.0, 1_000.0,
             "Cash a new bot starts with (applies to a fresh state only)."),
    )


DT_KNOBS: tuple[Knob, ...] = (
    Knob("enabled", bool, True, help="Trade at all. Off: the cycle runs, places no order."),
    Knob("aggression", float, 1.0, 0.1, 2.0, 0.05, "Scales each position's size."),
    Knob("max_positions", int, 5, 1, 50, 1, "Most names held at once."),
    Knob("max_alloc", float, 0.10, 0.01, 0.5, 0.01, "Largest share of equity in one name."),
    Knob("min_confidence", float, 0.55, 0.0, 1.0, 0.01,
         "Ignore intraday predictions below this confidence."),
    Knob("stop_loss", float, 0.01, 0.001, 0.2, 0.001, "Intraday stop, fraction of entry."),
    Knob("take_profit", float, 0.02, 0.001, 0.5, 0.001, "Intraday target, fraction of entry."),
    Knob("no_entry_last_minutes", int, 30, 0, 120, 5, "No new entries this close to the close."),
    Knob("flat_last_minutes", int, 15, 0, 60, 5, "Close everything this close to the close."),
    Knob("slippage_bps", float, 2.0, 0.0, 100.0, 0.5, "Simulated slippage, basis points."),
    Knob("fee_bps", float, 0.5, 0.0, 100.0, 0.5, "Simulated fees, basis points of notional."),
    Knob("initial_cash", float, 100_000.0, 1_000.0, 10_000_000.0, 1_000.0,
         "Cash the intraday bot starts with (fresh state only)."),
)

SWING_KNOBS: dict[str, tuple[Knob, ...]] = {h: _swing_knobs(h) for h in HORIZONS}


def knob_schema(section: str, horizon: str | None = None) -> tuple[Knob, ...]:
    """The knobs of `section` ("swing" with a horizon, or "dt")."""
    if section == "dt":
        return DT_KNOBS
    if section == "swing" and horizon in SWING_KNOBS:
        return SWING_KNOBS[horizon]
    raise KnobError(f"unknown bot {section}/{horizon}")


def _model_for(knobs: tuple[Knob, ...]):  # -> type[BaseModel]
    fields = {}
    for k in knobs:
        bounds = {} if k.type is bool else {"ge": k.min, "le": k.max}
        fields[k.name] = (k.type, PydField(k.default, description=k.help, strict=k.type is bool,
                                           **bounds))
    return create_model("Knobs", __config__={"extra": "forbid"}, **fields)


def validate_knobs(section: str, overrides: Mapping[str, Any],
                   horizon: str | None = None) -> dict[str, Any]:
    """Overrides checked against the schema; refuses with a message naming the knob.

    Returns only the given overrides, coerced to their types (ints stay ints).
    """
    schema = knob_schema(section, horizon)
    try:
        model = _model_for(schema).model_validate(dict(overrides))
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        where = f"{section}/{horizon}" if horizon else section
        if first["type"] == "extra_forbidden":
            raise KnobError(f"unknown knob {name!r} for {where}", knob=name) from exc
        raise KnobError(f"knob {name!r} for {where}: {first['msg']} "
                        f"(got {first.get('input')!r})", knob=name) from exc
    return {name: getattr(model, name) for name in overrides}


def effective_knobs(config: Mapping[str, Any] | None, section: str,
                    horizon: str | None = None) -> dict[str, Any]:
    """Schema defaults merged with the validated overrides of `bots_config.json`."""
    config = config or {}
    overrides = (config.get("swing", {}) or {}).get(horizon, {}) if section == "swing" \
        else config.get("dt", {}) or {}
    merged = {k.name: k.default for k in knob_schema(section, horizon)}
    merged.update(validate_knobs(section, overrides, horizon))
    return merged


def validate_bots_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A whole bots_config.json document checked: sections, horizons and every knob."""
    unknown = set(config) - {"swing", "dt"}
    if unknown:
        raise KnobError(f"unknown section(s) in bots_config: {sorted(unknown)}")
    clean: dict[str, Any] = {}
    swing = config.get("swing") or {}
    if swing:
        bad = set(swing) - set(HORIZONS)
        if bad:
            raise KnobError(f"unknown horizon(s) in bots_config: {sorted(bad)}")
        clean["swing"] = {h: validate_knobs("swing", v or {}, h) for h, v in swing.items()}
    if config.get("dt"):
        clean["dt"] = validate_knobs("dt", config["dt"])
    return clean
