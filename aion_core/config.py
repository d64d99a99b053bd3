"""Configuration: the data root's layout and the deployment settings from `.env`.

Three kinds of configuration, each with one source of truth:
- where files live (PATHS / DT_PATHS, exactly CONTRACT.md's table, relative to the data root);
- deployment settings (Settings: `.env` and the environment, environment wins);
- bot knobs: aion_core.knobs.schema (the schema and its typed values).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field as PydField
from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aion_core.errors import ConfigurationError, CorruptFileError

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
    "knobs_env": "ml_data/config/knobs.env",
    "dt_knobs_env": "ml_data/config/dt_knobs.env",
    "stock_cache_master": "stock_cache/master",
    "bot_state": "stock_cache/master/bot/rolling_{horizon}.json.gz",
    "ml_data": "ml_data",
    "bot_trades": "ml_data/bot_logs/{horizon}/trades_{yyyymmdd}.jsonl",
    "dashboard_cache": "cache/dashboard",
    "admin_settings": "ml_data/config/admin_settings.json",
    "synthetic_spec": "raw/synthetic_spec.json",
    "prediction_history": "da_brains/core/prediction_history.parquet",
    "scheduler_heartbeat": "logs/scheduler/heartbeat.json",
    "replay_summary": "logs/replay/last_replay.json",
    "job_status": "logs/jobs/{job}.json",
    "job_log": "logs/jobs/{job}.log",
    "job_lock": "logs/jobs/{job}.lock",
    "admin_lockout": "logs/admin/lockout.json",
    "bars_provenance": "raw/provenance.json",
    "universe": "raw/universe.json",
    "import_report": "logs/imports/{import_id}.json",
    "evaluation_predictions": "research/evaluations/{eval_id}/predictions.parquet",
    "evaluation_report": "research/evaluations/{eval_id}/report.json",
    "evaluation_analytics": "research/evaluations/{eval_id}/analytics.parquet",
    "evaluation_chunk": "research/evaluations/{eval_id}/chunks/{yyyymmdd}.parquet",
    "backtest_run": "research/backtests/{backtest_id}/run.json",
    "backtest_metrics": "research/backtests/{backtest_id}/metrics.json",
    "backtest_equity": "research/backtests/{backtest_id}/equity.parquet",
    "backtest_trades": "research/backtests/{backtest_id}/trades.jsonl",
    "backtest_predictions": "research/backtests/{backtest_id}/predictions.parquet",
    "model_runs": "ml_data/models/model_runs.jsonl",
    "notify_state": "logs/notify/state.json",
    "run_marker": "logs/running/{job}.json",
    "research_trials": "research/trials.jsonl",
    "reconcile_report": "ml_data/reconcile/{bot}/{yyyymmdd}.json",
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

#: Columns of the contract's frames and files (CONTRACT.md), in their stored order.
DAILY_COLUMNS = ["symbol", "date", "open", "high", "low", "close", "volume"]
INTRADAY_COLUMNS = ["symbol", "ts", "open", "high", "low", "close", "volume"]
MACRO_COLUMNS = ["series", "date", "value"]
NEWS_COLUMNS = ["symbol", "published_at", "headline", "source"]

HORIZONS: dict[str, int] = {"1w": 5, "2w": 10, "4w": 20}
"""Swing horizons and their length in trading sessions (labels run close t -> close t+h)."""

# Each template field accepts only what cannot climb out of its folder.
_FIELD_PATTERNS = {
    "symbol": re.compile(r"^[A-Z0-9][A-Z0-9.\-=^]{0,19}$"),
    "series": re.compile(r"^[A-Z0-9_]{1,40}$"),
    "day": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "yyyymmdd": re.compile(r"^\d{8}$"),
    "horizon": re.compile(r"^(1w|2w|4w)$"),
    "bot": re.compile(r"^(swing_(1w|2w|4w)|dt)$"),
    "job": re.compile(r"^[a-z][a-z0-9_]{0,39}$"),
    "eval_id": re.compile(r"^eval_\d{8}_\d{8}_r\d{1,3}_[a-z0-9-]{2,12}(_composite)?$"),
    "import_id": re.compile(r"^[a-z]+_\d{8}T\d{6}(_\d+)?$"),
    "backtest_id": re.compile(r"^bt_\d{8}T\d{6}(_\d+)?$"),
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
    from a provider, a date from a page) can point outside the data root; and the path is
    resolved, so that no symbolic link inside the root (`logs/nightly/x.log -> /etc/passwd`)
    leads a reader or a writer out of it: every file of the root is addressed here.
    """
    template = PATHS.get(key) or DT_PATHS.get(key)
    if template is None:
        raise KeyError(f"unknown data-root path {key!r}")
    clean = {}
    for name, value in fields.items():
        if isinstance(value, date):
            value = value.strftime("%Y%m%d" if name == "yyyymmdd" else "%Y-%m-%d")
        clean[name] = _check_field(name, str(value))
    path = Path(root) / template.format(**clean)
    if not path.resolve().is_relative_to(Path(root).resolve()):
        raise CorruptFileError(path, "it is a link that leads outside the data root; refused "
                                     "(remove the link)")
    return path


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
        "", description="comma-separated symbols every job works on (Store.from_settings "
        "narrows what they read); empty = the stored symbols"
    )
    aion_timezone: str = PydField("America/New_York", description="the scheduler's time zone")
    aion_refresh_s: int = PydField(5, ge=1, le=3600, description="app auto-refresh, seconds")
    aion_model: Literal["auto", "gbm", "composite"] = PydField(
        "auto", description="what forecasts: composite (equal-weight mean of the ranked "
        "residual-reversal inputs, no training), gbm (LightGBM), or auto: composite on real "
        "bars (it won on the S&P 500 dev years), gbm on the synthetic market (whose planted "
        "signal is in the news, which only the trees read); docs/MODEL.md")
    aion_import_max_mb: int = PydField(
        1024, ge=1, le=1_000_000, description="`aion import`: files larger than this many MB "
        "are refused before they are read")
    aion_retrain_every: int = PydField(
        21, ge=1, le=252, description="replay: retrain the models every N sessions"
    )
    aion_redis_url: str = PydField(
        "", pattern=r"^$|^(redis|rediss|unix)://",
        description="Redis shared by the app's processes for its read models "
        "(redis://[:password@]host:port/db); empty = each process caches alone")
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
    alpaca_base_url: str = PydField(
        "", pattern=r"^$|^https?://[^\s]+$",
        description="another Alpaca-compatible endpoint (a proxy, a recorder, a test server) "
        "for every Alpaca client Aion builds: trading, market data and news; empty = "
        "Alpaca's own (paper or live trading, data.alpaca.markets)")
    aion_metrics_url: str = PydField(
        "", pattern=r"^$|^postgres(ql)?(\+[a-z0-9]+)?://",
        description="optional PostgreSQL for the jobs' figures, e.g. "
        "postgresql+psycopg://user@127.0.0.1:5432/aion; empty = files only")
    aion_broker: Literal["sim", "alpaca-paper", "alpaca-live"] = PydField(
        "sim", description="what the swing bots trade through when the scheduler runs them "
        "(and `aion bots run` without --broker): sim, alpaca-paper, or alpaca-live (also "
        "needs ALPACA_PAPER=false); through Alpaca, the scheduler runs `aion reconcile` after "
        "each run")
    aion_reconcile_slippage_bp: float = PydField(
        20.0, ge=0, le=10_000, description="`aion reconcile`: a live fill this many bp or more "
        "away from its shadow (the simulator's fill of the same order at the open, with the "
        "knobs' slippage) is an issue of the report")
    aion_reconcile_tracking_bp: float = PydField(
        50.0, ge=0, le=10_000, description="`aion reconcile`: a notification when a live bot's "
        "equity is this many bp or more away from its shadow book's (cumulative tracking "
        "difference, either way)")
    alpaca_max_order_notional: float = PydField(
        25_000.0, gt=0, description="largest notional (USD) one Alpaca order may have; "
        "larger orders are refused, not shrunk")
    aion_notify_urls: str = PydField(
        "", description="Apprise URLs (mailto://, slack://, tgram://, discord://, ntfy://, "
        "json://...), comma- or space-separated; empty = no notifications")
    aion_dask_scheduler: str = PydField(
        "", pattern=r"^$|^(tcp|tls|inproc|ws|wss)://",
        description="a running Dask scheduler (tcp://host:8786) for the nightly's features, "
        "training and predictions (docs/SCALING.md); empty = one process, Dask not imported")
    aion_raw_url: str = PydField(
        "", pattern=r"^$|^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$",
        description="raw daily bars on object storage, s3://bucket/prefix (the prefix stands "
        "for the data root's raw/: <prefix>/daily/<SYMBOL>.parquet); empty = in the data root")
    aion_s3_endpoint_url: str = PydField(
        "", pattern=r"^$|^https?://",
        description="endpoint of an S3-compatible store (MinIO, Ceph, moto) for AION_RAW_URL; "
        "empty = AWS S3")

    @field_validator("aion_timezone")
    @classmethod
    def _a_time_zone(cls, value: str) -> str:
        """Checked where it is read, so the scheduler and the pages refuse it alike."""
        return time_zone(value)

    @property
    def alpaca_url(self) -> str | None:
        """ALPACA_BASE_URL as alpaca-py's `url_override` (None: Alpaca's own endpoints)."""
        return self.alpaca_base_url.rstrip("/") or None

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
     "alpaca_secret_key", "aion_notify_urls"}
)


def time_zone(name: str) -> str:
    """`name` if it is an IANA time zone (America/New_York, UTC), else a ValueError saying
    so: an option's and a setting's check alike."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. America/New_York or UTC)"
                         ) from None
    return name


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


def mask_url(url: str) -> str:
    """A service URL with its password replaced by `••••`: the rest helps an admin, the
    password never leaves the process."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^:/@]*:)[^/]*@", r"\1••••@", url, flags=re.I)


def masked_settings(settings: Settings) -> dict[str, Any]:
    """Settings as shown to an admin: secrets replaced by whether they are set, the
    passwords of service URLs masked."""
    shown: dict[str, Any] = {}
    for name, value in settings.model_dump().items():
        if name in SECRET_SETTINGS:
            shown[name.upper()] = "•••• (set)" if value else "(not set)"
        elif name.endswith("_url") and isinstance(value, str):
            shown[name.upper()] = mask_url(value)
        else:
            shown[name.upper()] = str(value) if isinstance(value, Path) else value
    return shown
