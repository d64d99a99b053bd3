"""The thread policy: set by importing aion_core, before OpenMP loads, following affinity."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = ("import json, os, sys; import aion_core, lightgbm; from aion_core.ml import model; "
         "from aion_core.threads import job_threads; "
         "print(json.dumps({'wait': os.environ.get('OMP_WAIT_POLICY'), 'threads': job_threads(),"
         " 'params': model.DEFAULT_PARAMS['num_threads']}))")


def _probe(env: dict[str, str], cpus: set[int] | None = None) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")} | env
    pre = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    done = subprocess.run([sys.executable, "-c", PROBE], env=clean, capture_output=True,
                          text=True, check=True, preexec_fn=pre)
    return json.loads(done.stdout)


def test_a_job_waits_passively_with_as_many_threads_as_it_may_use() -> None:
    got = _probe({})
    assert got["wait"] == "PASSIVE"
    assert got["threads"] == got["params"] == len(os.sched_getaffinity(0))


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no affinity on this OS")
def test_the_thread_count_follows_the_affinity_mask() -> None:
    one = min(os.sched_getaffinity(0))
    assert _probe({}, cpus={one}) == {"wait": "PASSIVE", "threads": 1, "params": 1}


def test_what_the_user_set_is_kept() -> None:
    got = _probe({"OMP_WAIT_POLICY": "ACTIVE", "OMP_NUM_THREADS": "3"})
    assert got == {"wait": "ACTIVE", "threads": 3, "params": 3}
