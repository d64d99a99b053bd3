"""A user's files, read as they come: CSV (also .gz, .txt, .tsv), Parquet, JSON and JSONL.

Folders are walked for those suffixes, skipping hidden files and names that start with `_`
(`_metadata.csv`, `_SUCCESS`: sidecars, not data). Every problem is a DataError whose one
line names the file: an unknown suffix, an empty file, a table that cannot be parsed.
yfinance's own CSV export (three header lines: Price, Ticker, Date) is recognised.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from aion_core.errors import DataError

SUFFIXES = (".csv", ".csv.gz", ".txt", ".tsv", ".tsv.gz", ".parquet", ".pq", ".jsonl",
            ".jsonl.gz", ".ndjson", ".json")
#: Texts read as missing. "NA" is not among them: it is a ticker (National Bank Holdings...).
MISSING = ["", "null", "NULL", "NaN", "nan", "N/A", "#N/A", ".", "-", "None"]


def suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in sorted(SUFFIXES, key=len, reverse=True) if name.endswith(s)), "")


def stem(path: Path) -> str:
    """The name without its data suffix: `aapl.us.txt` -> `aapl.us`."""
    return path.name[: len(path.name) - len(suffix(path))] if suffix(path) else path.stem


def discover(paths: Iterable[Path | str]) -> tuple[list[Path], dict[str, str]]:
    """The data files under `paths` (sorted within each folder) and the paths refused."""
    found: list[Path] = []
    refused: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and suffix(p)
                            and not p.name.startswith((".", "_")))
        elif path.is_file():
            if suffix(path):
                found.append(path)
            else:
                refused[str(path)] = (f"unknown format {''.join(path.suffixes) or '(none)'}: "
                                      f"expected one of {', '.join(SUFFIXES)}")
        else:
            refused[str(path)] = "no such file or folder"
    return list(dict.fromkeys(found)), refused


def read_table(path: Path) -> pd.DataFrame:
    """The file as a frame of its own columns (dates still as written). Raises DataError."""
    kind = suffix(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")
    try:
        if kind in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif kind in (".jsonl", ".jsonl.gz", ".ndjson"):
            frame = pd.read_json(path, lines=True, dtype=False, convert_dates=False)
        elif kind == ".json":
            frame = pd.read_json(path, dtype=False, convert_dates=False)
        else:
            frame = _read_text(path, kind.startswith(".tsv"))
    except (ValueError, OSError, EOFError, pd.errors.ParserError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise DataError(f"{path}: cannot be read as {kind.lstrip('.')} ({reason})") from None
    if frame.empty:
        raise DataError(f"{path}: no rows")
    return frame


def _read_text(path: Path, tsv: bool) -> pd.DataFrame:
    line = _first_line(path)
    sep = "\t" if tsv or ("\t" in line and "," not in line) else \
        ";" if ";" in line and "," not in line else ","
    if sep not in line:
        raise ValueError("one column only: not a comma-, semicolon- or tab-separated table")
    options = {"sep": sep, "keep_default_na": False, "na_values": MISSING}
    if line.split(sep)[0].strip().lower() == "price":
        head = pd.read_csv(path, nrows=2, **options)
        if len(head) and str(head.iloc[0, 0]).strip().lower() == "ticker":
            return _read_yfinance_csv(path, options)
    return pd.read_csv(path, low_memory=False, **options)


def _first_line(path: Path) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", errors="replace") as fh:
        return fh.readline()


def _read_yfinance_csv(path: Path, options: dict) -> pd.DataFrame:
    """`yf.download(...).to_csv()`: a (Price, Ticker) header, then a `Date` line."""
    wide = pd.read_csv(path, header=[0, 1], skiprows=[2], index_col=0, **options)
    long = wide.stack(level=1, future_stack=True).reset_index()
    long.columns = ["date", "symbol", *long.columns[2:]]
    return long.dropna(subset=[c for c in long.columns if str(c).lower() == "close"])
