"""The data root read as of a session: what the nightly, the replay and the app see of it.

Each reader drops what was not known at `as_of`'s close as it reads, so nothing downstream
can look ahead: macro observations dated after it, headlines published after its close.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from aion_core import market_hours
from aion_core.errors import CorruptFileError


class Store(Protocol):
    """What these readers ask of the data root (store.root.Store has it): typed by its shape,
    so this module needs nothing of the Store that calls it and no import goes back up."""

    def macro_series_ids(self) -> list[str]: ...
    def read_macro(self, series: str) -> pd.DataFrame | None: ...
    def news_days(self) -> list[str]: ...
    def read_news(self, day: str) -> list[dict[str, Any]] | None: ...
    def path(self, key: str, **fields: Any) -> Path: ...
    def read_daily_panel(self) -> pd.DataFrame: ...

#: The fields of a stored headline (CONTRACT.md, news_cache).
NEWS_FIELDS = ("symbol", "published_at", "headline", "source")


def macro(store: Store, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """Long `series, date, value` of every stored series, observations dated <= as_of."""
    frames = []
    for sid in store.macro_series_ids():
        obs = store.read_macro(sid)
        if obs is not None and not obs.empty:
            frames.append(obs[obs["date"] <= as_of].assign(series=sid))
    return pd.concat(frames, ignore_index=True)[["series", "date", "value"]] if frames else None


def news(store: Store, as_of: pd.Timestamp) -> pd.DataFrame | None:
    """Headlines `symbol, published_at` (UTC), `headline, source` published by as_of's close.

    Built column by column, one day file at a time, as Arrow arrays converted to pandas
    once: a list of every headline's dict (750k of them for 500 symbols x 10 years) is what
    made this slow, as the garbage collector walks it again and again and pandas infers a
    frame from it row by row. Headlines after the close are dropped from the few day files
    that hold any, so the text of the others is never copied.
    """
    close = market_hours.session_open_close(as_of)[1]
    last_day = as_of.strftime("%Y-%m-%d")
    with _cyclic_gc_paused():
        days = [_news_columns(store, day) for day in store.news_days() if day <= last_day]
    days = [cols for cols in days if len(cols[0])]
    if not days:
        return None
    stamps = pa.chunked_array([cols[1] for cols in days], pa.string()).to_pandas()
    published = pd.to_datetime(stamps, utc=True, format="ISO8601")
    keep = (published <= close).to_numpy()
    ends = np.cumsum([len(cols[0]) for cols in days])
    days = [cols if keep[end - len(cols[0]):end].all()
            else [c.filter(keep[end - len(cols[0]):end]) for c in cols]
            for cols, end in zip(days, ends, strict=True)]
    news = pa.table([pa.chunked_array(chunks, pa.string()) for chunks in zip(*days, strict=True)],
                    names=list(NEWS_FIELDS)).to_pandas()
    news["published_at"] = published[keep].reset_index(drop=True)
    return news


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Parsing JSON allocates a dict per headline, and each few hundred allocations start a
    cyclic collection (a third of the read time); the dicts are freed by reference counting
    file by file and hold no cycles, so collecting meanwhile finds nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _news_columns(store: Store, day: str) -> list[pa.Array]:
    """NEWS_FIELDS of one day file as text arrays (null where an item lacks the field)."""
    items = store.read_news(day) or []
    try:
        return [pa.array([item.get(key) for item in items], pa.string()) for key in NEWS_FIELDS]
    except (AttributeError, pa.ArrowException) as exc:
        raise CorruptFileError(store.path("news_cache", day=day),
                               f"not a list of headline objects with text fields ({exc})") from exc


def closes(store: Store) -> pd.DataFrame | None:
    """Closes of the universe (index session dates, one column per symbol, USD), every file
    conformed as Store.read_daily conforms it."""
    panel = store.read_daily_panel()
    if panel.empty:
        return None
    wide = panel.pivot(index="date", columns="symbol", values="close")
    wide.columns.name = None
    return wide.sort_index()
