"""Backends of a sweep: where and how work units are played.

A unit ``(cell, start, stop)`` is rounds ``start <= i < stop`` of one cell; playing it
(:func:`play_chunk`) gives a :class:`ChunkResult`, the rounds as JSON text. Round ``i``
of a cell draws its randomness from ``(seed, i)`` alone, so a unit's rounds do not
depend on which process plays it or when.

Backends: ``serial`` (in this process, :func:`run_serial`), ``local`` (a process pool,
``spawn`` start method, :func:`run_local`) and ``ray`` (Ray tasks, on a Ray instance
started here on 127.0.0.1 or on an existing cluster at an address,
:class:`RaySession`; Ray is an optional extra, imported only by this backend). Each
yields results as units finish, in any order. Workers only play rounds; they never
open the store, and each exits when the main process dies (Ray: when its instance
stops).
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Iterator

from ..errors import RunError
from ..game import Game
from .cell import Cell
from .store import rounds_to_json

#: The backends of :func:`~defendability.experiments.runner.run_sweep`.
BACKENDS = ("serial", "local", "ray")

#: What to install for the ``ray`` backend.
RAY_INSTALL = "pip install 'defendability[ray]'"

#: Host names that mean this machine only.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


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


#: A work unit: rounds ``start <= i < stop`` of a cell.
Unit = tuple[Cell, int, int]


@functools.lru_cache(maxsize=64)
def cell_game(cell: Cell) -> Game:
    """The :class:`Game` of a cell, built once per process (cells that differ only in
    ``params`` share it: ``params`` do not change the match)."""
    return Game(cell.cls, cell.attacker, cell.defender, rules=cell.rules)


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
    changes, also when the main process died before this ran). PyTorch, if a cell
    imports it, starts with one thread (OMP_NUM_THREADS, read when torch is first
    imported): the workers are the parallelism, as for BLAS in :func:`play_chunk`, and
    several multi-threaded workers on the same cores slow each other down many times over."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run_serial(units: list[Unit], games: dict[str, Game]) -> Iterator[ChunkResult]:
    """Play ``units`` in this process, in order, each with its cell's game from ``games``
    (cell_id -> :class:`Game`)."""
    for cell, start, stop in units:
        yield play_chunk(cell, start, stop, games[cell.cell_id])


def run_local(units: list[Unit], workers: int) -> Iterator[ChunkResult]:
    """Play ``units`` in a pool of ``workers`` processes, at most ``4 * workers``
    submitted at a time, yielding each result as it finishes (in any order). Closing the
    generator cancels the queued units, waits for those running and stops the pool."""
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


def import_ray() -> Any:
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


class RaySession:
    """A connection to Ray for one run: a local instance started on 127.0.0.1 (address
    ``None``; stopped by :meth:`close`) or an existing cluster (``"auto"`` or
    ``host:port``; left running). A process already connected to Ray keeps its
    connection (and :meth:`close` leaves it open)."""

    def __init__(self, address: str | None, workers: int | None):
        import logging

        self.ray = ray = import_ray()
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


def check_options(backend: str, workers: int | None, address: str | None = None) -> int | None:
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
        import_ray()
        return workers
    return workers if workers is not None else (os.cpu_count() or 1)
