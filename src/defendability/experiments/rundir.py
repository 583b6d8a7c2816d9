"""Run directories: where a sweep's results live, its lock and log, and what is left to play.

A sweep named ``name`` lives in ``<root>/<name>/``: ``results.sqlite`` (the store),
``run.log`` (one line per event, UTC timestamps; :class:`RunLog`) and ``run.lock`` (held
while a process runs the sweep, so two processes never run it at once; :class:`RunLock`).
Resume planning (:func:`plan_units`) cuts what the store does not hold yet into work
units; :func:`list_runs` describes the runs under a root for ``defendability runs``.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

from ..errors import RunError
from .store import STORE_FILE, ResultsStore, StoreError, iter_stores

LOG_FILE = "run.log"
LOCK_FILE = "run.lock"


# -- resume planning ----------------------------------------------------------------------

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


# -- the run directory -------------------------------------------------------------------

def check_name(name: str) -> None:
    """Refuse (:class:`RunError`) a sweep name that is not one plain directory name."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise RunError(f"sweep name {name!r} is not a plain directory name (letters, digits, '-', '_', '.')")


class RunLock:
    """An exclusive ``flock`` on ``<run dir>/run.lock``; the kernel drops it when the
    process dies, however it dies."""

    def __init__(self, directory: Path):
        self.path = directory / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, name: str) -> "RunLock":
        """Take the lock, or :class:`RunError` naming run ``name`` if another process holds it."""
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise RunError(f"run {name!r} is in progress in another process (lock {self.path})") from None
        return self

    def release(self) -> None:
        """Let the lock go (closing the file drops the ``flock``)."""
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


def utc_stamp() -> str:
    """The current UTC time to the second, as it goes into file names (``20250131T120000Z``)."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def move_aside(directory: Path) -> Path:
    """Rename a run directory to ``<name>.<UTC timestamp>.bak`` (a free name); never deletes."""
    stamp = utc_stamp()
    target = directory.with_name(f"{directory.name}.{stamp}.bak")
    n = 1
    while target.exists():
        n += 1
        target = directory.with_name(f"{directory.name}.{stamp}-{n}.bak")
    directory.rename(target)
    return target


class RunLog:
    """Appends timestamped lines to ``run.log`` (flushed at once, so a kill keeps them)."""

    def __init__(self, path: Path):
        self._fh = open(path, "a", encoding="utf-8")

    def __call__(self, message: str) -> None:
        """Append ``message`` after the current UTC time (ISO 8601, milliseconds)."""
        self._fh.write(f"{datetime.now(timezone.utc).isoformat(timespec='milliseconds')} {message}\n")
        self._fh.flush()

    def close(self) -> None:
        """Close the file (every line is already written)."""
        self._fh.close()


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
