"""SIGKILL at random moments of the jobs that train models and write reports (the nightly,
the backtest, the evaluation), each kill followed by a consistency check, a rerun to
completion and the check again (issue 12, part 7).

The harness (how a job is run, killed and checked, and what consistent means) is
tests/kills.py; the jobs that trade (bots, replay, intraday) are killed in
tests/test_kills_trading.py, a file of their own so that the two halves run side by side.
`AION_KILLS=30 pytest -m slow tests/test_kills.py tests/test_kills_trading.py -s` kills each
job 30 times; the figures are printed per job and as one line at the end of each module.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from kills import JOBS, Job, Launcher, kill_and_rerun  # noqa: E402

pytestmark = pytest.mark.slow

KILL_JOBS = [j for j in JOBS if not j.trades]


@pytest.mark.parametrize("job", KILL_JOBS, ids=[j.name for j in KILL_JOBS])
def test_a_killed_job_leaves_a_consistent_root_and_a_rerun_finishes_it(
        job: Job, kill_launcher: Launcher, kill_template: Path, tmp_path: Path) -> None:
    kill_and_rerun(kill_launcher, job, kill_template, tmp_path)
