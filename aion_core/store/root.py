"""`Store`: the data root, addressed by CONTRACT.md's keys, and every read model of it that
more than one layer needs (the as-of readers of the nightly and the replay, the bots' books,
the universe's closes). Nothing outside aion_core.store opens a file of the data root.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from filelock import FileLock, Timeout

from aion_core.bots.ledger import Fill
from aion_core.bots.registry import Bot
from aion_core.config import Settings, resolve
from aion_core.errors import BusyError, ConfigurationError, KnobError
from aion_core.knobs.env_file import parse_knobs_env
from aion_core.knobs.schema import DT_SECTION, SWING_SECTION, BotKnobs
from aion_core.store import asof
from aion_core.store.files import (
    append_jsonl,
    locked,
    read_json,
    read_jsonl,
    read_parquet,
    read_text,
    update_json,
    write_json,
    write_parquet,
)
from aion_core.store.raw import RawLocation, read_daily_bars
from aion_core.store.schema import conform_macro, conform_minute

#: Why a symbol of AION_UNIVERSE is left out of a job: the data root holds no bars for it.
NOT_STORED = "no daily bars in the data root (named by AION_UNIVERSE)"


class Store:
    """The data root, addressed by CONTRACT.md's keys: `store.path("raw_daily", symbol="AAPL")`."""

    def __init__(self, root: Path | str, raw_url: str = "", s3_endpoint_url: str = "",
                 universe: Iterable[str] = ()) -> None:
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():  # else every use fails, unnamed
            raise ConfigurationError(f"the data root {self.root} is a file, not a folder: "
                                     "point --data-dir or AION_DATA_DIR at a folder")
        #: Where raw_daily lives (raw.RawLocation): under the root unless AION_RAW_URL is set.
        self.raw = RawLocation(str(self.root), raw_url, s3_endpoint_url)
        #: AION_UNIVERSE (upper case, in order, no repeats; empty = every stored symbol): what
        #: every job reads (`universe_symbols`), whatever else the data root holds.
        self.universe = tuple(dict.fromkeys(s.strip().upper() for s in universe if s.strip()))

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        """The store of `settings`' data root, its raw bars where AION_RAW_URL says, narrowed
        to AION_UNIVERSE: how every command builds the store its job reads."""
        return cls(settings.aion_data_dir, settings.aion_raw_url, settings.aion_s3_endpoint_url,
                   settings.universe)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def path(self, key: str, **fields: Any) -> Path:
        return resolve(self.root, key, **fields)

    # daily bars ---------------------------------------------------------------

    def daily_symbols(self) -> list[str]:
        """Every symbol with a bars file, sorted (AION_UNIVERSE or not: see universe_symbols)."""
        return self.raw.symbols()

    def universe_symbols(self, missing: dict[str, str] | None = None) -> list[str]:
        """The symbols the jobs read, sorted: AION_UNIVERSE's that have bars, else every
        stored one. Each universe symbol without bars is recorded in `missing` (symbol -> why);
        a universe none of whose symbols has bars is a ConfigurationError naming the setting."""
        stored = self.daily_symbols()
        if not self.universe:
            return stored
        have = set(stored)
        absent = [s for s in self.universe if s not in have]
        if len(absent) == len(self.universe):
            shown = ", ".join(absent[:10]) + (", ..." if len(absent) > 10 else "")
            where = f"AION_RAW_URL {self.raw.url}" if self.raw.remote \
                else f"the data root {self.root}"
            held = (f"it holds {len(stored)} other symbol(s), e.g. {', '.join(stored[:5])}: fix "
                    "AION_UNIVERSE (empty = every stored symbol) or bring their bars in"
                    if stored else "it holds none: `aion import bars FILE...` or `aion "
                    "nightly` with AION_PROVIDER=yfinance brings them in")
            raise ConfigurationError(f"none of the {len(absent)} symbol(s) of AION_UNIVERSE "
                                     f"({shown}) has daily bars in {where}; {held}")
        if missing is not None:
            missing.update({s: NOT_STORED for s in absent})
        return sorted(have.intersection(self.universe))

    def read_daily(self, symbol: str) -> pd.DataFrame | None:
        """One symbol's bars in the contract's shape (schema.conform_daily), None if absent."""
        table = self._daily_table(symbol)
        return None if table is None else table.to_pandas()

    def _daily_table(self, symbol: str, use_threads: bool = True) -> pa.Table | None:
        return self.raw.table(symbol, use_threads)

    def write_daily(self, symbol: str, bars: pd.DataFrame) -> None:
        self.raw.write(symbol, bars)

    def read_daily_panel(self, symbols: Iterable[str] | None = None,
                         end: pd.Timestamp | str | None = None,
                         refused: dict[str, str] | None = None) -> pd.DataFrame:
        """Long frame `symbol, date, open, high, low, close, volume` sorted by (symbol, date),
        from disk or object storage: raw.read_daily_bars, which says what `end` and `refused`
        do (`end` inclusive: how `--as-of` keeps the future out of everything downstream).

        `symbols` None = `universe_symbols()`: AION_UNIVERSE's symbols when it is set, whose
        names without bars are then recorded in `refused` too (NOT_STORED)."""
        if symbols is None and self.universe:
            symbols = self.universe_symbols(refused)
        return read_daily_bars(self.raw, symbols, end, refused)

    def in_universe(self, frame: pd.DataFrame | None) -> pd.DataFrame | None:
        """The rows of `frame` (a `symbol` column: 1-minute bars, say) of AION_UNIVERSE's
        symbols; all of them when it is not set."""
        if frame is None or not self.universe:
            return frame
        return frame[frame["symbol"].isin(self.universe)].reset_index(drop=True)

    # macro and news -----------------------------------------------------------

    def macro_series_ids(self) -> list[str]:
        folder = self.path("raw_macro", series="X").parent
        if not folder.is_dir():
            return []
        return sorted(p.name[: -len(".parquet")] for p in folder.glob("*.parquet"))

    def read_macro(self, series: str) -> pd.DataFrame | None:
        """`date, value` of one series (schema.conform_macro), None if absent."""
        path = self.path("raw_macro", series=series)
        frame = read_parquet(path)
        return None if frame is None else conform_macro(frame, path)

    def write_macro(self, series: str, values: pd.DataFrame) -> None:
        write_parquet(self.path("raw_macro", series=series), values)

    def read_minute(self, day: date | str) -> pd.DataFrame | None:
        """One session's 1-minute bars (schema.conform_minute: `ts` UTC), None if absent."""
        path = self.path("bars_intraday", day=day)
        frame = read_parquet(path)
        return None if frame is None else conform_minute(frame, path)

    def write_minute(self, day: date | str, bars: pd.DataFrame) -> None:
        write_parquet(self.path("bars_intraday", day=day), bars)

    def news_days(self) -> list[str]:
        folder = self.path("news_cache", day="2000-01-01").parent
        if not folder.is_dir():
            return []
        return sorted(p.name[: -len(".json")] for p in folder.glob("*.json"))

    def read_news(self, day: str) -> list[dict[str, Any]] | None:
        return read_json(self.path("news_cache", day=day))

    def write_news(self, day: str, items: list[dict[str, Any]]) -> None:
        write_json(self.path("news_cache", day=day), items)

    def merge_news(self, day: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add `items` (NEWS_FIELDS, `published_at` ISO-8601) to the day's file under its
        lock, skipping any already there (same symbol, instant and headline); returns the
        new ones."""
        path = self.path("news_cache", day=day)

        def key(item: dict[str, Any]) -> tuple[str, str, str]:
            stamp = pd.Timestamp(item["published_at"]).tz_convert("UTC").isoformat()
            return item["symbol"], stamp, item["headline"]

        with locked(path):
            old = read_json(path) or []
            seen = {key(i) for i in old}
            fresh = []
            for item in items:
                if key(item) not in seen:
                    seen.add(key(item))
                    fresh.append(item)
            if fresh:
                merged = sorted(old + fresh,
                                key=lambda i: (pd.Timestamp(i["published_at"]), i["symbol"]))
                write_json(path, merged)
        return fresh

    # where the data came from -------------------------------------------------------

    def record_source(self, kind: str, source: str, detail: str, at: str) -> None:
        """Note in raw/provenance.json that `source` (synthetic, import, yfinance, ...) wrote
        `kind` (bars, minute, macro, news) data: the app's synthetic badge reads it."""
        def add(doc: dict[str, Any] | None) -> dict[str, Any]:
            doc = doc if isinstance(doc, dict) else {}
            entry = doc.get(kind) if isinstance(doc.get(kind), dict) else {}
            sources = sorted(set(entry.get("sources", [])) | {source})
            history = [*entry.get("history", []), {"source": source, "at": at,
                                                   "detail": detail}][-50:]
            return {**doc, kind: {"sources": sources, "updated_at": at, "history": history}}

        self.update_json("bars_provenance", add)

    def bars_sources(self) -> list[str]:
        """Where the daily bars came from; a root filled before provenance was recorded is
        synthetic when it holds the synthetic market's spec."""
        doc = self.read_json("bars_provenance")
        if isinstance(doc, dict) and isinstance(doc.get("bars"), dict):
            return list(doc["bars"].get("sources", []))
        if self.path("synthetic_spec").exists() and self.daily_symbols():
            return ["synthetic"]
        return ["unknown"] if self.daily_symbols() else []

    def read_universe(self) -> dict[str, Any] | None:
        """The index membership `aion import universe` stored (documents.Universe: `name`,
        `intervals` of `ticker, start, end`, bar-ticker `aliases`), None when the data root
        holds none: then every stored name is in every cross-section and the figures say
        they are upper bounds (aion_core.ml.universe)."""
        return self.read_json("universe")

    def import_ids(self) -> list[str]:
        """Ids of the kept import reports, newest first."""
        folder = self.path("import_report", import_id="bars_20000101T000000").parent
        if not folder.is_dir():
            return []
        return sorted((p.name[: -len(".json")] for p in folder.glob("*.json")),
                      key=lambda i: (i.split("_", 1)[1], i), reverse=True)

    def sweep_temporaries(self, folder: str = "raw") -> int:
        """Remove what a writer killed mid-write left under `folder` (`.<name>.*.tmp`, the
        atomic writers' staging files); returns how many. The caller holds the job lock of
        every writer there, so none of them is alive."""
        base = self.root / folder
        left = [p for p in base.rglob(".*.tmp") if p.is_file()] if base.is_dir() else []
        for path in left:
            path.unlink(missing_ok=True)
        return len(left)

    def is_synthetic(self) -> bool:
        return "synthetic" in self.bars_sources()

    # as of a session ------------------------------------------------------------

    def read_macro_asof(self, as_of: pd.Timestamp) -> pd.DataFrame | None:
        """Long `series, date, value` of every stored series, observations dated <= as_of
        (None when the root has no macro series)."""
        return asof.macro(self, as_of)

    def read_news_asof(self, as_of: pd.Timestamp) -> pd.DataFrame | None:
        """Headlines `symbol, published_at` (tz-aware UTC), `headline, source` published by
        as_of's close (None when there are none)."""
        return asof.news(self, as_of)

    def read_closes(self) -> pd.DataFrame | None:
        """Closes of the whole universe: index session dates, one column per symbol (USD).

        Reads only the `date` and `close` columns of each file (the benchmark curve)."""
        return asof.closes(self)

    # a bot's books ----------------------------------------------------------------

    def read_bot_state(self, bot: Bot) -> dict[str, Any] | None:
        return read_json(bot.state_path(self.root))

    def write_bot_state(self, bot: Bot, state: dict[str, Any]) -> None:
        write_json(bot.state_path(self.root), state)

    def bot_trade_files(self, bot: Bot) -> list[Path]:
        return bot.trade_files(self.root)

    def read_bot_trades(self, bot: Bot) -> list[dict[str, Any]]:
        """Every trade line of the bot's logs, oldest file first (torn lines skipped)."""
        return [r for path in self.bot_trade_files(bot) for r in read_jsonl(path).records]

    def bot_lock(self, bot: Bot) -> contextlib.AbstractContextManager[None]:
        """Serialises runs of one bot (scheduler vs a manual run): one writer of its books."""
        return locked(bot.state_path(self.root))

    def file_lock(self, key: str, **fields: Any) -> contextlib.AbstractContextManager[None]:
        """The writers' lock of one keyed file, for a read-merge-write of it."""
        return locked(self.path(key, **fields))

    def journal(self, bot: Bot) -> LiveJournal:
        return LiveJournal(self, bot)

    def read_knobs(self, bots: Iterable[Bot],
                   config: dict[str, Any] | None = None) -> dict[str, BotKnobs]:
        """Each bot's knobs by bot key: schema defaults < knobs.env / dt_knobs.env <
        bots_config.json, or < `config` when given (a backtest's own bots_config document).
        Every job reads its knobs here, so the env layers apply to all of them; an invalid
        knob raises KnobError naming it (and its file and line), before any bot trades."""
        env = self.read_knob_env()
        config = self.read_json("bots_config") if config is None else config
        return {bot.key: bot.knobs(config, env) for bot in bots}

    def read_knob_env(self) -> dict[str, Any]:
        """knobs.env and dt_knobs.env as one bots_config-shaped document ({} when neither
        exists; knob_env.parse_knobs_env); a bad line raises KnobError naming the file, the
        line and the knob, and so does a file that cannot be read (a folder in its place, no
        permission), in the words the command line uses for it: the pages show it in their
        error box, the jobs stop with it."""
        doc: dict[str, Any] = {}
        for section, key in ((SWING_SECTION, "knobs_env"), (DT_SECTION, "dt_knobs_env")):
            path = self.path(key)
            try:
                text = read_text(path)
                if text is not None:
                    doc.update(parse_knobs_env(text, section, str(path)))
            except OSError as exc:
                raise KnobError(_unreadable(path, exc), path=path) from exc
            except KnobError as exc:  # name the file for the pages' labels
                raise KnobError(str(exc), knob=exc.knob, path=path) from None
        return doc

    def kill_switch_on(self) -> bool:
        """The admin's global kill switch (`admin_settings.json`: {"kill_switch": true})."""
        doc = self.read_json("admin_settings") or {}
        return bool(doc.get("kill_switch", False))

    # generic keyed access -------------------------------------------------------

    def read_json(self, key: str, **fields: Any) -> Any | None:
        return read_json(self.path(key, **fields))

    def write_json(self, key: str, obj: Any, **fields: Any) -> None:
        write_json(self.path(key, **fields), obj)

    def update_json(self, key: str, fn: Callable[[Any | None], Any], **fields: Any) -> Any:
        return update_json(self.path(key, **fields), fn)

    @contextlib.contextmanager
    def job_lock(self, name: str) -> Iterator[None]:
        """Held by whoever starts job `name` (the scheduler, or the `aion` command the admin
        page and users run), so two runs of one job never overlap; a second start is refused
        at once with BusyError rather than queued behind the first."""
        path = self.path("job_lock", job=name)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with FileLock(str(path), timeout=0):
                yield
        except Timeout as exc:
            raise BusyError(f"{name} is already running ({path} is held)") from exc

    def mtime_ns(self, key: str, **fields: Any) -> int | None:
        """Modification time of a keyed file (None when missing): the app's cache key."""
        try:
            return self.path(key, **fields).stat().st_mtime_ns
        except FileNotFoundError:
            return None


def _unreadable(path: Path, exc: OSError) -> str:
    """One line on a settings file that cannot be read, as jobs.progress.describe words it."""
    if exc.errno == errno.EISDIR:
        return f"{path} is a folder where a file belongs: remove or rename it"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied on {path}: let this user read it"
    return f"cannot read {path}: {exc.strerror or exc}"


class LiveJournal:
    """A bot's books in the data root (CONTRACT.md): its trade logs and its state file."""

    def __init__(self, store: Store, bot: Bot) -> None:
        self.store, self.bot = store, bot

    def fills(self) -> list[Fill]:
        return [Fill.from_record(r) for r in self.store.read_bot_trades(self.bot)
                if r.get("bot") == self.bot.name]

    def append(self, fill: Fill) -> None:
        append_jsonl(self.bot.trades_path(self.store.root, fill.session), [fill.to_record()])

    def read_state(self) -> dict[str, Any] | None:
        return self.store.read_bot_state(self.bot)

    def write_state(self, state: dict[str, Any]) -> None:
        self.store.write_bot_state(self.bot, state)
