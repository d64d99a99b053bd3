"""Real data in: vendor files read and normalised to the contract, and checked.

`columns` (aliases and date encodings, shared with the store's readers), `quality` (the
checks of daily bars: pure), `normalise` (vendor frames to the contract's), `files` (reading
a user's CSV, CSV.gz, Parquet and JSONL files). Orchestrated by jobs/imports.py.
"""
