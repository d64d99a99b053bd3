"""The kill harness of tests/test_kills.py and tests/test_kills_trading.py: SIGKILL at random
moments of every job, each kill followed by a consistency check, a rerun to completion and
the check again (issue 12, part 7).

Each job runs as the real command (`aion_core.cli`'s main, as `python -m aion_core ...` runs
it) in a process of its own, on a private copy of a small synthetic root (12 symbols, 15
months, two sessions of minute bars): first once uninterrupted (its duration sets the kill
delays; its books are the reference), then, per kill, on a fresh copy, killed with SIGKILL
after a delay drawn from a seeded RNG over that duration. The processes are forked from a
launcher that has already imported what the jobs import (`Launcher`): those imports were two
to three seconds of every run in which a job writes nothing, so the kills now land in the
jobs' work, and a run costs its work only. A forked run's books, predictions and reports are
those of a `python -m aion_core` run. For the
jobs that trade, every other kill is aimed at the trading phase instead (it waits for the
first trade-log line, then draws the delay over what remains of an uninterrupted run), since
that is where a kill can leave a log ahead of its state.

Consistent means (`inconsistencies`): every JSON document, trade log line and Parquet file
of the root (and of a backtest's report folder) reads through the store, whose document
models refuse a malformed one; every LightGBM model file loads; no order is doubled (an
order_id twice, or one bot filling the same symbol and side twice in one run); and each
bot's state agrees with its trade log the way the desk guarantees (aion_core.bots.desk): the
book rebuilt from the fills of the runs the state has closed equals the state's, and the log
holds at most one run more, the run that died between its fills and its state write.
After a rerun no run may be left open, and the books, predictions and reports must equal the
uninterrupted run's.

`make test` kills each job twice (for the trading jobs: once anywhere, once in the trading
phase); `AION_KILLS=30 pytest -m slow tests/test_kills.py tests/test_kills_trading.py -s`
kills each job 30 times; the figures are printed per job and as one line at the end of each
module.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb
import pandas as pd
import pytest

from aion_core.bots.desk import run_key
from aion_core.bots.ledger import Book, Fill, session_key
from aion_core.bots.registry import BOTS, Bot
from aion_core.config import HORIZONS
from aion_core.store import Store, read_json, read_jsonl, read_parquet
from jobs.demo import write_demo_data
from jobs.intraday import session_cycles

DEFAULT_KILLS = 2  # one random kill and, for the trading jobs, one in the trading phase
KILLS = int(os.environ.get("AION_KILLS", "0")) or DEFAULT_KILLS
INTRADAY_SESSION = "2026-11-20"

# The intraday job as the scheduler drives it: one cycle after another (here the 25 cycles
# of one session), each through the `aion intraday cycle` command, in one process so that a
# session takes seconds instead of 25 interpreter start-ups.
CYCLES = """
import sys
from aion_core.cli import app
root = sys.argv[1]
for at in sys.argv[2:]:
    code = app(["intraday", "cycle", "--at", at, "--data-dir", root], standalone_mode=False)
    if code:
        sys.exit(code)
"""


# --------------------------------------------------------------------------- the jobs


def _momentum_brain(store: Store) -> None:
    """A rolling brain as of the third-last session, ranking names by 5-day momentum: the
    bots then trade the second-last session, which has bars, so fills are at its open and
    the books do not depend on the clock."""
    close = store.read_daily_panel().pivot(index="date", columns="symbol", values="close")
    as_of = close.index[-3]
    momentum = (close.loc[as_of] / close.shift(5).loc[as_of] - 1).fillna(0.0)
    symbols = {s: {"last_close": float(close.loc[as_of, s]), "predictions": {
        h: {"expected_return": float(m), "confidence": 0.8, "score": 0.0, "rank": 1}
        for h in HORIZONS}} for s, m in momentum.items()}
    store.write_json("rolling_brain", {"schema": 1, "generated_at": "2026-11-19T00:00:00Z",
                                       "as_of": f"{as_of:%Y-%m-%d}",
                                       "horizons": list(HORIZONS), "models": {},
                                       "symbols": symbols})


@dataclass(frozen=True)
class Job:
    """A job as a command on (data root, report folder), and what its root needs first."""

    name: str
    argv: Callable[[Path, Path], list[str]]
    prepare: Callable[[Store], None] = lambda store: None
    trades: bool = False  # aim every other kill at its trading phase
    report: bool = False  # a finished run leaves a report folder


def _aion(*args: str) -> Callable[[Path, Path], list[str]]:
    return lambda root, out: [sys.executable, "-m", "aion_core", *args, "--data-dir", str(root)]


JOBS = [
    Job("nightly", _aion("nightly", "--skip-fetch")),
    Job("bots", _aion("bots", "run"), prepare=_momentum_brain, trades=True),
    Job("replay", _aion("replay", "--start", "2026-11-02", "--end", "2026-11-20"),
        trades=True),
    Job("backtest", lambda root, out: [*_aion("backtest", "--start", "2026-11-02", "--end",
                                              "2026-11-20")(root, out), "--out", str(out)],
        report=True),
    # The composite: the kill lands in the job's own machinery (its chunks, the report, the
    # trial registry) rather than in LightGBM's folds, which the nightly's kills cover.
    Job("evaluate", _aion("evaluate", "--start", "2026-10-15", "--end", "2026-11-20",
                          "--retrain-every", "20", "--model", "composite")),
    Job("intraday", lambda root, out: [
        sys.executable, "-c", CYCLES, str(root),
        *(t.isoformat() for t in session_cycles(pd.Timestamp(INTRADAY_SESSION)))],
        prepare=lambda store: store.write_json("bots_config", {"dt": {"min_confidence": 0.0}}),
        trades=True),
]


# --------------------------------------------------------------------------- consistency


def _files(folder: Path, pattern: str) -> list[Path]:
    """Files of `folder` matching `pattern`, without a writer's temporary files."""
    return [p for p in sorted(folder.rglob(pattern)) if p.is_file() and not p.name.startswith(".")]


#: Every kind of file a job writes that has a reader, by name pattern.
READERS: list[tuple[str, Callable[[Path], Any]]] = [
    ("*.json", read_json), ("*.json.gz", read_json), ("*.jsonl", read_jsonl),
    ("*.parquet", read_parquet), ("lgbm_*.txt", lambda p: lgb.Booster(model_file=str(p)))]


def unreadable(folder: Path) -> list[str]:
    """Every file the store (or LightGBM, for a model) refuses, one line each."""
    out = []
    for pattern, read in READERS:
        for path in _files(folder, pattern):
            try:
                read(path)
            except Exception as exc:  # any failure to read is the finding
                out.append(f"{path.relative_to(folder)}: {type(exc).__name__}: {exc}")
    return out


def _fills(store: Store, bot: Bot) -> list[Fill]:
    return [Fill.from_record(r) for p in bot.trade_files(store.root)
            for r in read_jsonl(p).records]


def _closed_through(bot: Bot, state: dict[str, Any] | None) -> str:
    """The last run the state has closed, as an order id's run key ("" when none)."""
    if state is None:
        return ""
    if bot.kind == "swing":
        return session_key(state["as_of"]) if state.get("as_of") else ""
    return state.get("last_cycle") or ""


def doubled(fills: list[Fill]) -> int:
    """Fills beyond the first of one order id, or of one (bot, run, symbol, side)."""
    by_id = len(fills) - len({f.order_id for f in fills})
    by_run = len(fills) - len({(f.bot, run_key(f.order_id), f.symbol, f.side) for f in fills})
    return max(by_id, by_run)


@dataclass
class Books:
    """What the trade logs and states of a root say, beside what is wrong with them."""

    problems: list[str] = field(default_factory=list)
    doubled: int = 0
    open_runs: int = 0  # bots whose log holds a run their state has not closed


def check_books(store: Store) -> Books:
    out = Books()
    for bot in BOTS.values():
        fills, state = _fills(store, bot), read_json(bot.state_path(store.root))
        extra = doubled(fills)
        out.doubled += extra
        if extra:
            out.problems.append(f"{bot.name}: {extra} doubled fills")
        closed = _closed_through(bot, state)
        later = sorted({run_key(f.order_id) for f in fills if run_key(f.order_id) > closed})
        out.open_runs += bool(later)
        if len(later) > 1:
            out.problems.append(f"{bot.name}: the log is {len(later)} runs ahead of the state "
                                f"(closed through {closed!r}, logged {later})")
        if state is None:
            continue
        book = Book.from_fills(state["initial_cash"],
                               [f for f in fills if run_key(f.order_id) <= closed])
        if not book.same_as(Book.from_state(state)):
            out.problems.append(f"{bot.name}: state (cash {state['cash']}) disagrees with "
                                f"its log through run {closed!r}")
    return out


def report_doubled(out: Path) -> int:
    """Doubled fills in a backtest report's trades.jsonl."""
    path = out / "trades.jsonl"
    return doubled([Fill.from_record(r) for r in read_jsonl(path).records]) if path.exists() \
        else 0


@dataclass
class Check:
    problems: list[str]
    doubled: int
    open_runs: int

    @property
    def ok(self) -> bool:
        return not self.problems


def check(job: Job, root: Path, out: Path, settled: bool) -> Check:
    """The consistency check; `settled`: after a run that finished (no run may be open, a
    report must be whole)."""
    problems = unreadable(root) + (unreadable(out) if out.exists() else [])
    if problems:  # the books below would only repeat what cannot be read
        return Check(problems, 0, 0)
    books = check_books(Store(root))
    report = report_doubled(out)
    problems = books.problems + ([f"backtest report: {report} doubled fills"] if report else [])
    if settled and books.open_runs:
        problems.append(f"{books.open_runs} bot(s) left with a run their state has not closed")
    markers = _files(root / "logs" / "running", "*.json")
    if settled and markers:  # a finished run replaces its started marker (jobs/running.py)
        problems.append(f"started markers left by a finished run: {[p.name for p in markers]}")
    missing = [n for n in ("metrics.json", "equity.parquet", "trades.jsonl")
               if not (out / n).exists()]
    if settled and job.report and missing:
        problems.append(f"report folder without {', '.join(missing)} after a finished run")
    return Check(problems, books.doubled + report, books.open_runs)


def _rounded(frame: pd.DataFrame) -> dict[str, list[Any]]:
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: frame[c].round(8) for c in floats}).to_dict("list")


def outcome(root: Path, out: Path) -> dict[str, Any]:
    """What a finished run produced, clock-free: books, predictions, the backtest report."""
    store = Store(root)
    snap: dict[str, Any] = {}
    for bot in BOTS.values():
        fills, state = _fills(store, bot), read_json(bot.state_path(root))
        if fills or state:
            snap[bot.name] = {
                "fills": sorted((f.order_id, f.qty, round(f.price, 6), round(f.fees, 6),
                                 round(f.realized_pnl, 4)) for f in fills),
                "cash": round(state["cash"], 4) if state else None,
                "positions": {s: p["qty"] for s, p in state["positions"].items()} if state
                else None,
                "closed": _closed_through(bot, state),
                "equity": [round(e["equity"], 4) for e in state["equity_history"]] if state
                else None}
    brain = store.read_json("rolling_brain")
    if brain is not None:
        snap["brain"] = brain["symbols"]
    history = read_parquet(store.path("prediction_history"))
    if history is not None:
        snap["prediction_history"] = _rounded(history)
    for path in _files(root / "research", "predictions.parquet"):
        snap[path.parent.name] = _rounded(pd.read_parquet(path))
    if (out / "metrics.json").exists():
        snap["metrics"] = json.loads((out / "metrics.json").read_text())
        snap["trades"] = (out / "trades.jsonl").read_text()
    return snap


# --------------------------------------------------------------------------- running


def _env() -> dict[str, str]:
    return {**os.environ, "AION_DEBUG": "1"}


def _start(job: Job, root: Path, out: Path) -> subprocess.Popen:
    # its own session, so that the kill reaches anything it started too
    return subprocess.Popen(job.argv(root, out), cwd=root.parent, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


# The launcher: a Python process that has imported what the jobs import (two to three
# seconds of every run, during which a job writes nothing) and then forks one process per
# run. The child takes a session of its own (as start_new_session does), then runs the
# command as `python -m aion_core ...` or `python -c CODE ...` would run it after their
# imports and exits the way they do (SystemExit, atexit, non-daemon threads joined). One
# request per line on stdin, one JSON answer per line on stdout.
LAUNCHER = r"""
import json, os, sys, threading

import lightgbm  # noqa: F401
import aion_core.cli
import aion_core.ml.model  # noqa: F401
import jobs.bots, jobs.evaluate, jobs.intraday, jobs.nightly, jobs.replay  # noqa: F401


def serve():
    # A fork copies one thread. No Python thread may run here; the native ones the imports
    # start (OpenBLAS's pools, pyarrow's jemalloc) have fork handlers of their own, as for
    # multiprocessing's fork.
    if threading.active_count() != 1:
        sys.exit(f"the launcher runs {threading.enumerate()}: it cannot fork")
    answer = lambda doc: print(json.dumps(doc), flush=True)
    answer({"ready": os.getpid()})
    for line in sys.stdin:
        ask = json.loads(line)
        if ask["op"] == "start":
            ready, tell = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(ready)
                os.setsid()
                os.write(tell, b"s")
                os.close(tell)
                return ask
            os.close(tell)
            os.read(ready, 1)  # the child leads its own session: killpg reaches it
            os.close(ready)
            answer({"pid": pid})
        else:  # "poll": the exit code of a child that ended (waiting when "block"), or null
            pid, status = os.waitpid(ask["pid"], 0 if ask["block"] else os.WNOHANG)
            answer({"code": os.waitstatus_to_exitcode(status) if pid else None})
    return None


ask = serve()
if ask is not None:
    sys.stdin = open(os.devnull)
    os.dup2(sys.stdin.fileno(), 0)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.dup2(os.open(ask["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
    os.chdir(ask["cwd"])
    os.environ.clear()
    os.environ.update(ask["env"])
    argv = ask["argv"]
    if argv[:2] == ["-m", "aion_core"]:
        sys.argv = [aion_core.__file__, *argv[2:]]
        aion_core.cli.main()
    else:  # ["-c", CODE, *args]
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
"""


class Launcher:
    """The launcher process, and runs started from it (`Run`s)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCHER], env=_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._ask(None)  # its "ready" line

    def _ask(self, doc: dict[str, Any] | None) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if doc is not None:
            self.proc.stdin.write(json.dumps(doc) + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the job launcher ended (exit {self.proc.wait()})")
        return json.loads(line)

    def start(self, job: Job, root: Path, out: Path, stderr: Path | None = None) -> Run:
        """`job` on (root, out) in a process of its own, as _start runs it."""
        argv = job.argv(root, out)
        assert argv[0] == sys.executable, argv
        pid = self._ask({"op": "start", "argv": argv[1:], "cwd": str(root.parent),
                         "env": _env(), "stderr": str(stderr or os.devnull)})["pid"]
        return Run(self, pid)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Run:
    """A job process started by the launcher: what the tests use of a Popen."""

    def __init__(self, launcher: Launcher, pid: int) -> None:
        self.launcher, self.pid = launcher, pid
        self.returncode: int | None = None

    def poll(self, block: bool = False) -> int | None:
        if self.returncode is None:
            self.returncode = self.launcher._ask({"op": "poll", "pid": self.pid,
                                                  "block": block})["code"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if timeout is not None:
            deadline = time.monotonic() + timeout
            while self.poll() is None:
                if time.monotonic() > deadline:
                    os.killpg(self.pid, signal.SIGKILL)
                    self.poll(block=True)
                    raise subprocess.TimeoutExpired(str(self.pid), timeout)
                time.sleep(0.05)
        code = self.poll(block=True)
        assert code is not None
        return code


def _logged(root: Path) -> int:
    """Bytes in the trade logs: grows with the first fill."""
    return sum(p.stat().st_size for p in root.glob("ml_data/bot_logs/*/*.jsonl")) + sum(
        p.stat().st_size for p in root.glob("da_brains/intraday/dt_trades.jsonl"))


@dataclass(frozen=True)
class Timing:
    seconds: float  # an uninterrupted run
    first_fill: float | None  # when its first fill was logged (None: no trade log)


def measure(launcher: Launcher, job: Job, root: Path, out: Path) -> Timing:
    """Run the job to the end, noting how long it took and when it first logged a fill."""
    started, first = time.monotonic(), None
    proc = launcher.start(job, root, out)
    while proc.poll() is None:
        if first is None and job.trades and _logged(root):
            first = time.monotonic() - started
        if time.monotonic() - started > 600:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"{job.name} did not end within 600 s")
        time.sleep(0.01)
    seconds = time.monotonic() - started
    if proc.returncode:
        rerun = subprocess.run(job.argv(root, out), cwd=root.parent, env=_env(),
                               capture_output=True, text=True, timeout=600)
        pytest.fail(f"{job.name} fails without any kill: {rerun.stderr[-2000:]}")
    return Timing(seconds, first)


def kill_once(launcher: Launcher, job: Job, root: Path, out: Path, timing: Timing,
              rng: random.Random, aimed: bool) -> bool:
    """Start the job and SIGKILL it at a random moment; False when it finished first."""
    proc = launcher.start(job, root, out)
    started = time.monotonic()
    if aimed and timing.first_fill is not None:
        while proc.poll() is None and not _logged(root) \
                and time.monotonic() - started < 3 * timing.seconds + 30:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, timing.seconds - timing.first_fill))
    else:
        time.sleep(rng.uniform(0.0, timing.seconds))
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return killed


@dataclass
class Figures:
    """One job's figures, as quoted in the issue's note."""

    job: str
    seconds: float = 0.0
    kills: int = 0
    consistent_after_kill: int = 0
    consistent_after_rerun: int = 0
    as_uninterrupted: int = 0
    doubled: int = 0
    log_ahead: int = 0  # kills that left a log ahead of its state (the recovery case)
    findings: list[str] = field(default_factory=list)

    def line(self) -> str:
        n = self.kills
        return (f"{self.job}: {n} kills (run {self.seconds:.1f} s), consistent after kill "
                f"{self.consistent_after_kill}/{n}, after rerun {self.consistent_after_rerun}/"
                f"{n}, as uninterrupted {self.as_uninterrupted}/{n}, doubled orders "
                f"{self.doubled}, log ahead of state {self.log_ahead}")


FIGURES: dict[str, Figures] = {}


def print_figures(request: pytest.FixtureRequest, jobs: list[Job]) -> None:
    """The figures of `jobs` as one line (a module's end), shown with or without -s."""
    ran = [FIGURES[j.name] for j in jobs if j.name in FIGURES]
    if not ran:
        return
    line = "KILL FIGURES | " + " | ".join(f.line() for f in ran)
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(line)
    else:
        print(line)


def write_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small synthetic root every run of a module copies."""
    root = tmp_path_factory.mktemp("kills_template") / "data"
    write_demo_data(Store(root), n_symbols=12, years=1.25, seed=7, intraday_days=2,
                    end=date(2026, 11, 20))
    return root


def _copy(template: Path, to: Path, job: Job) -> tuple[Path, Path]:
    """A private data root for one run (the job's inputs prepared) and its report folder."""
    root = to / "data"
    shutil.copytree(template, root)
    job.prepare(Store(root))
    return root, to / "out"


def uninterrupted(launcher: Launcher, job: Job, template: Path,
                  where: Path) -> tuple[Timing, dict[str, Any]]:
    """A run without a kill on a fresh copy: its timing and what it produced."""
    root, out = _copy(template, where, job)
    timing = measure(launcher, job, root, out)
    baseline = check(job, root, out, settled=True)
    assert baseline.ok, f"{job.name} without a kill: {baseline.problems}"
    return timing, outcome(root, out)


def kill_and_rerun(launcher: Launcher, job: Job, template: Path, tmp_path: Path) -> None:
    """The test of one job: KILLS kills, each checked, rerun and checked again."""
    figures = FIGURES[job.name] = Figures(job.name)
    timing, reference = uninterrupted(launcher, job, template, tmp_path / "reference")
    figures.seconds = timing.seconds
    rng = random.Random(f"kills-{job.name}")
    attempt = 0
    while figures.kills < KILLS and attempt < 3 * KILLS:
        attempt += 1
        root, out = _copy(template, tmp_path / f"run{attempt}", job)
        if not kill_once(launcher, job, root, out, timing, rng,
                         aimed=job.trades and attempt % 2 == 0):
            shutil.rmtree(root.parent)
            continue  # it finished before the delay ran out: not a kill
        figures.kills += 1
        found = len(figures.findings)
        after_kill = check(job, root, out, settled=False)
        figures.consistent_after_kill += after_kill.ok
        figures.doubled += after_kill.doubled
        figures.log_ahead += bool(after_kill.open_runs)
        figures.findings += [f"kill {attempt}: {p}" for p in after_kill.problems]

        stderr = root.parent / "rerun_stderr.txt"
        code = launcher.start(job, root, out, stderr).wait(timeout=60 + 10 * timing.seconds)
        if code:
            figures.findings.append(f"rerun {attempt} exit {code}: "
                                    f"{stderr.read_text().strip().splitlines()[-1:]}")
            continue
        after_rerun = check(job, root, out, settled=True)
        figures.consistent_after_rerun += after_rerun.ok
        figures.doubled += after_rerun.doubled
        figures.findings += [f"rerun {attempt}: {p}" for p in after_rerun.problems]
        result = outcome(root, out)
        if result != reference:
            # The code may have changed under a long run (a shared working tree): judge by a
            # fresh uninterrupted run before calling it a difference.
            _, reference = uninterrupted(launcher, job, template,
                                         tmp_path / f"reference{attempt}")
        figures.as_uninterrupted += result == reference
        if result != reference:
            figures.findings.append(f"rerun {attempt}: differs from the uninterrupted run")
        if len(figures.findings) == found:
            shutil.rmtree(root.parent)  # keep only what failed, for a look by hand

    print(figures.line())
    assert figures.kills >= min(KILLS, 1), f"{job.name}: never killed in {attempt} attempts"
    assert not figures.findings, "\n".join(figures.findings)
    assert figures.consistent_after_kill == figures.consistent_after_rerun == figures.kills
    assert figures.as_uninterrupted == figures.kills and figures.doubled == 0
