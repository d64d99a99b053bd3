"""Malformed documents for the fault-injection tests: what a hand edit, an older version's
bug or a disk fault can leave in the data root, written past the store's checks."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def write_unchecked(path: Path, doc: Any) -> Path:
    """`doc` as JSON at `path` (gzip for .gz), bypassing the store's checks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(doc).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


#: What can go wrong with a document, in the order the suite tries them.
CASES = ("truncated", "wrong_shape", "wrong_types", "nan", "huge", "symlink_out")


def _mistyped(value: Any) -> Any:
    """Every value of a document swapped for one of another type."""
    if isinstance(value, dict):
        return {k: _swap(v) for k, v in value.items()}
    return [_swap(v) for v in value] if isinstance(value, list) else _swap(value)


def _swap(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, int | float):
        return "x"
    if isinstance(value, str):
        return 5
    if isinstance(value, dict):
        return ["x"]
    return {"x": 1} if isinstance(value, list) else []


def _nan(value: Any) -> Any:
    """Every number of a document made NaN (Python's json writes and reads the token)."""
    if isinstance(value, dict):
        return {k: _nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan(v) for v in value]
    return float("nan") if isinstance(value, int | float) and not isinstance(value, bool) \
        else value


def _load(path: Path) -> Any:
    data = path.read_bytes()
    data = gzip.decompress(data) if path.name.endswith(".gz") else data
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in data.splitlines() if line.strip()]
    return json.loads(data)


def _dump(path: Path, doc: Any) -> None:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(d) + "\n" for d in doc))
    else:
        write_unchecked(path, doc)


def corrupt(path: Path, case: str, outside: Path, huge_bytes: int) -> None:
    """Damage the JSON or JSONL document at `path` as `case` says. `outside`: a folder out
    of the data root for the link to point into; `huge_bytes`: the size a huge one reaches."""
    if case == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif case == "wrong_shape":
        _dump(path, [[1, 2, 3]] if path.suffix == ".jsonl" else [1, 2, 3])
    elif case == "wrong_types":
        doc = _load(path)
        _dump(path, [_mistyped(d) for d in doc] if path.suffix == ".jsonl" else _mistyped(doc))
    elif case == "nan":
        _dump(path, _nan(_load(path)))
    elif case == "huge":
        pad = {"pad": "x" * huge_bytes}
        _dump(path, [pad] if path.suffix == ".jsonl" else pad)
    elif case == "symlink_out":
        target = outside / path.name
        target.write_bytes(path.read_bytes())
        path.unlink()
        path.symlink_to(target)
    else:
        raise ValueError(case)
