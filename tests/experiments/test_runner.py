"""Running sweeps: work units, resume, refusal of a changed config, identical results
across backends and worker counts, SIGKILL at random moments, and the `run`/`runs`
commands."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from defendability.errors import RunError, UserError
from defendability.experiments.backends import ChunkResult
from defendability.experiments.config import load_config
from defendability.experiments.rundir import RunLock, is_running, list_runs, plan_units
from defendability.experiments.runner import run_sweep
from defendability.experiments.store import TIMING_COST_KEYS, ResultsStore, without_timing
from defendability.game import Game

TINY = """\
name = "tiny"
seed = 3
rounds = {rounds}
chunk_rounds = 40
class = "subsets:N=16,d=4"
defender = "{defender}"
eps = 0.1

[grid]
attacker = ["mixture", "shatter"]
"""


def write_config(tmp_path: Path, rounds: int = 100, defender: str = "vote:learner=closure",
                 text: str = TINY, name: str = "tiny.toml") -> Path:
    path = tmp_path / name
    path.write_text(text.format(rounds=rounds, defender=defender))
    return path


def rows(directory: Path) -> list[dict]:
    with ResultsStore(directory / "results.sqlite", readonly=True) as store:
        return [without_timing(r) for r in store.cells()]


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    # The timeout only stops a hang: these commands take seconds, a loaded machine may take many times that.
    return subprocess.run([sys.executable, "-m", "defendability.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


# -- units -------------------------------------------------------------------------------

def test_plan_units_cuts_the_gaps_into_chunks():
    assert plan_units(10, [], 4) == [(0, 4), (4, 8), (8, 10)]
    assert plan_units(10, [(0, 4), (8, 10)], 4) == [(4, 8)]
    assert plan_units(10, [(4, 8)], 3) == [(0, 3), (3, 4), (8, 10)]
    assert plan_units(10, [(0, 4), (4, 8), (8, 10)], 4) == []
    assert plan_units(5, [], 500) == [(0, 5)]


# -- results -----------------------------------------------------------------------------

def test_cells_match_playing_each_cell_directly(tmp_path):
    config = load_config(write_config(tmp_path, rounds=100))
    summary = run_sweep(config, backend="serial", root=tmp_path / "runs", progress=False)
    assert summary.complete and summary.cells_finished == 2 and summary.rounds_played == 200
    assert summary.chunks_played == 6  # 100 rounds in chunks of 40: 40, 40, 20, per cell
    with ResultsStore(summary.store_path, readonly=True) as store:
        got = {r["cell_id"]: r for r in store.cells()}
        assert store.chunks() == []  # finished cells keep no chunks
        meta = store.meta()
    assert meta["config_hash"] == config.config_hash and meta["cells_total"] == 2
    assert meta["config"] == config.source_text and meta["name"] == "tiny"
    for cell in config.cells():
        direct = Game(cell.cls, cell.attacker, cell.defender, cell.eps).play(cell.rounds, cell.seed).to_dict()
        row = without_timing(got[cell.cell_id])
        direct.pop("seconds")
        direct["cost"] = {k: v for k, v in direct["cost"].items()
                          if k not in TIMING_COST_KEYS}
        assert row["result"] == direct  # without_timing took the same keys out
        assert row["config_hash"] == config.config_hash and row["attacker"] == cell.attacker


def test_backends_and_worker_counts_give_identical_rows(tmp_path):
    config = load_config(write_config(tmp_path, rounds=90))
    results = []
    for i, (backend, workers) in enumerate((("serial", None), ("local", 1), ("local", 2))):
        summary = run_sweep(config, backend=backend, workers=workers, root=tmp_path / f"r{i}", progress=False)
        assert summary.backend == backend and summary.complete and summary.workers == (workers or 1)
        results.append(rows(summary.directory))
    assert len(results[0]) == 2
    assert results[0] == results[1] == results[2]


def test_resume_plays_only_the_missing_rounds(tmp_path, monkeypatch):
    config = load_config(write_config(tmp_path, rounds=100))
    root = tmp_path / "runs"

    class Stop(Exception):
        pass

    seen: list[ChunkResult] = []

    def stop_after_four(res: ChunkResult) -> None:
        seen.append(res)
        if len(seen) == 4:
            raise Stop

    with pytest.raises(Stop):
        run_sweep(config, backend="serial", root=root, progress=False, on_chunk=stop_after_four)
    with ResultsStore(root / "tiny" / "results.sqlite", readonly=True) as store:
        finished, chunks = store.finished_cells(), store.chunk_ranges()
    # chunks of 40: the first cell (3 chunks) is finished, one chunk of the second is stored
    assert len(finished) == 1 and sum(len(v) for v in chunks.values()) == 1

    played: list[tuple[str, int]] = []
    original = Game.play_rounds

    def counting(self, seed, indices):
        played.extend((repr(self.attacker), i) for i in indices)
        return original(self, seed, indices)

    monkeypatch.setattr(Game, "play_rounds", counting)
    summary = run_sweep(config, backend="serial", root=root, progress=False)
    assert summary.cells_skipped == 1 and summary.cells_finished == 1
    assert summary.rounds_played == len(played) == 60 and sorted(i for _, i in played) == list(range(40, 100))
    again = run_sweep(config, backend="serial", root=root, progress=False)
    assert again.rounds_played == 0 and again.cells_finished == 0 and again.cells_skipped == 2
    assert len(played) == 60  # nothing more was played
    monkeypatch.undo()
    fresh = run_sweep(config, backend="serial", root=tmp_path / "fresh", progress=False)
    assert rows(root / "tiny") == rows(fresh.directory)


def test_an_interrupted_local_run_stops_its_workers_and_resumes(tmp_path):
    import multiprocessing

    config = load_config(write_config(tmp_path, rounds=200))  # 10 chunks

    class Stop(Exception):
        pass

    def stop(res: ChunkResult) -> None:
        raise Stop

    with pytest.raises(Stop):
        run_sweep(config, backend="local", workers=2, root=tmp_path, progress=False, on_chunk=stop)
    assert multiprocessing.active_children() == []  # the pool is gone, not left to the garbage collector
    assert not is_running(tmp_path / "tiny")
    summary = run_sweep(config, backend="local", workers=2, root=tmp_path, progress=False)
    assert summary.chunks_played == 9 and summary.complete


def test_cell_whose_chunks_were_all_stored_is_closed_without_play(tmp_path):
    config = load_config(write_config(tmp_path, rounds=40))  # one chunk per cell

    class Stop(Exception):
        pass

    def stop_at_once(res: ChunkResult) -> None:
        raise Stop  # the chunk is stored, its cell is not yet closed

    with pytest.raises(Stop):
        run_sweep(config, backend="serial", root=tmp_path, progress=False, on_chunk=stop_at_once)
    summary = run_sweep(config, backend="serial", root=tmp_path, progress=False)
    assert summary.cells_finished == 2 and summary.rounds_played == 40 and summary.chunks_played == 1


def test_a_changed_config_is_refused_and_new_keeps_the_old_run(tmp_path):
    root = tmp_path / "runs"
    old = load_config(write_config(tmp_path, rounds=40))
    run_sweep(old, backend="serial", root=root, progress=False)
    old_rows = rows(root / "tiny")
    changed = load_config(write_config(tmp_path, rounds=60))
    with pytest.raises(RunError) as err:
        run_sweep(changed, backend="serial", root=root, progress=False)
    message = str(err.value)
    assert old.config_hash[:16] in message and changed.config_hash[:16] in message
    assert "--new" in message and "new name" in message and "\n" not in message
    assert rows(root / "tiny") == old_rows  # untouched

    summary = run_sweep(changed, backend="serial", root=root, progress=False, new=True)
    assert summary.moved_to is not None and summary.moved_to.name.startswith("tiny.")
    assert summary.moved_to.name.endswith(".bak") and summary.moved_to.parent == root
    assert rows(summary.moved_to) == old_rows  # the old data, intact, under the new name
    assert {r["rounds"] for r in rows(root / "tiny")} == {60}


def test_a_run_in_progress_is_not_run_twice(tmp_path):
    config = load_config(write_config(tmp_path, rounds=40))
    directory = tmp_path / "tiny"
    directory.mkdir()
    lock = RunLock(directory).acquire("tiny")
    try:
        assert is_running(directory)
        with pytest.raises(RunError, match="in progress in another process"):
            run_sweep(config, backend="serial", root=tmp_path, progress=False)
        with pytest.raises(RunError, match="in progress"):
            run_sweep(config, backend="serial", root=tmp_path, progress=False, new=True)
    finally:
        lock.release()
    assert not is_running(directory)
    assert run_sweep(config, backend="serial", root=tmp_path, progress=False).complete


@pytest.mark.parametrize("kwargs,fragment", [
    ({"backend": "dask"}, "unknown backend 'dask'; valid: serial, local, ray"),
    ({"backend": "local", "address": "auto"}, "address 'auto' is for the ray backend; pass --backend ray"),
    ({"backend": "local", "workers": 0}, "workers must be an integer >= 1, got 0"),
    ({"backend": "serial", "workers": 2}, "needs --backend local"),
])
def test_bad_options_are_user_errors(tmp_path, kwargs, fragment):
    config = load_config(write_config(tmp_path, rounds=40))
    with pytest.raises(UserError) as err:
        run_sweep(config, root=tmp_path, progress=False, **kwargs)
    assert fragment in str(err.value)
    assert not (tmp_path / "tiny").exists()  # refused before anything was created


def test_log_and_listing(tmp_path):
    config = load_config(write_config(tmp_path, rounds=40))
    assert list_runs(tmp_path / "runs") == []
    run_sweep(config, backend="serial", root=tmp_path / "runs", progress=False)
    log = (tmp_path / "runs" / "tiny" / "run.log").read_text().splitlines()
    assert "start tiny" in log[0] and config.config_hash in log[0]
    cells = [line for line in log if " cell " in line]
    assert len(cells) == 2 and all("alpha " in c and "beta " in c for c in cells)
    assert "end tiny" in log[-1] and "2/2 cells done" in log[-1]
    (info,) = list_runs(tmp_path / "runs")
    assert (info.name, info.status, info.cells_done, info.cells_total) == ("tiny", "complete", 2, 2)
    assert info.config_hash == config.config_hash and info.last_update

    with ResultsStore(tmp_path / "runs" / "half" / "results.sqlite") as store:
        store.init_meta(config_hash="f" * 64, name="half", config_text="", cells_total=3)
    half = list_runs(tmp_path / "runs")[0]
    assert (half.name, half.status, half.cells_done, half.cells_total) == ("half", "partial", 0, 3)


def test_progress_bar_draws_cells_and_rounds(tmp_path, capsys):
    config = load_config(write_config(tmp_path, rounds=40))
    run_sweep(config, backend="serial", root=tmp_path, progress=True)
    out = capsys.readouterr().out
    assert "cells" in out and "rounds" in out and "2/2" in out and "80/80" in out


# -- the command line ----------------------------------------------------------------------

def test_cli_run_and_runs(tmp_path):
    config = write_config(tmp_path, rounds=40)
    out = cli("run", str(config), "--backend", "serial", "--root", str(tmp_path / "runs"))
    assert out.returncode == 0, out.stderr
    assert f"store: {tmp_path / 'runs' / 'tiny' / 'results.sqlite'}" in out.stdout
    assert "tiny: 2/2 cells done (2 now, 0 before); 80 rounds in 2 chunks" in out.stdout
    assert out.stdout.isascii() and "\x1b" not in out.stdout  # no progress bar when not a TTY
    listing = cli("runs", "--root", str(tmp_path / "runs"))
    assert listing.returncode == 0
    line = next(line for line in listing.stdout.splitlines() if "tiny" in line)
    assert "complete" in line and "2/2" in line and load_config(config).config_hash[:12] in line
    assert "no runs under" in cli("runs", "--root", str(tmp_path / "none")).stdout


@pytest.mark.parametrize("args,fragment", [
    (("--backend", "dask"), "error: unknown backend 'dask'; valid: serial, local, ray"),
    (("--workers", "0"), "error: workers must be an integer >= 1, got 0"),
])
def test_cli_run_errors_are_one_line(tmp_path, args, fragment):
    out = cli("run", str(write_config(tmp_path)), *args, "--root", str(tmp_path))
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip() == out.stderr.strip().splitlines()[0] and fragment in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_refuses_a_changed_config_then_new_moves_it(tmp_path):
    root = str(tmp_path / "runs")
    assert cli("run", str(write_config(tmp_path, rounds=40)), "--backend", "serial", "--root", root).returncode == 0
    changed = write_config(tmp_path, rounds=41)
    out = cli("run", str(changed), "--backend", "serial", "--root", root)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "--new" in out.stderr
    out = cli("run", str(changed), "--backend", "serial", "--root", root, "--new")
    assert out.returncode == 0 and "previous run moved to" in out.stdout
    assert len(list((tmp_path / "runs").glob("tiny.*.bak"))) == 1
    missing = cli("run", str(tmp_path / "nope.toml"), "--root", root)
    assert missing.returncode == 2 and "nope.toml" in missing.stderr and "Traceback" not in missing.stderr


# -- SIGKILL -----------------------------------------------------------------------------

KILL = """\
name = "kill"
seed = 7
rounds = {rounds}
chunk_rounds = 100
class = "subsets:N=16,d=4"
attacker = "mixture"
defender = "{defender}"
eps = 0.1

[grid]
voters = [11, 21, 31, 41]
"""


def _stored_rounds(path: Path, check: bool = True) -> int:
    """Rounds in the store: those of finished cells plus those of stored chunks (and,
    with ``check``, SQLite's integrity check of the file)."""
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"cells", "chunks"} <= tables:
            return 0
        done = db.execute("SELECT coalesce(sum(rounds), 0) FROM cells").fetchone()[0]
        chunks = db.execute("SELECT coalesce(sum(stop - start), 0) FROM chunks").fetchone()[0]
        if check:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return done + chunks
    finally:
        db.close()


def _commit_times(proc: subprocess.Popen, store: Path, stored: int, wanted: int, seconds: float) -> list[float]:
    """When the run ``proc`` was seen to commit: polls the store until its rounds have
    grown beyond ``stored`` ``wanted`` times, the process has exited, or ``seconds``
    have passed, and returns the times of the increases seen."""
    times: list[float] = []
    last, deadline = stored, time.monotonic() + seconds
    while len(times) < wanted and proc.poll() is None and time.monotonic() < deadline:
        now = _stored_rounds(store, check=False)
        if now > last:
            times.append(time.monotonic())
            last = now
        else:
            time.sleep(0.01)
    return times


def _wait_for_group_to_exit(pgid: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    left = subprocess.run(["ps", "-o", "pid,ppid,stat,cmd", "-g", str(pgid)], capture_output=True, text=True).stdout
    pytest.fail(f"processes of a killed run outlived it:\n{left}")


ROUNDS = 2500  # per cell: 100 chunks in all, of which the killed runs store about 20 at most

#: (backend, when the kill lands: ``launch``, at a random moment from start-up to the
#: run's first commit; ``progress``, at a random moment within about two chunks after
#: the run's third commit, the interval measured on the run itself)
KILLS = [("serial", "launch"), ("local", "progress"), ("serial", "progress"), ("serial", "progress"),
         ("serial", "launch")]

#: Seconds a run may take to commit its first chunks: far beyond the few seconds it
#: takes, so that only a run that hangs or fails trips it.
COMMIT_WAIT = 300


def test_sigkill_at_random_moments_loses_nothing_finished(tmp_path):
    """Each kill is timed by what the run has committed, not by the clock alone, so that
    it lands while the run works whatever the machine's speed; what is asserted holds at
    any moment of a kill."""
    config = write_config(tmp_path, rounds=ROUNDS, defender="vote:learner=closure,voters={voters}", text=KILL,
                          name="kill.toml")
    root = tmp_path / "runs"
    store = root / "kill" / "results.sqlite"
    rng = random.Random(20240531)
    stored, committers = 0, 0
    for backend, start in KILLS:
        proc = subprocess.Popen([sys.executable, "-m", "defendability.cli", "run", str(config), "--backend", backend,
                                 "--workers", "2" if backend == "local" else "1", "--root", str(root)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            if start == "launch":  # anywhere from imports to the first commit
                _commit_times(proc, store, stored, 1, rng.uniform(0.3, 1.6))
            else:  # in the middle of the work: chunks being played and committed
                times = _commit_times(proc, store, stored, 3, COMMIT_WAIT)
                if len(times) < 3:
                    proc.kill()
                    pytest.fail(f"a {backend} run committed {len(times)} chunks in {COMMIT_WAIT} s; stderr:\n"
                                f"{proc.communicate()[1].decode(errors='replace')[-3000:]}")
                time.sleep(rng.uniform(0.0, times[-1] - times[0]))  # two chunk intervals, on average
            # the run has most of its 100 chunks still to play: it is working, not finished
            assert proc.poll() is None, proc.communicate()[1].decode(errors="replace")[-3000:]
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            # Pool workers follow their parent out: each sees it gone within half a second
            # of running its watch, which starts once the worker has imported the package
            # (a few seconds on a loaded machine); the wait returns as soon as they are gone.
            _wait_for_group_to_exit(proc.pid, 120)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        now = _stored_rounds(store)  # also checks the file's integrity
        assert now >= stored  # committed work is never lost
        committers += now > stored
        stored = now
    assert committers >= sum(start == "progress" for _, start in KILLS)  # those were killed after commits
    out = cli("run", str(config), "--backend", "serial", "--root", str(root))
    assert out.returncode == 0, out.stderr
    assert _stored_rounds(store) == 4 * ROUNDS
    reference = run_sweep(load_config(config), backend="serial", root=tmp_path / "reference", progress=False)
    assert rows(root / "kill") == rows(reference.directory)
    with ResultsStore(store, readonly=True) as s:
        assert s.chunks() == [] and len(s.cells()) == 4 and s.integrity_check() == "ok"
    # A process killed early may die before it logs its start (how early depends on the
    # machine's speed), so the log guarantees only this: each process that committed work
    # (and the last, which finished) logged its start first, and none logged two.
    starts = (root / "kill" / "run.log").read_text().count(" start kill")
    assert committers + 1 <= starts <= len(KILLS) + 1


# -- layout --------------------------------------------------------------------------------

def _imported_modules(module: str) -> set[str]:
    """The ``defendability.experiments`` modules that ``module``'s source imports (relative
    imports resolved), found by reading the file rather than importing it."""
    import ast
    import importlib.util

    tree = ast.parse(Path(importlib.util.find_spec(f"defendability.experiments.{module}").origin).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add(node.module or "")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("defendability.experiments."):
            found.add(node.module.rsplit(".", 1)[1])
    return found


def test_backends_and_run_directories_do_not_depend_on_the_runner_or_each_other():
    assert _imported_modules("backends") <= {"cell", "store"}
    assert _imported_modules("rundir") <= {"store"}
    assert "runner" not in _imported_modules("report") and "report" not in _imported_modules("figures")


def test_errors_and_names_stay_importable_where_they_were():
    from defendability import errors, experiments
    from defendability.experiments import report, runner

    assert experiments.ReportError is report.ReportError is errors.ReportError
    assert experiments.RunError is runner.RunError is errors.RunError
    assert issubclass(errors.ReportError, UserError) and issubclass(errors.RunError, UserError)
    for name in runner.__all__:
        assert hasattr(runner, name), name
    assert runner.list_runs is list_runs and runner.plan_units is plan_units and runner.ChunkResult is ChunkResult
