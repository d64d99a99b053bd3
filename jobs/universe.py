"""`aion import universe FILE`: index membership intervals into the data root, checked.

The file holds `ticker, start_date, end_date` (the shared S&P 500 file's header; `start`,
`end`, `symbol`, `added`, `removed` are read too): a ticker was a member from its start (its
first session in the index) until its end (the date it left, exclusive; blank = still a
member), and may have several intervals. Every row is checked (UNIVERSE_CHECKS): a ticker
with a date that cannot be read, or an end on or before its start, is refused whole (which
of its rows is right cannot be told); overlapping or touching intervals of one ticker are
merged into one and reported. Aliases map a bar file's older ticker to the membership's
(CBG=CBRE): refused when the old ticker has intervals of its own or the new one has none.

The universe is stored whole (raw/universe.json, one per data root, atomically under its
lock, the import holding the nightly's lock like the other imports): a later import replaces
it. The report (logs/imports/universe_<time>.json and the command's lines) lists the
membership's tickers without bars and the bar symbols without membership, so a missing alias
or a name whose bars are absent shows at once. Unlike the bar imports, a universe may join a
synthetic market's root: it mixes no bars in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from aion_core.errors import ConfigurationError, DataError
from aion_core.ingest import files, normalise
from aion_core.ingest.columns import rename, session_dates
from aion_core.ingest.quality import Check
from aion_core.ml.universe import INTERVAL_COLUMNS, Membership, merge_overlaps
from aion_core.store import Store
from jobs.imports import ImportReport

UNIVERSE_ALIASES = {
    "ticker": ("ticker", "symbol", "name", "tic"),
    "start": ("start_date", "start", "date_added", "added", "from", "first_date"),
    "end": ("end_date", "end", "date_removed", "removed", "to", "last_date"),
}
UNIVERSE_CHECKS: Mapping[str, Check] = {
    "bad_date": Check("refused", "a start or end that cannot be read as a date (a blank end "
                      "is a member still): the ticker's membership cannot be told"),
    "end_before_start": Check("refused", "an interval that ends on or before its start"),
    "overlap_merged": Check("repaired", "overlapping or touching intervals of one ticker are "
                            "merged into one"),
    "alias_refused": Check("refused", "an alias whose old ticker has intervals of its own, or "
                           "whose new ticker has none"),
}
SHOWN = 12
_ALIAS = re.compile(r"^\s*([A-Za-z0-9.\-=^]+)\s*[=,:]\s*([A-Za-z0-9.\-=^]+)\s*$")


def parse_alias(text: str) -> tuple[str, str]:
    """`OLD=NEW` (or `OLD,NEW`) -> (OLD, NEW) upper case; ConfigurationError otherwise."""
    match = _ALIAS.match(text)
    if not match:
        raise ConfigurationError(f"an alias is OLD=NEW (a bar file's ticker = the "
                                 f"membership's, e.g. CBG=CBRE), got {text!r}")
    return match.group(1).upper(), match.group(2).upper()


def read_aliases(path: Path) -> dict[str, str]:
    """An aliases file: one `OLD=NEW` or `OLD,NEW` a line (`#` comments and blank lines
    skipped; a header line `old,new` is skipped too)."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigurationError(f"--aliases {path}: {exc.strerror or exc}") from None
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line or (n == 1 and line.lower().replace(" ", "") in ("old,new", "old=new")):
            continue
        try:
            old, new = parse_alias(line)
        except ConfigurationError as exc:
            raise ConfigurationError(f"--aliases {path} line {n}: {exc}") from None
        out[old] = new
    return out


@dataclass
class UniverseReport(ImportReport):
    """An ImportReport whose items are the membership's tickers, with the coverage of the
    data root's bars beside it."""

    coverage: dict[str, Any] | None = None
    aliases: dict[str, Any] | None = None

    def to_record(self) -> dict[str, Any]:
        return {**super().to_record(), "coverage": self.coverage or {},
                "aliases": self.aliases or {},
                "checks": {k: {"action": c.action, "meaning": c.meaning}
                           for k, c in UNIVERSE_CHECKS.items()}}

    def lines(self) -> list[str]:
        out = self._head(f"universe {self.options.get('name')}", "ticker(s)", "intervals")
        out += [f"  refused file {f['path']}: {f['reason']}" for f in self.files
                if f["status"] == "refused"]
        merged = [k for k, i in sorted(self.items.items())
                  if any(f["check"] == "overlap_merged" for f in i.get("findings", []))]
        if merged:
            out.append(f"  overlap_merged (repaired) {len(merged)} ticker(s): {_few(merged)}")
        out += [f"  refused {k}: {i['reason']}" for k, i in sorted(self.items.items())
                if i["status"] == "refused"]
        for old, why in sorted((self.aliases or {}).get("refused", {}).items()):
            out.append(f"  refused alias {old}: {why}")
        used = (self.aliases or {}).get("used", {})
        if used:
            out.append("  aliases: " + ", ".join(f"{o}={n}" for o, n in sorted(used.items())))
        out += _coverage_lines(self.coverage or {})
        if self.path is not None:
            out.append(f"  report: {self.path}")
        return out


def _few(names: list[str]) -> str:
    return ", ".join(names[:SHOWN]) + (f", ... ({len(names)})" if len(names) > SHOWN else "")


def _coverage_lines(cov: dict[str, Any]) -> list[str]:
    if not cov:
        return []
    if not cov.get("bar_symbols"):
        return ["  the data root holds no bars yet: coverage is checked when they come in"]
    span = f"{cov['first']}..{cov['last']}"
    return [f"  bars: {cov['bar_symbols']} symbol(s), {span}; {cov['members_in_span']} "
            f"ticker(s) were members within it",
            f"  members within {span} without bars ({len(cov['no_bars_in_span'])}): "
            f"{_few(cov['no_bars_in_span']) or 'none'}",
            f"  bar symbols without membership ({len(cov['no_membership'])}): "
            f"{_few(cov['no_membership']) or 'none'}",
            f"  bar symbols never members while they have bars "
            f"({len(cov['never_member_in_bars'])}): {_few(cov['never_member_in_bars']) or 'none'}"]


# --------------------------------------------------------------------------- reading


def _read(report: UniverseReport, path: Path | str) -> pd.DataFrame | None:
    """The file's rows as `ticker, start, end, start_raw, end_raw` (dates NaT where blank or
    unreadable; the raw text kept to tell the two apart), None when it cannot be read."""
    found, refused = files.discover([path])
    for where, reason in refused.items():
        report.file(where, "refused", reason=reason)
    frames = []
    for where in found:
        try:
            table = rename(files.read_table(where), UNIVERSE_ALIASES, ["ticker", "start"],
                           str(where))
        except DataError as exc:
            report.file(where, "refused", reason=str(exc).removeprefix(f"{where}: "))
            continue
        notes = [] if "end" in table else ["no end column: every interval is open (a member "
                                           "still)"]
        table = table.assign(end=table.get("end"))
        tickers = normalise.symbols(table["ticker"])
        bad = tickers.isna()
        if bad.any():
            notes.append(f"{int(bad.sum())} row(s) without a valid ticker dropped")
        table = table[~bad.to_numpy()]
        frames.append(pd.DataFrame({
            "ticker": tickers[~bad].to_numpy(dtype=object),
            "start": session_dates(table["start"]).to_numpy(),
            "end": session_dates(table["end"].astype("object")).to_numpy(),
            "end_given": table["end"].notna().to_numpy()
            & (table["end"].astype("string").str.strip() != "").fillna(False).to_numpy()}))
        report.file(where, "read", rows=len(table), notes=notes)
    return pd.concat(frames, ignore_index=True) if frames else None


def check_intervals(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """The kept intervals (INTERVAL_COLUMNS, merged) and an item per ticker (status, counts,
    findings, reason): UNIVERSE_CHECKS applied to `_read`'s rows."""
    bad_date = rows["start"].isna() | (rows["end_given"] & rows["end"].isna())
    backwards = ~bad_date & rows["end"].notna() & (rows["end"] <= rows["start"])
    items: dict[str, dict[str, Any]] = {}
    for ticker, group in rows.groupby("ticker", sort=True):
        findings = []
        for check, hit in (("bad_date", bad_date), ("end_before_start", backwards)):
            n = int(hit[group.index].sum())
            if n:
                day = group.loc[hit[group.index], "start"].dropna()
                findings.append(_finding(check, n, [] if day.empty else [_day(day.iloc[0])]))
        items[str(ticker)] = {"rows_read": len(group), "rows_kept": 0, "rows_added": 0,
                              "findings": findings}
        if findings:
            items[str(ticker)] |= {"status": "refused", "reason": "; ".join(
                f"{f['check']} ({f['rows']} row(s))" for f in findings)}
    refused = {t for t, i in items.items() if i.get("status") == "refused"}
    kept = rows[~rows["ticker"].isin(refused)][INTERVAL_COLUMNS]
    merged, lost = merge_overlaps(kept)
    for ticker, n in lost.items():
        items[ticker]["findings"].append(_finding("overlap_merged", n, [], f"{n} row(s) "
                                                  "merged into an interval they overlap"))
    for ticker, n in merged.groupby("ticker").size().items():
        items[str(ticker)]["rows_kept"] = int(n)
    return merged, items


def _finding(check: str, rows: int, dates: list[str], detail: str = "") -> dict[str, Any]:
    return {"check": check, "rows": rows, "dates": dates, "detail": detail,
            "action": UNIVERSE_CHECKS[check].action}


def _day(ts: Any) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def check_aliases(aliases: Mapping[str, str], tickers: set[str]
                  ) -> tuple[dict[str, str], dict[str, str]]:
    """(the aliases kept, the refused ones with why)."""
    kept, refused = {}, {}
    for old, new in sorted(aliases.items()):
        if old == new:
            continue
        if old in tickers:
            refused[old] = (f"{old} has membership intervals of its own: an alias would give "
                            f"its bars {new}'s as well")
        elif new not in tickers:
            refused[old] = f"{new} has no membership interval (kept or read)"
        else:
            kept[old] = new
    return kept, refused


def coverage(membership: Membership, bars: pd.DataFrame) -> dict[str, Any]:
    """What the membership and the bars say of each other. bars: `symbol, date` rows."""
    if bars.empty:
        return {"bar_symbols": 0}
    first, last = bars["date"].min(), bars["date"].max()
    symbols = set(bars["symbol"])
    spelled = membership.by_symbol()
    active = membership.active(first, last)
    member_rows = membership.mask(bars["symbol"].to_numpy(), bars["date"].to_numpy())
    ever = set(bars.loc[member_rows, "symbol"])
    return {"bar_symbols": len(symbols), "first": _day(first), "last": _day(last),
            "members_in_span": len(active),
            "no_bars_in_span": sorted(t for t in active
                                      if not membership.bar_ticker(t) & symbols),
            "no_membership": sorted(symbols - set(spelled["ticker"])),
            "never_member_in_bars": sorted((symbols & set(spelled["ticker"])) - ever)}


def read_membership(store: Store) -> Membership | None:
    """The data root's universe as a Membership, None when it holds none (a corrupt file
    raises CorruptFileError naming it: a job must not quietly fall back to every name)."""
    doc = store.read_universe()
    return None if doc is None else Membership.from_document(doc)


# --------------------------------------------------------------------------- the import


def import_universe(store: Store, path: Path | str, name: str = "sp500",
                    aliases: Mapping[str, str] | None = None) -> UniverseReport:
    """Read, check and store one membership file as the data root's universe `name`."""
    stamp = datetime.now(UTC)
    import_id = f"universe_{stamp:%Y%m%dT%H%M%S}"
    n = 1
    while store.path("import_report", import_id=import_id).exists():
        n += 1
        import_id = f"universe_{stamp:%Y%m%dT%H%M%S}_{n}"
    report = UniverseReport("universe", import_id, stamp.isoformat(timespec="seconds"),
                            {"name": name, "file": str(path), "aliases": dict(aliases or {})})
    rows = _read(report, path)
    if rows is None or rows.empty:
        return _finish(store, report)
    intervals, report.items = check_intervals(rows)
    kept, refused = check_aliases(aliases or {}, set(intervals["ticker"]))
    report.aliases = {"used": kept, "refused": refused}
    if intervals.empty:
        return _finish(store, report)
    doc = {"schema": 1, "name": name, "source": str(path), "imported_at": report.started_at,
           "intervals": [{"ticker": t, "start": _day(s), "end": None if pd.isna(e) else _day(e)}
                         for t, s, e in intervals.itertuples(index=False)],
           "aliases": kept}
    with store.file_lock("universe"):
        old = store.read_universe()
        same = old is not None and all(old.get(k) == doc[k]
                                       for k in ("name", "intervals", "aliases"))
        if not same:
            store.write_json("universe", doc)
    for item in report.items.values():
        if item.get("status") != "refused":
            item["status"] = "unchanged" if same else "imported"
            item["rows_added"] = 0 if same else item["rows_kept"]
    unread: dict[str, str] = {}  # a corrupt bars file is the bars import's to report
    bars = store.read_daily_panel(symbols=store.daily_symbols(), refused=unread)
    report.coverage = coverage(Membership.from_document(doc), bars[["symbol", "date"]])
    return _finish(store, report)


def _finish(store: Store, report: UniverseReport) -> UniverseReport:
    report.path = store.path("import_report", import_id=report.import_id)
    store.write_json("import_report", report.to_record(), import_id=report.import_id)
    if report.count("imported"):
        store.record_source("universe", "import", f"{report.import_id}: "
                            f"{report.options['name']}, {report.count('imported')} ticker(s)",
                            report.started_at)
    return report
