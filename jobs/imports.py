"""`aion import bars|minute|macro|news PATH...`: a user's files into the data root, checked.

Each import reads every file it is given (folders are walked), normalises them to the
contract (aion_core.ingest), checks daily and minute bars (aion_core.ingest.quality), merges
with what is stored, and writes one file per symbol, series or day atomically. One bad file or
symbol never stops the others: it is refused with its reason and the data root keeps what it
had for it. Incremental: rows for dates not stored are added; rows for stored dates that
differ are reported and the stored ones kept, unless `overwrite`. The report is printed as a
table and kept as JSON in logs/imports/<id>.json.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aion_core import market_hours
from aion_core.config import DAILY_COLUMNS, INTRADAY_COLUMNS
from aion_core.errors import AionError, ConfigurationError, DataError, RefusedError
from aion_core.ingest import files, normalise, quality
from aion_core.ingest.quality import CHECKS, Checked, Finding
from aion_core.store import Store

WRITE_THREADS = 4
#: Relative difference under which a stored and an imported value are the same number.
SAME = 1e-6


@dataclass
class ImportReport:
    """What one import did: per file, and per item (symbol, series or day)."""

    kind: str
    import_id: str
    started_at: str
    options: dict[str, Any]
    files: list[dict[str, Any]] = field(default_factory=list)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path | None = None

    def file(self, path: Path | str, status: str, rows: int = 0, reason: str = "",
             notes: Sequence[str] = ()) -> None:
        self.files.append({"path": str(path), "status": status, "rows": rows,
                           "reason": reason, "notes": list(notes)})

    def count(self, status: str) -> int:
        return sum(1 for i in self.items.values() if i["status"] == status)

    @property
    def status(self) -> str:
        """ok (everything in), partial (something refused), failed (nothing imported)."""
        refused = self.count("refused") + sum(f["status"] == "refused" for f in self.files)
        if not self.count("imported") and not self.count("unchanged"):
            return "failed"
        return "partial" if refused else "ok"

    def to_record(self) -> dict[str, Any]:
        return {"import_id": self.import_id, "kind": self.kind, "started_at": self.started_at,
                "finished_at": _now(), "status": self.status, "options": self.options,
                "totals": self.totals(), "files": self.files, "items": self.items,
                "checks": {k: {"action": c.action, "meaning": c.meaning}
                           for k, c in CHECKS.items()}}

    def totals(self) -> dict[str, int]:
        rows = Counter()
        for item in self.items.values():
            rows.update({k: item.get(k, 0) for k in ("rows_read", "rows_kept", "rows_added")})
        return {"files": len(self.files), "items": len(self.items),
                **{s: self.count(s) for s in ("imported", "unchanged", "refused")}, **rows}

    def lines(self) -> list[str]:
        """The report as a person reads it: totals, a table of the checks that found
        something, then every refusal on its own line."""
        out = self._head(self.kind, "item(s)", "rows")
        out[0] += f", added {self.totals().get('rows_added', 0):,}"
        table = self._check_rows()
        if table:
            out.append(f"  {'check':<22}{'action':<10}{'items':>6}{'rows':>8}  examples")
            out += [f"  {c:<22}{CHECKS[c].action:<10}{n:>6}{r:>8}  {e}"
                    for c, n, r, e in table]
        out += [f"  refused file {f['path']}: {f['reason']}" for f in self.files
                if f["status"] == "refused"]
        out += [f"  refused {k}" + (f" ({', '.join(i['files'])})" if i.get("files") else "")
                + f": {i['reason']}" for k, i in sorted(self.items.items())
                if i["status"] == "refused"]
        if self.path is not None:
            out.append(f"  report: {self.path}")
        return out

    def _head(self, title: str, things: str, rows: str) -> list[str]:
        """The totals line and each file's notes, as every kind of import report opens."""
        t = self.totals()
        return [f"import {title}: {self.status}; {t['files']} file(s), {t['items']} "
                f"{things}: {t['imported']} imported, {t['unchanged']} unchanged, "
                f"{t['refused']} refused; {rows} read {t.get('rows_read', 0):,}, kept "
                f"{t.get('rows_kept', 0):,}"] + [
            f"  note {Path(f['path']).name}: {n}" for f in self.files for n in f["notes"]]

    def _check_rows(self) -> list[tuple[str, int, int, str]]:
        by_check: dict[str, list[tuple[str, dict]]] = {}
        for key, item in sorted(self.items.items()):
            for f in item.get("findings", []):
                by_check.setdefault(f["check"], []).append((key, f))
        rows = []
        for check in CHECKS:
            hits = by_check.get(check, [])
            if hits:
                examples = ", ".join(f"{k} {(f['dates'] or [''])[0]}".strip()
                                     for k, f in hits[:4])
                rows.append((check, len(hits), sum(f["rows"] for _, f in hits),
                             examples + (" ..." if len(hits) > 4 else "")))
        return rows


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _start(store: Store, kind: str, options: dict[str, Any]) -> ImportReport:
    """A new import's report, once the root is known to take it and what a killed import left
    half-written in raw/ is swept (the caller holds the nightly's lock: raw/'s writers)."""
    if store.is_synthetic():
        raise RefusedError(f"the data root {store.root} holds the synthetic market (aion "
                           "demo-data); import real data into a root of its own: --data-dir "
                           "PATH (or AION_DATA_DIR)")
    store.sweep_temporaries("raw")
    stamp = datetime.now(UTC)
    import_id = f"{kind}_{stamp:%Y%m%dT%H%M%S}"
    n = 1
    while store.path("import_report", import_id=import_id).exists():
        n += 1
        import_id = f"{kind}_{stamp:%Y%m%dT%H%M%S}_{n}"
    return ImportReport(kind, import_id, stamp.isoformat(timespec="seconds"), options)


def _finish(store: Store, report: ImportReport) -> ImportReport:
    report.path = store.path("import_report", import_id=report.import_id)
    store.write_json("import_report", report.to_record(), import_id=report.import_id)
    if report.count("imported"):
        store.record_source(report.kind, "import", f"{report.import_id}: "
                            f"{report.count('imported')} item(s) from {len(report.files)} "
                            "file(s)", report.started_at)
    return report


#: The largest import file read by default (AION_IMPORT_MAX_MB): past it a file is refused
#: before a byte is parsed (a 2 GB sparse CSV took 45 s and 4.3 GB of memory to refuse).
IMPORT_MAX_MB = 1024


def _read_all(report: ImportReport, paths: Iterable[Path | str],
              parse: Callable[[pd.DataFrame, Path], tuple[pd.DataFrame, list[str]]],
              max_mb: int = IMPORT_MAX_MB) -> list[pd.DataFrame]:
    """Every readable file through `parse`; the others refused in the report by name."""
    found, refused = files.discover(paths)
    for path, reason in refused.items():
        report.file(path, "refused", reason=reason)
    frames = []
    for path in found:
        size = path.stat().st_size
        if size > max_mb * 2**20:
            report.file(path, "refused", reason=f"{size / 2**20:,.0f} MB is over the import "
                        f"limit of {max_mb:,} MB (AION_IMPORT_MAX_MB)")
            continue
        try:
            frame, notes = parse(files.read_table(path), path)
        except DataError as exc:
            reason = str(exc).removeprefix(f"{path}: ")
            report.file(path, "refused", reason=reason)
            continue
        if frame.empty:
            report.file(path, "refused", reason="no rows left to import")
            continue
        report.file(path, "read", rows=len(frame), notes=notes)
        frames.append(frame)
    return frames


def _named(symbol: str | None, path: Path) -> str | None:
    """The symbol of a file without a symbol column: --symbol, else the file's name; both
    pass the one ticker check every symbol of every import passes (a `../../x` became a
    file name and an order id)."""
    if symbol is None:
        return normalise.symbol_from_name(files.stem(path))
    checked = normalise.symbol_from_name(symbol)
    if checked is None or checked != symbol.strip().upper():
        raise ConfigurationError(f"--symbol {symbol!r} is not a ticker (letters, digits and "
                                 ". - = ^, at most 20, starting with a letter or digit)")
    return checked


def _without_symbol(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    missing = frame["symbol"].isna()
    if missing.any():
        notes.append(f"{int(missing.sum())} row(s) without a valid symbol dropped")
    return frame[~missing]


# --------------------------------------------------------------------------- merging


def merge(old: pd.DataFrame | None, new: pd.DataFrame, key: list[str], values: list[str],
          overwrite: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(merged rows sorted by key, the keys added, the stored rows the new ones contradict).

    Rows whose key is not stored are added; a contradicted stored row is kept unless
    `overwrite`, in which case the new one replaces it. Nothing stored is ever dropped.
    Both frames hold each key once (the checks saw to the new one's)."""
    new = new.sort_values(key, kind="stable").reset_index(drop=True)
    if old is None or old.empty:
        return new, new[key], new[:0]
    old = old.reset_index(drop=True)
    at = _keys(old, key).get_indexer(_keys(new, key))  # -1: a key not stored
    fresh = at < 0
    differ = np.zeros(len(new), dtype=bool)
    if (~fresh).any():
        stored_values = old[values].to_numpy(float)[at[~fresh]]
        differ[~fresh] = ~np.isclose(stored_values, new.loc[~fresh, values].to_numpy(float),
                                     rtol=SAME, atol=1e-9, equal_nan=True).all(axis=1)
    contradicted = old.iloc[at[differ]]
    kept = old.drop(index=old.index[at[differ]]) if overwrite else old
    taken = new[fresh | (differ & overwrite)]
    out = pd.concat([kept, taken], ignore_index=True) if len(taken) else kept
    return (out.sort_values(key, kind="stable").reset_index(drop=True), new.loc[fresh, key],
            contradicted.reset_index(drop=True))


def _keys(frame: pd.DataFrame, key: list[str]) -> pd.Index:
    return pd.Index(frame[key[0]]) if len(key) == 1 else pd.MultiIndex.from_frame(frame[key])


# --------------------------------------------------------------------------- daily bars


def import_bars(store: Store, paths: Iterable[Path | str], adjusted: bool = False,
                symbol: str | None = None, overwrite: bool = False,
                max_mb: int = IMPORT_MAX_MB) -> ImportReport:
    """Daily bars from long files (a symbol column) or one file per symbol (the name)."""
    report = _start(store, "bars", {"adjusted": adjusted, "symbol": symbol,
                                    "overwrite": overwrite})

    def parse(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
        bars, notes = normalise.daily_bars(frame, _named(symbol, path), adjusted)
        return _without_symbol(bars, notes), notes

    frames = _read_all(report, paths, parse, max_mb)
    if frames:
        _check_and_store_daily(store, report, pd.concat(frames, ignore_index=True), overwrite)
        _name_files(report, frames)
    return _finish(store, report)


def _name_files(report: ImportReport, frames: list[pd.DataFrame]) -> None:
    """Each item's source files, so a refusal names the file as well as the symbol."""
    read = [f["path"] for f in report.files if f["status"] == "read"]
    origins: dict[str, list[str]] = {}
    for path, frame in zip(read, frames, strict=True):
        for sym in frame["symbol"].unique():
            origins.setdefault(str(sym), []).append(path)
    for key, item in report.items.items():
        item["files"] = origins.get(key, [])


def _sessions(dates: pd.Series) -> pd.DatetimeIndex | None:
    days = dates.dropna()
    if days.empty:
        return None
    cal = market_hours.calendar()
    lo, hi = max(days.min(), cal.first_session), min(days.max(), cal.last_session)
    return market_hours.sessions(lo, hi) if lo <= hi else None


def _check_and_store_daily(store: Store, report: ImportReport, bars: pd.DataFrame,
                           overwrite: bool) -> None:
    checked = quality.check_daily(bars, _sessions(bars["date"]))
    groups = dict(iter(checked.bars.groupby("symbol", sort=True)))

    def one(sym: str) -> tuple[str, dict[str, Any]]:
        item = _item(checked, sym)
        if sym in checked.refused:
            return sym, {**item, "status": "refused", "reason": checked.refused[sym]}
        try:
            return sym, {**item, **_store_daily(store, sym, groups[sym], overwrite, item)}
        except AionError as exc:  # a corrupt stored file, a full disk: this symbol only
            return sym, {**item, "status": "refused", "reason": str(exc)}

    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        report.items.update(pool.map(one, sorted(checked.rows_read)))


def _item(checked: Checked, key: str) -> dict[str, Any]:
    return {"rows_read": checked.rows_read.get(key, 0), "rows_kept": 0, "rows_added": 0,
            "findings": [f.to_record() for f in checked.findings.get(key, [])]}


def _store_daily(store: Store, sym: str, new: pd.DataFrame, overwrite: bool,
                 item: dict[str, Any]) -> dict[str, Any]:
    with store.file_lock("raw_daily", symbol=sym):
        old = store.read_daily(sym)
        merged, fresh, clash = merge(old, new[DAILY_COLUMNS], ["date"], DAILY_COLUMNS[2:],
                                     overwrite)
        added = len(fresh)
        findings = list(item["findings"])
        if len(clash):
            kept = "replaced by the file's rows" if overwrite \
                else "stored rows kept (--overwrite takes the file's)"
            findings.append(Finding("overlap_differs", len(clash),
                                    quality.first_days(clash["date"]), kept).to_record())
        if old is not None and added:
            findings += _seam_jumps(merged, old, item)
        changed = added or (overwrite and len(clash))
        if changed:
            store.write_daily(sym, merged)
    return {"status": "imported" if changed else "unchanged", "rows_kept": len(new),
            "rows_added": added, "first": _day(merged["date"].min()),
            "last": _day(merged["date"].max()), "findings": findings}


def _seam_jumps(merged: pd.DataFrame, old: pd.DataFrame, item: dict[str, Any]) -> list[dict]:
    """Jumps between a stored bar and an added one (the file's own were checked already)."""
    stored = merged["date"].isin(old["date"])
    seam = ~stored & stored.shift(1, fill_value=False)
    seen = {(f["check"], d) for f in item["findings"] for d in f["dates"]}
    out = []
    for check, mask, notes in quality.jumps(merged):
        hit = mask & seam
        for i in np.flatnonzero(hit.to_numpy()):
            day = _day(merged["date"].iloc[i])
            if (check, day) not in seen:
                out.append(Finding(check, 1, [day], str(notes.iloc[i]) + " (at the seam "
                                   "with the stored bars)").to_record())
    return out


def _day(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------- minute bars


def import_minute(store: Store, paths: Iterable[Path | str], stamp: str, tz: str | None,
                  symbol: str | None = None, overwrite: bool = False,
                  max_mb: int = IMPORT_MAX_MB) -> ImportReport:
    """1-minute bars into raw/intraday/<session>.parquet (regular hours, `ts` bar start UTC).
    Checked as daily bars are, minus the session check: a split between two sessions of
    unadjusted minutes shows as split_like."""
    report = _start(store, "minute", {"stamp": stamp, "tz": tz, "symbol": symbol,
                                      "overwrite": overwrite})

    def parse(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
        bars, outside = normalise.minute_bars(frame, _named(symbol, path), stamp, tz)
        notes = [f"{outside} bar(s) outside NYSE regular hours dropped"] if outside else []
        return _without_symbol(bars, notes), notes

    frames = _read_all(report, paths, parse, max_mb)
    if not frames:
        return _finish(store, report)
    bars = pd.concat(frames, ignore_index=True).rename(columns={"ts": "date"})
    checked = quality.check_daily(bars, None)
    for sym in checked.rows_read:  # refused until its bars are stored below
        report.items[sym] = {**_item(checked, sym), "status": "refused",
                             "reason": checked.refused.get(sym, "no bars left after the checks")}
    kept = checked.bars.rename(columns={"date": "ts"})
    kept["session"] = kept["ts"].dt.tz_convert(market_hours.NY).dt.strftime("%Y-%m-%d")
    added: Counter = Counter()
    for day, rows in kept.groupby("session", sort=True):
        with store.file_lock("bars_intraday", day=str(day)):
            merged, fresh, clash = merge(store.read_minute(str(day)), rows[INTRADAY_COLUMNS],
                                         ["symbol", "ts"], INTRADAY_COLUMNS[2:], overwrite)
            if len(fresh) or (overwrite and len(clash)):
                store.write_minute(str(day), merged)
        added.update(fresh["symbol"].value_counts().to_dict())
        for sym, wrong in clash.groupby("symbol"):
            report.items[str(sym)]["findings"].append(Finding(
                "overlap_differs", len(wrong), [str(day)],
                "replaced by the file's bars" if overwrite else "stored bars kept").to_record())
    for sym, rows in kept.groupby("symbol"):
        item = report.items[str(sym)]
        item.update(rows_kept=len(rows), rows_added=int(added.get(sym, 0)),
                    status="imported" if added.get(sym) else "unchanged", reason="",
                    first=str(rows["session"].min()), last=str(rows["session"].max()))
    return _finish(store, report)


# --------------------------------------------------------------------------- macro, news


def import_macro(store: Store, paths: Iterable[Path | str], series: str | None = None,
                 overwrite: bool = False,
                 max_mb: int = IMPORT_MAX_MB) -> ImportReport:
    """Macro series (FRED's `observation_date, SERIES` or `date, value` with the id in the
    file name) into raw/macro/<SERIES>.parquet. FRED's files are its latest vintage: a
    revised value that differs from a stored one is reported, the stored one kept."""
    report = _start(store, "macro", {"series": series, "overwrite": overwrite})
    found: dict[str, pd.DataFrame] = {}

    def parse(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
        got = normalise.macro_series(frame, series or files.stem(path))
        found.update(got)
        return pd.concat(got.values()), []

    _read_all(report, paths, parse, max_mb)
    for sid, values in sorted(found.items()):
        item = {"rows_read": len(values), "rows_kept": len(values), "findings": []}
        try:
            with store.file_lock("raw_macro", series=sid):
                merged, fresh, clash = merge(store.read_macro(sid), values, ["date"],
                                             ["value"], overwrite)
                added = len(fresh)
                if added or (overwrite and len(clash)):
                    store.write_macro(sid, merged)
        except AionError as exc:
            report.items[sid] = {**item, "rows_added": 0, "status": "refused",
                                 "reason": str(exc)}
            continue
        if len(clash):
            item["findings"].append(Finding("overlap_differs", len(clash),
                                            quality.first_days(clash["date"]), "revised values?")
                                    .to_record())
        report.items[sid] = {**item, "rows_added": added,
                             "status": "imported" if added else "unchanged",
                             "first": _day(merged["date"].min()),
                             "last": _day(merged["date"].max())}
    return _finish(store, report)


def import_news(store: Store, paths: Iterable[Path | str], tz: str | None = None,
                source: str | None = None,
                max_mb: int = IMPORT_MAX_MB) -> ImportReport:
    """Headlines or posts (a timestamp, tickers, a headline or text) into raw/news/<day>.json,
    one item per ticker, filed by the New York day of publication."""
    report = _start(store, "news", {"tz": tz, "source": source})

    def parse(frame: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[str]]:
        items = normalise.headlines(frame, tz, source or files.stem(path))
        dropped = len(frame) - items[["published_at", "headline"]].drop_duplicates().shape[0]
        return items, [f"{dropped} item(s) without a time, ticker or text, or repeated, "
                       "dropped"] if dropped > 0 else []

    frames = _read_all(report, paths, parse, max_mb)
    if frames:
        news = pd.concat(frames, ignore_index=True)
        day = news["published_at"].dt.tz_convert(market_hours.NY).dt.strftime("%Y-%m-%d")
        records = news.assign(published_at=news["published_at"].map(lambda t: t.isoformat()))
        added: Counter = Counter()
        for d, items in records.groupby(day, sort=True):
            added.update(r["symbol"] for r in store.merge_news(str(d), items.to_dict("records")))
        for sym, items in news.groupby("symbol", sort=True):
            n = int(added.get(sym, 0))
            report.items[str(sym)] = {
                "rows_read": len(items), "rows_kept": len(items), "rows_added": n,
                "status": "imported" if n else "unchanged", "findings": [],
                "first": _day(items["published_at"].min().tz_convert(market_hours.NY)),
                "last": _day(items["published_at"].max().tz_convert(market_hours.NY))}
    return _finish(store, report)
