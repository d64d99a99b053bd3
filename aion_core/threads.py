"""The thread policy of every CPU-heavy job, set once: passive OpenMP waiting and as many
threads as this process may run on.

Why passive waiting: LightGBM's OpenMP threads spin at every barrier by default (libgomp spins
~300,000 times before sleeping). On a busy machine a spinning thread burns the time slice its
sibling needs to reach the barrier, so a fit slowed 20x beside other work instead of 2x: the
50-symbol synthetic nightly's training took 112 s at load 7-8 against ~3 s quiet. With
OMP_WAIT_POLICY=PASSIVE a waiting thread sleeps; a quiet fit costs nothing measurable
(bench/bench_contention.py).

Why the affinity mask, not os.cpu_count(): a job pinned with taskset, a systemd CPUAffinity=
or a container's cpuset may use fewer CPUs than the machine has, and more threads than CPUs
only queue behind each other at those barriers.

libgomp reads OMP_WAIT_POLICY once, when it is loaded (the first `import lightgbm` or
scikit-learn), so `configure_process` runs when `aion_core` is imported: before any job, the
scheduler, the app or a Dask worker (which imports aion_core to run its tasks) loads OpenMP.
A value the user set in the environment is kept.
"""

from __future__ import annotations

import os

#: Environment variables set for OpenMP (and the BLAS libraries that read OMP_NUM_THREADS)
#: unless the user set them.
WAIT_POLICY = "PASSIVE"


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask where the OS has one, else all."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


def job_threads() -> int:
    """The thread count for LightGBM and other OpenMP work: OMP_NUM_THREADS when the user
    set it to a positive number, else `usable_cpus()`."""
    raw = os.environ.get("OMP_NUM_THREADS", "").strip()
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return usable_cpus()


def configure_process() -> None:
    """Set the policy in this process's environment (kept by the processes it starts)."""
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
    os.environ.setdefault("OMP_NUM_THREADS", str(usable_cpus()))
