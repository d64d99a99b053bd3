"""The `aion` command: one clear line and a non-zero exit for bad input, never a traceback."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aion_core.app.auth import check_password
from aion_core.cli import app
from aion_core.store import Store
from jobs.progress import describe

runner = CliRunner()


def aion(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The real console entry point in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "aion_core", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_help_lists_every_contract_command():
    out = runner.invoke(app, ["--help"]).output
    for name in ("demo-data", "nightly", "bots", "replay", "backtest", "intraday", "scheduler",
                 "admin", "import", "evaluate"):
        assert name in out


@pytest.mark.parametrize("args,needle", [
    (["nightly", "--as-of", "2026-02-30"], "--as-of must be YYYY-MM-DD"),
    (["nightly", "--as-of", "2026-06-06"], "not an NYSE session"),
    (["bots", "run", "--horizon", "3w"], "--horizon must be 1w, 2w, 4w"),
    (["bots", "run", "--broker", "alpaca"], "--broker must be"),
    (["intraday", "cycle", "--at", "yesterday"], "--at must be an ISO-8601"),
    (["replay", "--start", "2026/01/01", "--end", "2026-02-01"], "--start must be YYYY-MM-DD"),
])
def test_bad_arguments_give_one_line_and_non_zero_exit(tmp_path: Path, args, needle):
    res = aion(*args, "--data-dir", str(tmp_path))
    assert res.returncode != 0
    assert needle in res.stderr
    assert "Traceback" not in res.stderr
    assert len([line for line in res.stderr.splitlines() if "error" in line]) == 1


def test_bad_setting_in_environment_is_one_line(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ADMIN_TOKEN_TTL_S", "forever")
    res = aion("nightly", "--data-dir", str(tmp_path))
    assert res.returncode == 1
    assert "ADMIN_TOKEN_TTL_S" in res.stderr and "Traceback" not in res.stderr


def test_hash_password_reads_stdin_and_prints_a_checkable_bcrypt_hash():
    res = aion("admin", "hash-password", stdin="correct horse battery\n")
    assert res.returncode == 0, res.stderr
    hashed = res.stdout.strip()
    assert hashed.startswith("$2b$12$")
    assert check_password("correct horse battery", hashed)
    assert not check_password("wrong", hashed)
    assert "correct horse" not in res.stdout + res.stderr


def test_hash_password_refuses_a_short_password():
    res = aion("admin", "hash-password", stdin="short\n")
    assert res.returncode == 1
    assert "at least 8 characters" in res.stderr


def test_a_job_already_running_refuses_a_second_start(tmp_path: Path):
    """The admin page's run-now buttons run these commands: the lock makes a press while the
    scheduler (or another press) runs the job a one-line refusal, not a second run."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom aion_core.store import Store\n"
         "with Store(sys.argv[1]).job_lock('nightly'):\n"
         "    print('held', flush=True); sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        res = aion("nightly", "--skip-fetch", "--data-dir", str(tmp_path))
        assert res.returncode == 1
        assert "nightly is already running" in res.stderr and "Traceback" not in res.stderr
    finally:
        holder.communicate("", timeout=10)
    res = aion("nightly", "--skip-fetch", "--data-dir", str(tmp_path))
    assert "already running" not in res.stderr


@pytest.mark.parametrize("args", [["scheduler"], ["nightly"]])
def test_a_data_dir_that_is_a_file_is_named_in_one_line(tmp_path: Path, args):
    data = tmp_path / "data"
    data.write_text("")
    res = aion(*args, "--data-dir", str(data))
    assert res.returncode == 1
    assert res.stderr == (f"aion: error: the data root {data} is a file, not a folder: point "
                          "--data-dir or AION_DATA_DIR at a folder\n")


#: `aion` with the data root's atomic writer failing as a full disk does for one file name.
FULL_DISK = """
import errno, os
from aion_core.store import files

write = files.atomic_write_bytes

def full(path, data):
    if path.name == os.environ["FULL_AT"]:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    write(path, data)

files.atomic_write_bytes = full
from aion_core.cli import main
main()
"""


@pytest.mark.parametrize("key,name,prefix", [
    # inside a step: the dataset's first part, in the staging directory beside the dataset
    ("ml_datasets", "part-00000.parquet", "nightly step features failed: "),
    ("nightly_summary", None, ""),  # after the steps
])
def test_a_full_disk_is_one_line_naming_the_file_and_what_to_do(demo_root: Store, key, name,
                                                                 prefix):
    target = demo_root.path(key)
    env = {k: v for k, v in os.environ.items() if k != "AION_DEBUG"}
    res = subprocess.run([sys.executable, "-c", FULL_DISK, "nightly", "--skip-fetch",
                          "--data-dir", str(demo_root.root)], capture_output=True, text=True,
                         timeout=300, env={**env, "FULL_AT": name or target.name})
    assert res.returncode == 1
    failures = [line for line in res.stderr.splitlines() if line.strip() and " INFO " not in line]
    assert len(failures) == 1, res.stderr
    written = rf"{re.escape(str(target))}\.[0-9a-f]{{8}}\.tmp/{name}" if name \
        else re.escape(str(target))
    assert re.match(rf"aion: error: {re.escape(prefix)}disk full writing {written}: "
                    "free space on that disk, then run again", failures[0]), failures[0]
    assert "Traceback" not in res.stderr
    assert not target.exists()


def test_a_full_disk_the_system_names_no_file_for_names_the_data_root():
    """write() on a full disk says ENOSPC without a file name: the data root is named."""
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert describe(full, "/srv/aion") == ("disk full writing a file under /srv/aion: free "
                                           "space on that disk, then run again")
    assert "AION_DATA_DIR" in describe(full)


@pytest.mark.parametrize("args", [["nightly"], ["evaluate"], ["import", "bars"]])
def test_help_shows_a_value_type_only_where_a_value_follows(args):
    """A flag takes no value: `--skip-fetch <bool>` read as if it wanted one."""
    out = runner.invoke(app, [*args, "--help"], terminal_width=100).output
    assert "--help" in out and "<bool>" not in out
    assert "<str>" in out or "<path>" in out


def test_a_replay_says_it_started_before_its_slow_imports(tmp_path):
    done = aion("replay", "--start", "2026-11-02", "--end", "2026-11-20",
                "--data-dir", str(tmp_path / "empty"))
    lines = done.stderr.strip().splitlines()
    assert re.search(r"aion\.replay: replay 2026-11-02\.\.2026-11-20 on .*empty: starting$",
                     lines[0])
    assert done.returncode == 1 and "aion: error:" in lines[-1]
