"""SIGKILL at random moments of the jobs that trade (the swing bots' run, the replay, the
intraday cycles), each kill followed by a consistency check, a rerun to completion and the
check again (issue 12, part 7): every other kill is aimed at the trading phase, where a kill
can leave a trade log ahead of its state.

The harness is tests/kills.py; the jobs that train models and write reports are killed in
tests/test_kills.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from kills import JOBS, Job, Launcher, kill_and_rerun  # noqa: E402

pytestmark = pytest.mark.slow

KILL_JOBS = [j for j in JOBS if j.trades]


@pytest.mark.parametrize("job", KILL_JOBS, ids=[j.name for j in KILL_JOBS])
def test_a_killed_job_leaves_a_consistent_root_and_a_rerun_finishes_it(
        job: Job, kill_launcher: Launcher, kill_template: Path, tmp_path: Path) -> None:
    kill_and_rerun(kill_launcher, job, kill_template, tmp_path)
