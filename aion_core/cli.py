"""The `aion` command (Typer). Thin: parse, load settings, call a job, report.

Every command takes `--data-dir`; any AionError (bad input, missing key, corrupt file) or OS
error on the data root (disk full, permissions) ends the command with one line on stderr
naming the file or setting and what to do, and exit code 1. A traceback reaches stderr only
with AION_DEBUG=1 (then before that line, which stays the last); the jobs' log files keep
theirs (jobs/progress.py). Jobs are imported inside the commands so that `aion --help` stays
fast.
"""

from __future__ import annotations

import functools
import logging
import sys
import traceback
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from aion_core import market_hours
from aion_core.bots.registry import INTRADAY_JOB, NIGHTLY_JOB, SWING_JOB
from aion_core.config import HORIZONS, Settings, load_settings, time_zone
from aion_core.errors import AionError
from aion_core.store import Store
from jobs.progress import OS_ADVICE, debug, describe, stderr_handler

# Plain (click's) help, `rich_markup_mode=None`, not Typer's rich panels: those print a value
# type beside every option, `<bool>` even on a flag, which takes no value, and on --help
# itself (typer 0.29's rich_utils never asks whether an option is a flag). Plain help shows
# `<str>` only where a value follows.
app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  rich_markup_mode=None,
                  help="Aion Analytics: ML stock signals, bots and their workstation.")
bots_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Swing bots.")
intraday_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                           help="The intraday bot.")
admin_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Administration.")
import_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                         help="Bring your own files into the data root, checked (docs/DATA.md).")
app.add_typer(bots_app, name="bots")
app.add_typer(intraday_app, name="intraday")
app.add_typer(admin_app, name="admin")
app.add_typer(import_app, name="import")
metrics_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                          help="The optional PostgreSQL metrics store (AION_METRICS_URL).")
app.add_typer(metrics_app, name="metrics")

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data root (AION_DATA_DIR)")]


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"aion: error: {message}", err=True)
    return typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(f"aion: warning: {message}", err=True)


def command(fn):
    """Turn AionErrors, OS errors and stray bugs into one line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None
        except Exception as exc:
            raise fail(_one_line(exc)) from None

    return wrapper


def _one_line(exc: Exception) -> str:
    """What the user is told of `exc`; with AION_DEBUG=1 its traceback is printed first."""
    if debug():
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, AionError) or (isinstance(exc, OSError) and exc.errno in OS_ADVICE):
        return describe(exc)
    return f"internal error: {describe(exc)} (set AION_DEBUG=1 for the traceback)"


def parse_day(value: str | None, name: str = "date") -> date | None:
    """A strict YYYY-MM-DD, or a clear error naming the option."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise fail(f"{name} must be YYYY-MM-DD, got {value!r}") from None


def parse_knobs(text: str) -> dict:
    """--knobs: a bots_config.json-shaped document, checked by the one knob schema."""
    import json

    from aion_core.knobs.schema import validate_bots_config

    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise fail(f"--knobs is not JSON: {exc}") from None
    return validate_bots_config(doc)


def parse_ts(value: str | None, name: str = "--at") -> datetime | None:
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{name} must be an ISO-8601 timestamp, got {value!r}") from None
    if ts.tzinfo is None:
        raise fail(f"{name} needs a UTC offset, e.g. 2026-11-24T10:30:00-05:00") from None
    return ts


def context(data_dir: Path | None) -> tuple[Settings, Store]:
    settings = load_settings(data_dir)
    logging.basicConfig(level=logging.INFO, handlers=[stderr_handler()])
    return settings, Store.from_settings(settings)


def horizons_of(value: str) -> list[str]:
    """`all`, one horizon, or a comma-separated list of them (in HORIZONS' order)."""
    if value == "all":
        return list(HORIZONS)
    picked = {v.strip() for v in value.split(",")}
    if not picked <= set(HORIZONS):
        raise fail(f"--horizon must be {', '.join(HORIZONS)}, a comma list of them or all, "
                   f"got {value!r}")
    return [h for h in HORIZONS if h in picked]


# --------------------------------------------------------------------------- commands


@app.command("demo-data")
@command
def demo_data(
    symbols: Annotated[int, typer.Option(min=1, max=5000, help="number of symbols")] = 50,
    years: Annotated[float, typer.Option(min=0.25, max=30, help="years of daily history")] = 5,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same market)")] = 7,
    intraday_days: Annotated[int, typer.Option(min=0, max=30, help="sessions of 1-min bars")] = 5,
    data_dir: DataDir = None,
) -> None:
    """Write the deterministic synthetic market into the data root."""
    _, store = context(data_dir)
    from jobs.demo import write_demo_data

    summary = write_demo_data(store, n_symbols=symbols, years=years, seed=seed,
                              intraday_days=intraday_days)
    typer.echo(summary)


@app.command()
@command
def nightly(
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
    skip_fetch: Annotated[bool, typer.Option("--skip-fetch", help="use stored raw files")] = False,
    provider: Annotated[str | None, typer.Option(help="synthetic|yfinance")] = None,
    cluster: Annotated[str | None, typer.Option(
        "--cluster", help="local:N (a local Dask cluster) or tcp://host:8786")] = None,
    data_dir: DataDir = None,
) -> None:
    """The nightly pipeline: collect, features, train, predict, brain, summary."""
    day = parse_day(as_of, "--as-of")
    if day is not None and not market_hours.is_session(day):
        raise fail(f"--as-of {day} is not an NYSE session (weekend or holiday)")
    settings, store = context(data_dir)
    if provider is not None:
        if provider not in ("synthetic", "yfinance"):
            raise fail(f"--provider must be synthetic or yfinance, got {provider!r}")
        settings = settings.model_copy(update={"aion_provider": provider})
    from jobs.nightly import failed_steps, run_nightly

    with store.job_lock(NIGHTLY_JOB):
        summary = run_nightly(store, settings, as_of=day, skip_fetch=skip_fetch,
                              cluster=cluster)
    typer.echo(f"nightly {summary['status']}: as_of {summary.get('as_of')}")
    failures = failed_steps(summary)  # one line each; the tracebacks are in the run's log
    fatal = failures.pop() if summary["status"] == "failed" else None  # the required step's
    for line in failures:
        warn(line)
    if fatal:
        raise fail(fatal)


@bots_app.command("run")
@command
def bots_run(
    horizon: Annotated[str, typer.Option(help="1w|2w|4w|all")] = "all",
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
    broker: Annotated[str | None, typer.Option(
        help="sim|alpaca-paper|alpaca-live (default AION_BROKER, sim)")] = None,
    data_dir: DataDir = None,
) -> None:
    """One swing-bot run per horizon."""
    if broker not in (None, "sim", "alpaca-paper", "alpaca-live"):
        raise fail(f"--broker must be sim, alpaca-paper or alpaca-live, got {broker!r}")
    horizons, day = horizons_of(horizon), parse_day(as_of, "--as-of")
    settings, store = context(data_dir)
    from jobs.bots import run_bots

    with store.job_lock(SWING_JOB):
        lines = run_bots(store, settings, horizons, as_of=day,
                         broker=broker or settings.aion_broker)
    for line in lines:
        typer.echo(line)


@app.command()
@command
def reconcile(
    bot: Annotated[str, typer.Option("--bot", help="1w|2w|4w|dt|all")] = "all",
    on: Annotated[str | None, typer.Option(
        "--date", help="the session, YYYY-MM-DD (default: each bot's last)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Each bot's session through Alpaca against the broker and a shadow simulation:
    ml_data/reconcile/<bot>/<YYYYMMDD>.json. Reports, never fixes."""
    from aion_core.bots.registry import BOTS

    if bot != "all" and bot not in BOTS:
        raise fail(f"--bot must be one of {', '.join(BOTS)} or all, got {bot!r}")
    day = parse_day(on, "--date")
    if day is not None and not market_hours.is_session(day):
        raise fail(f"--date {day} is not an NYSE session (weekend or holiday)")
    settings, store = context(data_dir)
    from jobs.reconcile import reconcile_bots

    keys = list(BOTS) if bot == "all" else [bot]
    for line in reconcile_bots(store, settings, keys, day):
        typer.echo(line)


@bots_app.command("exit")
@command
def bots_exit(
    bot: Annotated[str, typer.Option("--bot", help="the swing bot: 1w|2w|4w")],
    symbol: Annotated[str, typer.Option("--symbol", help="the position to close, whole")],
    at: Annotated[str | None, typer.Option(
        "--at", help="when the exit was asked for, ISO-8601 with a UTC offset (default: now); "
        "the same --at to the minute is the same request, done once")] = None,
    broker: Annotated[str, typer.Option(help="sim|alpaca-paper|alpaca-live")] = "sim",
    data_dir: DataDir = None,
) -> None:
    """Close one swing position now (reason "manual"), once per request."""
    if bot not in HORIZONS:
        raise fail(f"--bot must be one of {', '.join(HORIZONS)}, got {bot!r}")
    if broker not in ("sim", "alpaca-paper", "alpaca-live"):
        raise fail(f"--broker must be sim, alpaca-paper or alpaca-live, got {broker!r}")
    when = parse_ts(at) or datetime.now().astimezone()
    settings, store = context(data_dir)
    from jobs.bots import exit_position

    typer.echo(exit_position(store, settings, bot, symbol.strip().upper(), when, broker))


@app.command()
@command
def replay(
    start: Annotated[str, typer.Option(help="first session, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="last session, YYYY-MM-DD")],
    data_dir: DataDir = None,
) -> None:
    """Walk the clock over past sessions, filling live bot state and logs."""
    a, b = parse_day(start, "--start"), parse_day(end, "--end")
    settings, store = context(data_dir)
    # Before the import: the replay's modules (LightGBM, SQLAlchemy, ...) take seconds.
    logging.getLogger("aion.replay").info("replay %s..%s on %s: starting", a, b, store.root)
    from jobs.replay import run_replay

    typer.echo(run_replay(store, settings, a, b))


@app.command()
@command
def backtest(
    start: Annotated[str, typer.Option(help="first session, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="last session, YYYY-MM-DD")],
    horizon: Annotated[str, typer.Option(help="1w|2w|4w|all, or a comma list: 1w,4w")] = "all",
    out: Annotated[Path | None, typer.Option(
        help="report folder (default: a new research/backtests/<id>/ in the data root)")] = None,
    retrain_every: Annotated[int | None, typer.Option(
        min=1, max=252, help="refit the models every N sessions (default AION_RETRAIN_EVERY)")]
    = None,
    knobs: Annotated[str | None, typer.Option(
        help="knobs as JSON in bots_config.json's shape, instead of the stored ones")] = None,
    data_dir: DataDir = None,
) -> None:
    """The replay engine into a report folder; live state untouched."""
    a, b = parse_day(start, "--start"), parse_day(end, "--end")
    horizons = horizons_of(horizon)
    doc = parse_knobs(knobs) if knobs is not None else None
    settings, store = context(data_dir)
    if retrain_every is not None:
        settings = settings.model_copy(update={"aion_retrain_every": retrain_every})
    from jobs.replay import run_backtest

    typer.echo(run_backtest(store, settings, a, b, horizons, out, knobs=doc))


@app.command()
@command
def evaluate(
    start: Annotated[str, typer.Option(help="first session, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="last session, YYYY-MM-DD")],
    retrain_every: Annotated[int, typer.Option(min=1, max=999, help="refit every N sessions")]
    = 63,
    horizon: Annotated[str, typer.Option(help="1w|2w|4w|all")] = "all",
    restart: Annotated[bool, typer.Option("--restart", help="discard a stopped run's "
                                          "chunks")] = False,
    model: Annotated[str | None, typer.Option(help="gbm|composite (default: AION_MODEL)")]
    = None,
    data_dir: DataDir = None,
) -> None:
    """Walk-forward out-of-sample evaluation of the nightly's recipe, with baselines."""
    a, b = parse_day(start, "--start"), parse_day(end, "--end")
    horizons = horizons_of(horizon)
    settings, store = context(data_dir)
    if model not in (None, "gbm", "composite"):
        raise fail(f"--model must be gbm or composite, got {model!r}")
    from dataclasses import replace

    from aion_core.ml.model import NIGHTLY, model_kind
    from aion_core.sql_copy.publish import publish
    from jobs.evaluate import run_evaluation, summary_lines

    config = replace(NIGHTLY, model=model_kind(model or settings.aion_model,
                                               store.is_synthetic()))
    doc = run_evaluation(store, a, b, retrain_every, horizons, restart=restart, config=config)
    publish(store, settings, "evaluate")
    for line in summary_lines(doc):
        typer.echo(line)
    typer.echo(f"  report: {store.path('evaluation_report', eval_id=doc['id'])}")


@app.command()
@command
def trials(
    kind: Annotated[str | None, typer.Option(help="evaluate|backtest (default: both)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Every evaluation and backtest run so far, oldest first: the research trial registry."""
    if kind not in (None, "evaluate", "backtest"):
        raise fail(f"--kind must be evaluate or backtest, got {kind!r}")
    _, store = context(data_dir)
    from jobs.trials import lines_for_people
    from jobs.trials import trials as recorded

    lines = [t for t in recorded(store) if kind is None or t["kind"] == kind]
    for line in lines_for_people(lines):
        typer.echo(line)
    typer.echo(f"{len(lines)} trial(s) in {store.path('research_trials')}")


@metrics_app.command("sync")
@command
def metrics_sync(data_dir: DataDir = None) -> None:
    """Backfill every table from the data root's files (idempotent: a rerun changes nothing)."""
    settings, store = context(data_dir)
    settings.require("aion_metrics_url")
    from aion_core.sql_copy.sync import sync_all, where

    changed, counts = sync_all(store, settings.aion_metrics_url)
    typer.echo(f"metrics sync to {where(settings.aion_metrics_url)}: "
               f"{sum(changed.values())} rows written or changed")
    for name, n in counts.items():
        typer.echo(f"  {name}: {n} rows ({changed.get(name, 0)} written)")


@intraday_app.command("cycle")
@command
def intraday_cycle(
    at: Annotated[str | None, typer.Option("--at", help="ISO-8601 timestamp with offset")] = None,
    data_dir: DataDir = None,
) -> None:
    """One 15-minute intraday cycle (only logs when the market is closed)."""
    when = parse_ts(at)
    settings, store = context(data_dir)
    from jobs.intraday import run_intraday_cycle

    with store.job_lock(INTRADAY_JOB):
        typer.echo(run_intraday_cycle(store, settings, at=when))


@app.command()
@command
def scheduler(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the next fires")] = False,
    from_: Annotated[str | None, typer.Option("--from", help="ISO-8601 start")] = None,
    count: Annotated[int, typer.Option(min=1, max=10_000)] = 10,
    data_dir: DataDir = None,
) -> None:
    """The sidecar: APScheduler, blocking until stopped (or --dry-run)."""
    start = parse_ts(from_, "--from")
    settings, store = context(data_dir)
    from jobs import scheduler as sched

    if dry_run:
        for line in sched.dry_run(settings, start=start, count=count):
            typer.echo(line)
        return
    sched.run_scheduler(store, settings)


@admin_app.command("hash-password")
@command
def hash_password() -> None:
    """Read a password (prompt, or stdin when piped) and print its bcrypt hash."""
    from aion_core.app.auth import hash_password as make_hash

    if sys.stdin.isatty():
        password = typer.prompt("Admin password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    typer.echo(make_hash(password))


@admin_app.command("unlock")
@command
def unlock(data_dir: DataDir = None) -> None:
    """Clear the admin login's lockout for every browser and address.

    The way back in, from the host, when a lock falls on the admin too (a shared address).
    """
    from aion_core.app.auth import unlock as clear_lockout

    _, store = context(data_dir)
    cleared = clear_lockout(store, datetime.now().timestamp())
    typer.echo(f"admin login unlocked ({cleared} lock(s) cleared)")


Paths = Annotated[list[Path], typer.Argument(help="files or folders (CSV, CSV.gz, Parquet, "
                                                "JSONL)", show_default=False)]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="rows for stored dates that "
                                         "differ replace the stored ones (default: kept)")]
def _tz(value: str | None) -> str | None:
    try:
        return None if value is None else time_zone(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


Tz = Annotated[str | None, typer.Option("--tz", callback=_tz, help="time zone of naive "
                                        "stamps, e.g. America/New_York or UTC")]


def _run_import(data_dir: Path | None, job) -> None:
    """`job(store, max_mb)` (max_mb: AION_IMPORT_MAX_MB) under the nightly's lock (both write
    raw/): print the report, exit 0 when everything came in, 3 when something was refused,
    1 when nothing was imported."""
    settings, store = context(data_dir)
    with store.job_lock(NIGHTLY_JOB):
        report = job(store, settings.aion_import_max_mb)
    for line in report.lines():
        typer.echo(line)
    if report.status != "ok":
        raise typer.Exit(1 if report.status == "failed" else 3)


@import_app.command("bars")
@command
def import_bars(
    paths: Paths,
    adjusted: Annotated[bool, typer.Option("--adjusted", help="prices are already split- and "
                                           "dividend-adjusted: ignore an adjusted-close "
                                           "column")] = False,
    symbol: Annotated[str | None, typer.Option(help="the symbol of a file without a symbol "
                                               "column, when its name is not it")] = None,
    overwrite: Overwrite = False,
    data_dir: DataDir = None,
) -> None:
    """Daily bars: long files (a symbol column) or one file per symbol (named by it)."""
    from jobs.imports import import_bars as run

    _run_import(data_dir, lambda store, limit: run(store, paths, adjusted=adjusted,
                                                   symbol=symbol, overwrite=overwrite,
                                                   max_mb=limit))


@import_app.command("minute")
@command
def import_minute(
    paths: Paths,
    stamp: Annotated[str, typer.Option(help="what a stamp marks: start or end of its minute")],
    tz: Tz = None,
    symbol: Annotated[str | None, typer.Option(help="symbol of a one-symbol file")] = None,
    overwrite: Overwrite = False,
    data_dir: DataDir = None,
) -> None:
    """1-minute bars into raw/intraday (regular hours, stamps turned into UTC bar starts)."""
    if stamp not in ("start", "end"):
        raise fail(f"--stamp must be start or end, got {stamp!r}")
    from jobs.imports import import_minute as run

    _run_import(data_dir, lambda store, limit: run(store, paths, stamp, tz, symbol=symbol,
                                                   overwrite=overwrite, max_mb=limit))


@import_app.command("macro")
@command
def import_macro(
    paths: Paths,
    series: Annotated[str | None, typer.Option(help="series id of a `date, value` file whose "
                                               "name is not it")] = None,
    overwrite: Overwrite = False,
    data_dir: DataDir = None,
) -> None:
    """Macro series: FRED downloads or `date, value` files named by the series id."""
    from jobs.imports import import_macro as run

    _run_import(data_dir, lambda store, limit: run(store, paths, series=series,
                                                   overwrite=overwrite, max_mb=limit))


@import_app.command("news")
@command
def import_news(
    paths: Paths,
    tz: Tz = None,
    source: Annotated[str | None, typer.Option(help="source name (default: the file name)")]
    = None,
    data_dir: DataDir = None,
) -> None:
    """Headlines or posts: a timestamp, tickers and a headline or text per row."""
    from jobs.imports import import_news as run

    _run_import(data_dir, lambda store, limit: run(store, paths, tz=tz, source=source,
                                                   max_mb=limit))


@import_app.command("universe")
@command
def import_universe(
    path: Annotated[Path, typer.Argument(help="membership intervals: ticker,start_date,"
                                         "end_date (CSV, CSV.gz, Parquet)",
                                         show_default=False)],
    name: Annotated[str, typer.Option(help="the index's name, which every report names")]
    = "sp500",
    aliases: Annotated[Path | None, typer.Option(
        "--aliases", help="a file of OLD=NEW lines: a bar file's ticker = the membership's")]
    = None,
    alias: Annotated[list[str] | None, typer.Option(
        "--alias", help="OLD=NEW, a bar file's ticker = the membership's (CBG=CBRE); "
        "repeatable")] = None,
    data_dir: DataDir = None,
) -> None:
    """Index membership intervals: cross-sections then hold each date's members only."""
    import re

    from jobs.universe import import_universe as run
    from jobs.universe import parse_alias, read_aliases

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\- ]{0,39}", name):
        raise fail(f"--name must be letters, digits, '_', '.', '-' or spaces (40 at most), "
                   f"got {name!r}")
    mapping = read_aliases(aliases) if aliases is not None else {}
    mapping |= dict(parse_alias(a) for a in alias or [])
    _run_import(data_dir, lambda store, _limit: run(store, path, name=name, aliases=mapping))


def main() -> None:
    app()
