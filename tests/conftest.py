"""Shared fixtures: data roots in tmp_path, filled from the synthetic market."""

from __future__ import annotations

from pathlib import Path

import pytest

from aion_core.store import Store

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty data root."""
    return Store(tmp_path / "data")


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a clean skip where it is absent (as on a user's machine)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA
