"""The only reader and writer of the data root: atomic files and locks (files), schemas, documents,
the Store (root), as-of readers (asof), raw bars on disk or S3 (raw). Imports config, knobs, bots.

Guarantees (CONTRACT.md): every file is written whole or not at all (temporary file in the same
folder, fsync, os.replace, fsync of the folder); writers of one file are serialised with a file
lock beside it; a missing file reads as None ("nothing yet"); a corrupt one raises
CorruptFileError naming the path. JSONL logs are appended durably; a line torn by a crash is
skipped and reported by readers, and trimmed by the next appender before it writes.
"""

from aion_core.store.files import (
    LOCK_TIMEOUT_S,
    JsonlRead,
    append_jsonl,
    atomic_write_bytes,
    lock,
    locked,
    read_json,
    read_jsonl,
    read_parquet,
    read_text,
    staged_dir,
    tail_lines,
    update_json,
    write_json,
    write_parquet,
    write_text,
)
from aion_core.store.root import LiveJournal, Store

__all__ = ["LOCK_TIMEOUT_S", "JsonlRead", "LiveJournal", "Store", "append_jsonl",
           "atomic_write_bytes", "lock", "locked", "read_json", "read_jsonl", "read_parquet",
           "read_text", "staged_dir", "tail_lines", "update_json", "write_json", "write_parquet",
           "write_text"]
