"""Shared fixtures: data roots in tmp_path, filled from the synthetic market."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from aion_core.providers.synthetic import SyntheticMarket, SyntheticSpec
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


# --------------------------------------------------------------------------- synthetic market
# A small market (12 symbols x 2 years, seed 7, fixed end) shared by everyone's tests: fixed
# `end` keeps results independent of the day the suite runs.

SMALL_MARKET = {"n_symbols": 12, "years": 2.0, "seed": 7, "intraday_days": 2,
                "end": date(2026, 11, 20)}


@pytest.fixture(scope="session")
def synthetic_market() -> SyntheticMarket:
    """The small synthetic market (read-only: do not mutate what it returns)."""
    return SyntheticMarket(SyntheticSpec(**SMALL_MARKET))


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data root filled by write_demo_data, copied per test by `demo_root`."""
    from jobs.demo import write_demo_data

    root = tmp_path_factory.mktemp("demo_template") / "data"
    write_demo_data(Store(root), **SMALL_MARKET)
    return root


@pytest.fixture
def demo_root(tmp_path: Path, _demo_template: Path) -> Store:
    """A data root in tmp_path filled with the small synthetic market (a private copy)."""
    root = tmp_path / "data"
    shutil.copytree(_demo_template, root)
    return Store(root)
