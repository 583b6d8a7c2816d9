"""Running a sweep into its results store: run directories, work units, backends.

A sweep named ``name`` lives in ``<root>/<name>/``: ``results.sqlite`` (the store),
``run.log`` (one line per event, UTC timestamps) and ``run.lock`` (held while a
process runs the sweep, so two processes never run it at once).

Work is split into units ``(cell, start, stop)``: rounds ``start <= i < stop`` of one
cell, at most ``chunk_rounds`` of them. Round ``i`` of a cell draws its randomness from
``(seed, i)`` alone, so a unit's rounds do not depend on which process plays it or
when; the main process stores each unit's rounds as they arrive (one transaction) and,
once a cell's units are all in, summarises its rounds in round order and writes the
cell's row (one transaction that also deletes its chunks). Hence the results are
identical bit for bit across backends and worker counts, and a re-run skips finished
cells and chunks: a killed run loses at most the units in flight.

Backends: ``serial`` (in this process), ``local`` (a process pool, ``spawn`` start
method, ``workers`` defaulting to ``os.cpu_count()``) and ``ray`` (Ray tasks, on a Ray
instance started here on 127.0.0.1 or on an existing cluster at ``address``; Ray is an
optional extra, imported only by this backend). Workers only play rounds; they never
open the store, and each exits when the main process dies (Ray: when its instance stops).
"""

from __future__ import annotations

import fcntl
import functools
import os
import platform
import socket
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol

from ..errors import UserError
from ..game import Game
from .cell import Cell
from .store import STORE_FILE, ResultsStore, StoreError, cell_row, iter_stores, package_version, rounds_to_json

#: The backends of :func:`run_sweep`.
BACKENDS = ("serial", "local", "ray")

#: What to install for the ``ray`` backend.
RAY_INSTALL = "pip install 'defendability[ray]'"

#: Host names that mean this machine only.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

LOG_FILE = "run.log"
LOCK_FILE = "run.lock"


class RunError(UserError):
    """A sweep that cannot be run as asked (a changed config under the same name, a run
    already in progress, an unknown backend, a bad worker count or Ray address, Ray
    missing or unreachable)."""


class SweepLike(Protocol):
    """What :func:`run_sweep` needs of a sweep configuration (``config.SweepConfig``)."""

    name: str
    chunk_rounds: int
    config_hash: str
    source_text: str

    def cells(self) -> list[Cell]: ...


@dataclass(frozen=True)
class ChunkResult:
    """A played unit: rounds ``start <= i < stop`` of cell ``cell_id`` as
    :func:`~defendability.experiments.store.rounds_to_json` text, and the seconds
    spent playing them."""

    cell_id: str
    start: int
    stop: int
    rounds_json: str
    seconds: float


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


# -- work units --------------------------------------------------------------------------

def plan_units(rounds: int, stored: Iterable[tuple[int, int]], chunk_rounds: int) -> list[tuple[int, int]]:
    """The ``(start, stop)`` units still to play for a cell of ``rounds`` rounds, given
    the ranges already stored: the gaps of ``range(rounds)`` cut into pieces of at most
    ``chunk_rounds`` rounds, in round order."""
    units: list[tuple[int, int]] = []
    pos = 0
    for start, stop in sorted(stored) + [(rounds, rounds)]:
        for a in range(pos, start, chunk_rounds):
            units.append((a, min(a + chunk_rounds, start)))
        pos = max(pos, stop)
    return units


@functools.lru_cache(maxsize=64)
def cell_game(cell: Cell) -> Game:
    """The :class:`Game` of a cell, built once per process (cells that differ only in
    ``params`` share it: ``params`` do not change the match)."""
    return Game(cell.cls, cell.attacker, cell.defender, cell.eps, invalid_policy=cell.invalid_policy,
                trace=cell.trace, mode=cell.mode, budget=cell.budget)


def play_chunk(cell: Cell, start: int, stop: int, game: Game | None = None) -> ChunkResult:
    """Play rounds ``start <= i < stop`` of ``cell`` (what a worker does with a unit),
    with ``game`` if given, else the process's cached :func:`cell_game`."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    # One BLAS thread on every backend: the workers are the parallelism (a multi-threaded
    # BLAS in each only competes for the same cores; small solves measured up to 50x
    # slower), and the same thread count everywhere keeps float results identical
    # across backends.
    with threadpool_limits(1):
        rounds = (game or cell_game(cell)).play_rounds(cell.seed, range(start, stop))
    seconds = time.perf_counter() - t0
    return ChunkResult(cell.cell_id, start, stop, rounds_to_json(rounds), seconds)


def _worker_init(parent: int) -> None:
    """In each pool worker: exit when the main process (pid ``parent``) goes away, so
    that a killed run leaves no workers behind (an orphan is re-parented: ``getppid``
    changes, also when the main process died before this ran)."""

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


Unit = tuple[Cell, int, int]


def _run_serial(units: list[Unit], games: dict[str, Game]) -> Iterator[ChunkResult]:
    for cell, start, stop in units:
        yield play_chunk(cell, start, stop, games[cell.cell_id])


def _run_local(units: list[Unit], workers: int) -> Iterator[ChunkResult]:
    import multiprocessing

    # spawn, not fork: a worker inherits no open store, lock or thread of this process,
    # and is this process's child, so it can see this process die (_worker_init).
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init, initargs=(os.getpid(),))
    try:
        # Keep a bounded window of units in flight so that memory stays flat on big sweeps.
        pending: set[Future] = set()
        queue = iter(units)
        for cell, start, stop in queue:
            pending.add(pool.submit(play_chunk, cell, start, stop))
            if len(pending) >= 4 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    raise RunError("a worker process died (killed or out of memory); finished chunks are "
                                   "stored: run again to resume") from None
                nxt = next(queue, None)
                if nxt is not None:
                    pending.add(pool.submit(play_chunk, *nxt))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _import_ray() -> Any:
    """The ``ray`` module, or :class:`RunError` naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise RunError(f"the ray backend needs Ray, which is not installed: {RAY_INSTALL}") from None
    return ray


def _is_loopback(host: str) -> bool:
    return host.strip("[]") in LOOPBACK_HOSTS or host.startswith("127.")


def _address_host(address: str) -> str:
    """The host of ``host:port`` (``[v6]:port`` too); ``""`` for anything else."""
    if address.startswith("["):
        return address[1:address.find("]")] if "]" in address else ""
    return address.rsplit(":", 1)[0] if address.count(":") == 1 else ""


def _resolve_address(address: str) -> str:
    """``"auto"`` as the ``host:port`` of the cluster Ray would connect to (``RAY_ADDRESS``,
    else the address file of the last ``ray start``, else a running GCS process); any
    other address as it is."""
    if address != "auto":
        return address
    try:
        from ray._private.services import get_ray_address_from_environment
        return get_ray_address_from_environment("auto", None) or "auto"
    except ConnectionError:
        raise RunError("--address auto found no running Ray cluster on this machine; start one with "
                       "'ray start --head' or pass its host:port") from None
    except Exception:  # another Ray's internals: ray.init reports what is wrong
        return address


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``host:port`` nothing listens on, which Ray would otherwise wait on for
    minutes (a stopped cluster whose address file ``ray start`` left behind, a typo)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # Ray's own forms (ray://, ...): ray.init checks them
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise RunError(f"no Ray cluster answers at {address} ({err.strerror or err}); is it running? "
                       "(start one with 'ray start --head')") from None


@contextmanager
def _ray_keeps_loopback(ray: Any, address: str | None) -> Iterator[None]:
    """While ``ray.init`` runs: keep a loopback node address as it is.

    On Linux, Ray (2.9 to 2.60 at least) replaces a node or cluster address of
    127.0.0.1 by the machine's outward IP, so a local instance listens on every
    interface and a cluster started with ``--node-ip-address=127.0.0.1`` cannot be
    reached at 127.0.0.1. Ray does not do this when ``ray_constants.ENABLE_RAY_CLUSTER``
    is false (its single-machine mode, on by default on macOS and Windows), which is then
    set for the duration of the call. ``address``: ``None`` (start a local instance,
    always loopback) or ``host:port`` (``"auto"`` resolved by :func:`_resolve_address`).
    A Ray without that constant is left alone (the caller checks the node address of a
    local instance afterwards).
    """
    loopback = address is None or _is_loopback(_address_host(address or ""))
    try:
        from ray._private import ray_constants
    except ImportError:
        ray_constants = None
    if not loopback or ray_constants is None or not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):
        yield
        return
    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


class _RaySession:
    """A connection to Ray for one run: a local instance started on 127.0.0.1 (address
    ``None``; stopped by :meth:`close`) or an existing cluster (``"auto"`` or
    ``host:port``; left running). A process already connected to Ray keeps its
    connection (and :meth:`close` leaves it open)."""

    def __init__(self, address: str | None, workers: int | None):
        import logging

        self.ray = ray = _import_ray()
        self.started = False
        if ray.is_initialized():
            self.where = "the Ray this process is connected to"
            self._check_workers(workers)
            return
        where = "a local Ray instance on 127.0.0.1" if address is None else f"the Ray cluster at {address}"
        options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        if address is None:
            # 127.0.0.1 only: Ray's processes listen on the node address (the dashboard,
            # which would listen on its own, is off).
            options.update(address="local", num_cpus=workers, _node_ip_address="127.0.0.1")
        else:
            address = _resolve_address(address)
            _check_reachable(address)
            options.update(address=address)
        try:
            with _ray_keeps_loopback(ray, address):
                ray.init(**options)
        except Exception as err:
            if ray.is_initialized():
                ray.shutdown()
            detail = " ".join(str(err).split()) or type(err).__name__
            raise RunError(f"cannot start or reach {where}: {detail[:300]}") from None
        self.started = address is None
        #: Where the tasks run, for the run log.
        self.where = where if address is None else f"the Ray cluster at {address}"
        if address is None:
            node = ray.util.get_node_ip_address()
            if not _is_loopback(node):
                self.close()
                raise RunError(f"this Ray ({ray.__version__}) started its local instance on {node}, not 127.0.0.1; "
                               f"start a cluster with 'ray start --head' and pass --address")
        self._check_workers(workers)

    def _check_workers(self, workers: int | None) -> None:
        cpus = int(self.ray.cluster_resources().get("CPU", 0))
        if cpus < 1:
            self.close()
            raise RunError("the Ray cluster has no CPUs to run tasks on")
        #: Tasks kept running at once: ``workers``, else the cluster's CPUs.
        self.workers = workers if workers is not None else cpus

    def run(self, units: list[Unit], workers: int) -> Iterator[ChunkResult]:
        """Play ``units`` as Ray tasks, at most ``4 * workers`` submitted at a time,
        yielding each result as it finishes (in any order)."""
        ray = self.ray
        play = ray.remote(num_cpus=1)(play_chunk)
        lost = tuple(getattr(ray.exceptions, n) for n in (
            "WorkerCrashedError", "NodeDiedError", "LocalRayletDiedError", "ObjectLostError", "OwnerDiedError",
            "RaySystemError") if hasattr(ray.exceptions, n))
        pending: list[Any] = []
        queue = iter(units)
        try:
            for cell, start, stop in queue:
                pending.append(play.remote(cell, start, stop))
                if len(pending) >= 4 * workers:
                    break
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    try:
                        yield ray.get(ref)
                    except lost as err:
                        raise RunError(f"a Ray task was lost ({type(err).__name__}); finished chunks are stored: "
                                       f"run again to resume") from None
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending.append(play.remote(*nxt))
        finally:
            for ref in pending:  # an error or a close: drop the units not yet stored
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - a task that already ended cannot be cancelled: nothing to undo
                    pass

    def close(self) -> None:
        """Stop the local instance if this session started it."""
        if self.started:
            self.ray.shutdown()
            self.started = False


# -- run directory -----------------------------------------------------------------------

class _RunLock:
    """An exclusive ``flock`` on ``<run dir>/run.lock``; the kernel drops it when the
    process dies, however it dies."""

    def __init__(self, directory: Path):
        self.path = directory / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, name: str) -> "_RunLock":
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise RunError(f"run {name!r} is in progress in another process (lock {self.path})") from None
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def is_running(directory: str | Path) -> bool:
    """Whether a process holds the run lock of ``directory``."""
    path = Path(directory) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _utc_stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _move_aside(directory: Path) -> Path:
    """Rename a run directory to ``<name>.<UTC timestamp>.bak`` (a free name); never deletes."""
    stamp = _utc_stamp()
    target = directory.with_name(f"{directory.name}.{stamp}.bak")
    n = 1
    while target.exists():
        n += 1
        target = directory.with_name(f"{directory.name}.{stamp}-{n}.bak")
    directory.rename(target)
    return target


class _RunLog:
    """Appends timestamped lines to ``run.log`` (flushed at once, so a kill keeps them)."""

    def __init__(self, path: Path):
        self._fh = open(path, "a", encoding="utf-8")

    def __call__(self, message: str) -> None:
        self._fh.write(f"{datetime.now(timezone.utc).isoformat(timespec='milliseconds')} {message}\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


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

def _check_options(backend: str, workers: int | None, address: str | None = None) -> int | None:
    """The worker count to use (``None``: the Ray cluster's CPUs), or :class:`RunError`."""
    if backend not in BACKENDS:
        raise RunError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise RunError(f"workers must be an integer >= 1, got {workers!r}")
    if backend == "serial":
        if workers not in (None, 1):
            raise RunError(f"the serial backend runs in one process; workers={workers} needs --backend local")
        return 1
    if address is not None and backend != "ray":
        raise RunError(f"address {address!r} is for the ray backend; pass --backend ray")
    if backend == "ray":
        if address is not None and (not isinstance(address, str) or not (
                address == "auto" or address.startswith("ray://") or _address_host(address))):
            raise RunError(f"Ray address {address!r} is not 'auto' or host:port (e.g. 127.0.0.1:6379)")
        _import_ray()
        return workers
    return workers if workers is not None else (os.cpu_count() or 1)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise RunError(f"sweep name {name!r} is not a plain directory name (letters, digits, '-', '_', '.')")


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
    pool_size = _check_options(backend, workers, address)
    _check_name(config.name)
    chunk_rounds = config.chunk_rounds
    if isinstance(chunk_rounds, bool) or not isinstance(chunk_rounds, int) or chunk_rounds < 1:
        raise RunError(f"chunk_rounds must be an integer >= 1, got {chunk_rounds!r}")
    t0 = time.perf_counter()
    directory = Path(root) / config.name
    moved_to = None
    if new and directory.exists():
        lock = _RunLock(directory).acquire(config.name)
        try:
            moved_to = _move_aside(directory)
        finally:
            lock.release()
    directory.mkdir(parents=True, exist_ok=True)
    lock = _RunLock(directory).acquire(config.name)
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
        ray_session = _RaySession(address, pool_size) if backend == "ray" and units else None
        if ray_session is not None:
            pool_size = ray_session.workers
        workers = 1 if backend == "serial" else max(1, min(pool_size or 1, len(units)))

        log = _RunLog(directory / LOG_FILE)
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

        results = (_run_serial(units, games) if backend == "serial" else
                   ray_session.run(units, workers) if ray_session is not None else
                   _run_serial([], games) if backend == "ray" else _run_local(units, workers))
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


# -- the runs under a root ---------------------------------------------------------------

@dataclass(frozen=True)
class RunInfo:
    """One run directory under a root, for ``defendability runs``.

    ``status``: ``complete`` (every cell has its row), ``partial``, ``running`` (a
    process holds its lock) or ``unreadable`` (not a results store).
    """

    name: str
    directory: Path
    status: str
    cells_done: int
    cells_total: int
    config_hash: str
    last_update: str | None


def list_runs(root: str | Path = "runs") -> list[RunInfo]:
    """The runs under ``root`` (directories holding a results store), sorted by name."""
    out = []
    for directory in iter_stores(root):
        try:
            with ResultsStore(directory / STORE_FILE, readonly=True) as store:
                meta = store.meta()
                done = len(store.finished_cells())
                last = store.last_update()
        except (StoreError, OSError, sqlite3.Error) as err:
            out.append(RunInfo(directory.name, directory, "unreadable", 0, 0, "", str(err)))
            continue
        if meta is None:
            out.append(RunInfo(directory.name, directory, "running" if is_running(directory) else "partial",
                               done, 0, "", last))
            continue
        status = ("running" if is_running(directory) else
                  "complete" if done >= meta["cells_total"] else "partial")
        out.append(RunInfo(directory.name, directory, status, done, meta["cells_total"], meta["config_hash"], last))
    return out
