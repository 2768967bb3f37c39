"""Nothing left behind: temporary files carry the process id, are removed when a run ends, and
what a killed run left is removed by the next one; workers die with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from vipml import tempfiles
from vipml.data.io import atomic_path
from vipml.tempfiles import LeftoverWarning, remove_leftovers, scratch, staging

VIPML = [sys.executable, "-m", "vipml"]


def _dead_pid() -> int:
    """The id of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert done.returncode == 0
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _age(path: Path, seconds: float = 3600) -> None:
    old = time.time() - seconds
    os.utime(path, (old, old))


def test_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "scores.parquet"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.parent.name == f".vipml-{os.getpid()}.tmp"
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_target_is_replaced_whole(tmp_path):
    target = tmp_path / "bundle"
    for content in ("first", "second"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / "file.txt").write_text(content)
    assert (target / "file.txt").read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]


def test_leftovers_of_dead_runs_are_removed_with_a_note(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".vipml-{dead}.tmp"
    stale.mkdir()
    (stale / "scores.parquet.1a2b3c4d").write_text("half")
    _age(stale)
    live = tmp_path / f".vipml-{os.getppid()}.tmp"  # a running process: not touched
    live.mkdir()
    _age(live)
    fresh = tmp_path / f".vipml-{_dead_pid()}.tmp"  # newer than this run: not touched
    fresh.mkdir()
    _age(fresh, -3600)
    mine = tmp_path / "scores.parquet"
    mine.write_text("kept")
    with pytest.warns(LeftoverWarning, match=rf"removed 1 temporary folder.*process {dead}"):
        assert remove_leftovers(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, fresh.name, "scores.parquet"]
    )


def test_the_first_write_into_a_folder_sweeps_it(tmp_path):
    stale = tmp_path / f".vipml-{_dead_pid()}.tmp"
    stale.mkdir()
    _age(stale)
    with pytest.warns(LeftoverWarning), staging(tmp_path / "out.csv") as tmp:
        tmp.write_text("x")
    assert list(tmp_path.iterdir()) == []


def test_scratch_space_is_private_and_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfiles, "_scratch_root", lambda: tmp_path)
    stale = tmp_path / f"vipml-score-{_dead_pid()}-0badc0de"
    stale.mkdir()
    _age(stale)
    other = tmp_path / "someone-elses"
    other.mkdir()
    with pytest.warns(LeftoverWarning, match="vipml-score-"), scratch("score") as folder:
        assert folder.name.startswith(f"vipml-score-{os.getpid()}-")
        assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert [p.name for p in tmp_path.iterdir()] == ["someone-elses"]


@pytest.fixture(scope="module")
def scoring_job(tmp_path_factory):
    """A simulated log, a small model, and the `vipml score` command that scores it in four
    chunks by two worker processes (scratch space in a private TMPDIR)."""
    root = tmp_path_factory.mktemp("killed")
    env = {**os.environ, "TMPDIR": str(root / "tmp"), "PYTHONWARNINGS": "ignore"}
    (root / "tmp").mkdir()
    (root / "fast.yaml").write_text("lightgbm:\n  n_estimators: 30\n  num_threads: 1\n")
    for args in (
        ["simulate", "--out", str(root / "sim" / "tx.parquet"), "--customers", "12000",
         "--seed", "2", "--quiet"],
        ["train", "--transactions", str(root / "sim" / "tx.parquet"), "--model-out",
         str(root / "model"), "--config", str(root / "fast.yaml"), "--no-tracking", "--quiet"],
    ):
        subprocess.run([*VIPML, *args], env=env, check=True, cwd=root)

    def command(out: Path) -> list[str]:
        return [*VIPML, "score", "--model", str(root / "model"), "--transactions",
                str(root / "sim" / "tx.parquet"), "--out", str(out), "--chunks", "4",
                "--workers", "2", "--reasons", "all"]

    return root, env, command


def _wait_for(condition, seconds: float = 120) -> None:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "the run never reached that point"
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_a_killed_score_leaves_no_process_and_a_rerun_no_debris(scoring_job):
    root, env, command = scoring_job
    reference = root / "reference" / "scores.parquet"
    subprocess.run(command(reference), env=env, check=True, capture_output=True)
    out = root / "out" / "scores.parquet"
    out.parent.mkdir()
    run = subprocess.Popen(command(out), env=env, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # mid-run: the workers are segmenting and explaining, the output is being staged
    _wait_for(lambda: any(out.parent.glob(".vipml-*.tmp/*")))
    workers = subprocess.run(["ps", "-o", "pid=", "-g", str(run.pid)], capture_output=True,
                             text=True).stdout.split()
    assert len(workers) >= 3  # the run and its two workers (and loky's trackers)
    run.send_signal(signal.SIGKILL)
    run.wait()
    start = time.monotonic()
    while _group_alive(run.pid) and time.monotonic() - start < 5:
        time.sleep(0.1)
    assert not _group_alive(run.pid), "a process of the killed run outlived it by 5 s"
    left = sorted(p.name for p in out.parent.iterdir())
    assert left == [f".vipml-{run.pid}.tmp"] and not out.exists()
    scratch_left = [p.name.rsplit("-", 1)[0] for p in (root / "tmp").iterdir()]
    assert scratch_left == [f"vipml-score-{run.pid}"]
    # the rerun removes the leftovers, says so, and writes the same file as an unbroken run
    rerun = subprocess.run(command(out), env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stderr.count(f"by an interrupted vipml run (process {run.pid})") == 2
    assert [p.name for p in out.parent.iterdir()] == ["scores.parquet"]
    assert list((root / "tmp").iterdir()) == []
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(reference))
    assert out.read_bytes() == reference.read_bytes()


@pytest.mark.slow
def test_sigterm_stops_a_run_cleanly(scoring_job):
    root, env, command = scoring_job
    out = root / "terminated" / "scores.parquet"
    out.parent.mkdir()
    run = subprocess.Popen(command(out), env=env, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: any((root / "tmp").glob(f"vipml-score-{run.pid}-*/scored-*")))
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 128 + signal.SIGTERM
    assert "stopped (SIGTERM)" in stderr
    assert list(out.parent.iterdir()) == []
    assert not list((root / "tmp").glob(f"vipml-*-{run.pid}-*"))
    _wait_for(lambda: not _group_alive(run.pid), seconds=10)
