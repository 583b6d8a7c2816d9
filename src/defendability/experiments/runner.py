"""Running a sweep into its results store: the orchestration.

:func:`run_sweep` takes the run directory's lock (:mod:`.rundir`), opens the store,
refuses a store made by another config, plans the work units still missing
(:func:`~.rundir.plan_units`: rounds ``start <= i < stop`` of one cell, at most
``chunk_rounds`` of them), hands them to a backend (:mod:`.backends`: ``serial``,
``local`` processes or ``ray`` tasks) and stores each unit's rounds as they arrive (one
transaction); once a cell's units are all in, it summarises the cell's rounds in round
order and writes the cell's row (one transaction that also deletes its chunks). Round
``i`` of a cell draws its randomness from ``(seed, i)`` alone, so the results are
identical bit for bit across backends and worker counts, and a re-run skips finished
cells and chunks: a killed run loses at most the units in flight.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from ..errors import RunError
from .backends import (BACKENDS, RAY_INSTALL, ChunkResult, RaySession, Unit, cell_game, check_options,
                       play_chunk, run_local, run_serial)
from .cell import Cell
from .rundir import (LOCK_FILE, LOG_FILE, RunInfo, RunLock, RunLog, check_name, is_running, list_runs,
                     move_aside, plan_units)
from .store import STORE_FILE, ResultsStore, cell_row, package_version

# Names that lived here before the backends and the run-directory code had modules of
# their own, kept importable from this module.
__all__ = ["run_sweep", "RunSummary", "SweepLike", "RunError", "BACKENDS", "RAY_INSTALL", "ChunkResult",
           "cell_game", "play_chunk", "LOG_FILE", "LOCK_FILE", "RunInfo", "list_runs", "is_running", "plan_units"]


class SweepLike(Protocol):
    """What :func:`run_sweep` needs of a sweep configuration (``config.SweepConfig``)."""

    name: str
    chunk_rounds: int
    config_hash: str
    source_text: str

    def cells(self) -> list[Cell]: ...


@dataclass(frozen=True)
class RunSummary:
    """What a call of :func:`run_sweep` did.

    ``cells_skipped``: cells finished before this call; ``cells_finished``: cells
    finished by it; ``chunks_played``/``rounds_played``: units and rounds played by it;
    ``workers``: processes used (1 for ``serial``); ``seconds``: wall time;
    ``moved_to``: where ``new=True`` moved the previous run, if there was one.
    """

    name: str
    directory: Path
    store_path: Path
    config_hash: str
    backend: str
    workers: int
    cells_total: int
    cells_skipped: int
    cells_finished: int
    chunks_played: int
    rounds_played: int
    seconds: float
    moved_to: Path | None = None

    @property
    def complete(self) -> bool:
        """Whether every cell of the sweep has its row."""
        return self.cells_skipped + self.cells_finished >= self.cells_total

    def line(self) -> str:
        """One-line summary for the command line."""
        done = self.cells_skipped + self.cells_finished
        return (f"{self.name}: {done}/{self.cells_total} cells done ({self.cells_finished} now, "
                f"{self.cells_skipped} before); {self.rounds_played} rounds in {self.chunks_played} chunks, "
                f"{self.seconds:.1f} s, backend {self.backend} x{self.workers}")


# -- progress ----------------------------------------------------------------------------

class _Progress:
    """A rich progress bar (cells and rounds, rate, ETA), or nothing when ``show`` is false."""

    def __init__(self, show: bool, cells: tuple[int, int], rounds: tuple[int, int]):
        self._bar = None
        if not show:
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                speed = task.finished_speed or task.speed
                return Text(f"{speed:,.1f} {task.fields['unit']}/s" if speed else "-")

        self._bar = Progress(TextColumn("{task.description:>6}"), BarColumn(), MofNCompleteColumn(), Rate(),
                             TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn())
        self._cells = self._bar.add_task("cells", completed=cells[0], total=cells[1], unit="cells")
        self._rounds = self._bar.add_task("rounds", completed=rounds[0], total=rounds[1], unit="rounds")
        self._bar.start()

    def chunk(self, rounds: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._rounds, rounds)

    def cell(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._cells, 1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


# -- the runner --------------------------------------------------------------------------

def run_sweep(config: SweepLike, *, backend: str = "local", workers: int | None = None, new: bool = False,
              root: str | Path = "runs", progress: bool | None = None,
              on_chunk: Callable[[ChunkResult], None] | None = None, address: str | None = None) -> RunSummary:
    """Run (or resume) a sweep into ``<root>/<config.name>/results.sqlite``.

    A store made by a different ``config_hash`` is refused unless ``new``, which first
    renames the old run directory to ``<name>.<UTC timestamp>.bak``. ``progress``:
    show a progress bar (``None``: when stdout is a TTY). ``on_chunk`` is called in the
    main process after each unit is stored. Raises :class:`RunError` for a bad backend
    or worker count, a changed config or a run in progress.

    ``backend="ray"``: ``address=None`` starts a local Ray instance on 127.0.0.1 only
    (``workers`` CPUs, default all) and stops it at the end; ``"auto"`` or ``host:port``
    connects to a running cluster (``workers``: tasks at once, default the cluster's CPUs).
    Ray is imported only here (:class:`RunError` naming the extra when it is missing).
    """
    pool_size = check_options(backend, workers, address)
    check_name(config.name)
    chunk_rounds = config.chunk_rounds
    if isinstance(chunk_rounds, bool) or not isinstance(chunk_rounds, int) or chunk_rounds < 1:
        raise RunError(f"chunk_rounds must be an integer >= 1, got {chunk_rounds!r}")
    t0 = time.perf_counter()
    directory = Path(root) / config.name
    moved_to = None
    if new and directory.exists():
        lock = RunLock(directory).acquire(config.name)
        try:
            moved_to = move_aside(directory)
        finally:
            lock.release()
    directory.mkdir(parents=True, exist_ok=True)
    lock = RunLock(directory).acquire(config.name)
    try:
        return _run_locked(config, directory, backend, pool_size, progress, on_chunk, moved_to, t0, address)
    finally:
        lock.release()


def _run_locked(config: SweepLike, directory: Path, backend: str, pool_size: int | None, progress: bool | None,
                on_chunk: Callable[[ChunkResult], None] | None, moved_to: Path | None, t0: float,
                address: str | None = None) -> RunSummary:
    cells: dict[str, Cell] = {}
    for cell in config.cells():
        cells.setdefault(cell.cell_id, cell)  # a cell listed twice is played once
    store_path = directory / STORE_FILE
    with ResultsStore(store_path) as store:
        meta = store.meta()
        if meta is not None and meta["config_hash"] != config.config_hash:
            raise RunError(
                f"run {config.name!r} in {directory} was made by config {meta['config_hash'][:16]}, this config is "
                f"{config.config_hash[:16]}: pass --new to move the old run aside, or give the sweep a new name")
        store.init_meta(config_hash=config.config_hash, name=config.name, config_text=config.source_text,
                        cells_total=len(cells))
        finished = store.finished_cells() & set(cells)
        stored = store.chunk_ranges()
        todo = {cid: c for cid, c in cells.items() if cid not in finished}
        games = {cid: cell_game(c) for cid, c in todo.items()}  # user errors surface before any work
        units: list[Unit] = []
        remaining: dict[str, int] = {}
        for cid, cell in todo.items():
            plan = plan_units(cell.rounds, stored.get(cid, []), config.chunk_rounds)
            remaining[cid] = len(plan)
            units.extend((cell, a, b) for a, b in plan)
        ray_session = RaySession(address, pool_size) if backend == "ray" and units else None
        if ray_session is not None:
            pool_size = ray_session.workers
        workers = 1 if backend == "serial" else max(1, min(pool_size or 1, len(units)))

        log = RunLog(directory / LOG_FILE)
        rounds_total = sum(c.rounds for c in cells.values())
        rounds_todo = sum(b - a for _, a, b in units)
        log(f"start {config.name}: config {config.config_hash}, package {package_version()}, backend {backend} "
            f"x{workers}{' on ' + ray_session.where if ray_session else ''}; {len(cells)} cells ({len(finished)} finished before), {len(units)} chunks "
            f"({rounds_todo} rounds) to play; machine {platform.platform()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}")
        bar = _Progress(sys.stdout.isatty() if progress is None else progress,
                        (len(finished), len(cells)), (rounds_total - rounds_todo, rounds_total))
        cells_finished = chunks = rounds = 0

        def close(cid: str) -> None:
            nonlocal cells_finished
            cell = todo[cid]
            played, seconds = store.load_rounds(cid)
            if [r.index for r in played] != list(range(cell.rounds)):
                raise RuntimeError(f"store {store_path}: the chunks of cell {cid} do not cover its rounds")
            result = games[cid].summarise(played, cell.seed, seconds)
            store.finish_cell(cell_row(cell, result, config_hash=config.config_hash, seconds=seconds))
            cells_finished += 1
            bar.cell()
            log(f"cell {cid} finished: class {cell.cls}, attacker {cell.attacker}, defender {cell.defender}, "
                f"eps {cell.eps:g}, {cell.rounds} rounds: alpha {result.alpha:.4f}, beta {result.beta:.4f}, "
                f"win rate {result.win_rate:.4f} ({seconds:.2f} s of play)")

        results = (run_serial(units, games) if backend == "serial" else
                   ray_session.run(units, workers) if ray_session is not None else
                   run_serial([], games) if backend == "ray" else run_local(units, workers))
        try:
            for cid in [cid for cid, n in remaining.items() if n == 0]:  # every chunk stored before a kill
                close(cid)
            for res in results:
                store.add_chunk(res.cell_id, res.start, res.stop, res.rounds_json, res.seconds)
                chunks += 1
                rounds += res.stop - res.start
                bar.chunk(res.stop - res.start)
                if on_chunk is not None:
                    on_chunk(res)
                remaining[res.cell_id] -= 1
                if remaining[res.cell_id] == 0:
                    close(res.cell_id)
            seconds = time.perf_counter() - t0
            log(f"end {config.name}: {cells_finished} cells finished, {chunks} chunks ({rounds} rounds) played "
                f"in {seconds:.2f} s; {len(finished) + cells_finished}/{len(cells)} cells done")
        except BaseException as err:
            log(f"stopped after {time.perf_counter() - t0:.2f} s: {type(err).__name__}: {err}")
            raise
        finally:
            results.close()  # on an error: cancel queued units, wait for those running, stop the pool
            if ray_session is not None:
                ray_session.close()
            bar.close()
            log.close()
    return RunSummary(config.name, directory, store_path, config.config_hash, backend, workers, len(cells),
                      len(finished), cells_finished, chunks, rounds, seconds, moved_to)
