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
