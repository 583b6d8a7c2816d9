"""The results store of a sweep: one SQLite file, ``runs/<name>/results.sqlite``.

Three tables:

* ``meta``: one row, the run's identity: ``config_hash``, ``name``, ``config`` (the
  TOML text), ``package_version``, ``cells_total``, ``created`` (UTC, ISO 8601),
  ``schema_version`` (:data:`SCHEMA_VERSION`).
* ``chunks``: rounds of unfinished cells, one row per work unit ``(cell_id, start,
  stop)`` (rounds ``start <= i < stop``), ``rounds`` the JSON list of the
  :class:`~defendability.game.Round` dataclasses (exact round trip, see
  :func:`rounds_to_json`), ``seconds`` the time spent playing them. One transaction per
  chunk; primary key ``(cell_id, start)``.
* ``cells``: one row per finished cell (primary key ``cell_id``): the cell's SPECs, eps,
  rounds, seed, policy and grid ``params`` (JSON), its outcomes (alpha, beta, beta among
  valid rounds, win rate, alpha + beta and the ``_lo``/``_hi`` ends of every 95%
  interval, AUROC, round counts, invalid reasons, cost), the whole
  ``GameResult.to_dict()`` as ``result``,
  the scores of graded defenders as ``scores`` (``{"clean": [...], "backdoor": [...]}``,
  else NULL), ``config_hash``, ``package_version``, ``seconds`` (time spent playing the
  cell's rounds, summed over chunks) and ``finished_at``. A cell's row is inserted in
  the same transaction that deletes its chunks.

The file is in WAL mode with ``synchronous=NORMAL``: a killed process (SIGKILL
included) loses only what it had not committed, and a committed transaction is whole.
Only one process writes (the runner's main process); workers return rounds to it.
Inserts never double-count: primary keys, and a check inside each write's transaction
that skips a chunk or cell already stored and a chunk of a cell that already has its
row (a plain ``INSERT`` after the check, so that a malformed row raises rather than
being silently ignored as ``INSERT OR IGNORE`` would).

Versions: a store written by an earlier version (a smaller ``schema_version``) lacks
the columns added since, all of which may be NULL. Opening it for writing adds them
(``ALTER TABLE ... ADD COLUMN``, one transaction) and raises its ``schema_version``, so
a run resumes in place; rows finished before hold NULL there. Opened read-only, it is
left as it is and the missing columns read as NULL. Either way :meth:`ResultsStore.cells`
and exports have the same columns, in the same order, as a new store's.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import sqlite3
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import UserError
from ..game import DistanceCheck, GameResult, Round
from .cell import Cell

#: File name of the store inside a run directory.
STORE_FILE = "results.sqlite"

#: Export formats :meth:`ResultsStore.export` knows.
EXPORT_FORMATS = ("csv", "parquet")

#: Columns of ``cells`` that measure time rather than outcome: they differ run to run.
TIMING_COLUMNS = ("seconds", "finished_at")

#: Keys of the ``cost`` object (also inside ``result``) that measure time.
TIMING_COST_KEYS = ("fit_seconds", "seconds_per_1000_decisions", "attacker_seconds_per_round",
                    "referee_seconds_per_round")

#: Version of the tables below. 1: the first; 2: ``cells.beta_valid``, ``beta_valid_lo``
#: and ``beta_valid_hi`` (beta among valid rounds and its Wilson interval).
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    package_version TEXT NOT NULL,
    cells_total INTEGER NOT NULL,
    created TEXT NOT NULL,
    schema_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    cell_id TEXT NOT NULL,
    start INTEGER NOT NULL,
    stop INTEGER NOT NULL,
    rounds TEXT NOT NULL,
    seconds REAL NOT NULL,
    written_at TEXT NOT NULL,
    PRIMARY KEY (cell_id, start),
    CHECK (0 <= start AND start < stop)
);
CREATE TABLE IF NOT EXISTS cells (
    cell_id TEXT PRIMARY KEY,
    class TEXT NOT NULL,
    attacker TEXT NOT NULL,
    defender TEXT NOT NULL,
    eps REAL NOT NULL,
    rounds INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    invalid_policy TEXT NOT NULL,
    params TEXT NOT NULL,
    alpha REAL,
    beta REAL,
    win_rate REAL,
    error_sum REAL,
    alpha_lo REAL, alpha_hi REAL,
    beta_lo REAL, beta_hi REAL,
    beta_valid REAL, beta_valid_lo REAL, beta_valid_hi REAL,
    win_lo REAL, win_hi REAL,
    error_sum_lo REAL, error_sum_hi REAL,
    auroc REAL,
    tpr_at_fpr TEXT NOT NULL,
    valid_rounds INTEGER NOT NULL,
    invalid_rounds INTEGER NOT NULL,
    void_rounds INTEGER NOT NULL,
    invalid_reasons TEXT NOT NULL,
    vc_dimension INTEGER NOT NULL,
    lower_bound REAL,
    guarantee TEXT,
    cost TEXT NOT NULL,
    result TEXT NOT NULL,
    scores TEXT,
    config_hash TEXT NOT NULL,
    package_version TEXT NOT NULL,
    seconds REAL NOT NULL,
    finished_at TEXT NOT NULL
);
"""

_INTERVALS = (("alpha", "alpha_ci"), ("beta", "beta_ci"), ("beta_valid", "beta_valid_ci"), ("win", "win_ci"),
              ("error_sum", "error_sum_ci"))

_TABLES = ("meta", "chunks", "cells")


@functools.cache
def schema_columns() -> dict[str, tuple[tuple[str, str, bool], ...]]:
    """The current tables' columns, in order: table -> ``(name, declared type, not
    null)`` for each column, read from the schema itself (so there is one definition)."""
    db = sqlite3.connect(":memory:")
    try:
        db.executescript(_SCHEMA)
        return {t: tuple((r[1], r[2], bool(r[3])) for r in db.execute(f"PRAGMA table_info({t})")) for t in _TABLES}
    finally:
        db.close()


class StoreError(UserError):
    """A results store that cannot be used as asked (not a store, an unknown export
    format, a missing optional dependency)."""


def utc_now() -> str:
    """The current UTC time, ISO 8601 to the microsecond (``2025-01-31T12:00:00.123456+00:00``)."""
    return datetime.now(timezone.utc).isoformat()


def package_version() -> str:
    """The installed ``defendability`` version, recorded on every row."""
    from .. import __version__

    return __version__


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars (``np.float64``, ``np.bool_``, ``np.int64``)."""
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"cannot store a {type(value).__name__} in a round")


def rounds_to_json(rounds: Sequence[Round]) -> str:
    """A list of rounds as a JSON array of objects (field name -> value).

    Floats are written with Python's shortest round-tripping repr (NaN and infinities
    as JSON's common extensions), so :func:`rounds_from_json` rebuilds rounds equal in
    every field, timings included.
    """
    return json.dumps([asdict(r) for r in rounds], default=_plain, separators=(",", ":"))


def rounds_from_json(text: str) -> list[Round]:
    """Inverse of :func:`rounds_to_json`."""
    out = []
    for item in json.loads(text):
        distance = item.pop("distance")
        out.append(Round(**item, distance=None if distance is None else DistanceCheck(**distance)))
    return out


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_plain, separators=(",", ":"))


def _real(value: Any) -> float | None:
    """A float column value; NaN (no rounds kept) becomes NULL."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def cell_row(cell: Cell, result: GameResult, *, config_hash: str, seconds: float,
             version: str | None = None, finished_at: str | None = None) -> dict[str, Any]:
    """The ``cells`` row of a finished cell (column name -> value)."""
    d = result.to_dict()
    row: dict[str, Any] = {
        "cell_id": cell.cell_id, "class": cell.cls, "attacker": cell.attacker, "defender": cell.defender,
        "eps": float(cell.eps), "rounds": int(cell.rounds), "seed": int(cell.seed),
        "invalid_policy": cell.invalid_policy, "params": _json(cell.params),
        "alpha": _real(d["alpha"]), "beta": _real(d["beta"]), "beta_valid": _real(d["beta_valid"]),
        "win_rate": _real(d["win_rate"]), "error_sum": _real(d["error_sum"]),
    }
    for prefix, key in _INTERVALS:
        row[f"{prefix}_lo"], row[f"{prefix}_hi"] = (_real(v) for v in d[key])
    row.update({
        "auroc": _real(d["auroc"]), "tpr_at_fpr": _json(d["tpr_at_fpr"]),
        "valid_rounds": d["valid_rounds"], "invalid_rounds": d["invalid_rounds"], "void_rounds": d["void_rounds"],
        "invalid_reasons": _json(d["invalid_reasons"]), "vc_dimension": int(d["vc_dimension"]),
        "lower_bound": _real(d["lower_bound"]),
        "guarantee": None if d["guarantee"] is None else _json(d["guarantee"]),
        "cost": _json(d["cost"]), "result": _json(d),
        "scores": _json({"clean": result.clean_scores, "backdoor": result.backdoor_scores})
        if result.auroc is not None else None,
        "config_hash": config_hash, "package_version": version or package_version(),
        "seconds": float(seconds), "finished_at": finished_at or utc_now(),
    })
    return row


def without_timing(row: dict[str, Any]) -> dict[str, Any]:
    """A ``cells`` row less everything that measures time (:data:`TIMING_COLUMNS`, and
    the timing keys of ``cost`` and ``result``): what must be identical across
    backends, worker counts and interrupted runs."""
    out = {k: v for k, v in row.items() if k not in TIMING_COLUMNS}
    if "cost" in out:
        cost = json.loads(out["cost"])
        out["cost"] = {k: v for k, v in cost.items() if k not in TIMING_COST_KEYS}
    if "result" in out:
        result = json.loads(out["result"])
        result.pop("seconds", None)
        result["cost"] = {k: v for k, v in result["cost"].items() if k not in TIMING_COST_KEYS}
        out["result"] = result
    return out


class ResultsStore:
    """The SQLite results store at ``path`` (created with its tables unless
    ``readonly``). Use as a context manager, or call :meth:`close`.

    Methods that write run one transaction each, so a killed process leaves every
    chunk and every cell either wholly in the store or not at all.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        if readonly:
            if not self.path.is_file():
                raise StoreError(f"no results store at {self.path}")
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                       isolation_level=None, timeout=30.0)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self._db.row_factory = sqlite3.Row
        try:
            if not readonly:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA)
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise StoreError(f"{self.path} is not a results store ({err})") from None
        if not set(_TABLES) <= tables:
            self._db.close()
            raise StoreError(f"{self.path} is not a results store (tables meta, chunks and cells expected)")
        try:
            #: Current columns the file lacks (written by an earlier version), per table.
            self.missing_columns = self._missing_columns() if readonly else self._upgrade()
        except BaseException:
            self._db.close()
            raise
        extra = [c for c in self._file_columns("cells") if c not in {n for n, _, _ in schema_columns()["cells"]}]
        self._cell_columns = [n for n, _, _ in schema_columns()["cells"]] + extra

    # -- versions ----------------------------------------------------------------------
    def _file_columns(self, table: str) -> list[str]:
        return [r[1] for r in self._db.execute(f"PRAGMA table_info({table})")]

    def _missing_columns(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for table in _TABLES:
            have = set(self._file_columns(table))
            missing = [name for name, _, _ in schema_columns()[table] if name not in have]
            if missing:
                out[table] = missing
        return out

    def _upgrade(self) -> dict[str, list[str]]:
        """Add the columns of the current schema that the file lacks (one transaction,
        which also raises ``meta.schema_version``); returns ``{}``, nothing being missing
        afterwards. The check is repeated inside the transaction, so two processes
        opening an old store at once add each column once."""
        if not self._missing_columns():
            return {}  # the usual case: no write lock taken just to open
        with self._transaction():
            missing = self._missing_columns()
            if not missing:
                return {}
            declared = {(t, n): (kind, notnull) for t, cols in schema_columns().items() for n, kind, notnull in cols}
            for table, names in missing.items():
                for name in names:
                    kind, notnull = declared[table, name]
                    if notnull:  # ALTER TABLE cannot add a NOT NULL column without a default
                        raise StoreError(f"{self.path}: a store of an older version, whose table {table} lacks "
                                         f"the column {name}, which cannot be added; re-run the sweep with --new")
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN [{name}] {kind}")
            self._db.execute("UPDATE meta SET schema_version = ? WHERE schema_version < ?",
                             (SCHEMA_VERSION, SCHEMA_VERSION))
        return {}

    # -- housekeeping ------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (committed work is already on disk)."""
        self._db.close()

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"`` for an intact file."""
        return "; ".join(r[0] for r in self._db.execute("PRAGMA integrity_check"))

    # -- meta --------------------------------------------------------------------------
    def meta(self) -> dict[str, Any] | None:
        """The run's identity (the ``meta`` row without its id), or ``None`` before
        :meth:`init_meta`."""
        row = self._db.execute("SELECT * FROM meta WHERE id = 1").fetchone()
        if row is None:
            return None
        out = dict(row)
        out.pop("id")
        return out

    def init_meta(self, *, config_hash: str, name: str, config_text: str, cells_total: int) -> dict[str, Any]:
        """Record the run's identity once; later calls keep the first record. Returns
        the record in the store (compare its ``config_hash`` with yours)."""
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO meta (id, config_hash, name, config, package_version, cells_total, created, "
                "schema_version) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                (config_hash, name, config_text, package_version(), int(cells_total), utc_now(), SCHEMA_VERSION))
        meta = self.meta()
        assert meta is not None
        return meta

    # -- chunks ------------------------------------------------------------------------
    def add_chunk(self, cell_id: str, start: int, stop: int, rounds: Sequence[Round] | str, seconds: float) -> bool:
        """Store rounds ``start <= i < stop`` of a cell (a list of rounds, or its
        :func:`rounds_to_json` text) in one transaction. Returns ``False``, storing
        nothing, when that chunk is already stored or the cell is finished."""
        text = rounds if isinstance(rounds, str) else rounds_to_json(rounds)
        with self._transaction():
            if (self._db.execute("SELECT 1 FROM cells WHERE cell_id = ?", (cell_id,)).fetchone()
                    or self._db.execute("SELECT 1 FROM chunks WHERE cell_id = ? AND start = ?",
                                        (cell_id, int(start))).fetchone()):
                return False
            self._db.execute(
                "INSERT INTO chunks (cell_id, start, stop, rounds, seconds, written_at) VALUES (?, ?, ?, ?, ?, ?)",
                (cell_id, int(start), int(stop), text, float(seconds), utc_now()))
            return True

    def chunk_ranges(self) -> dict[str, list[tuple[int, int]]]:
        """Stored chunks of unfinished cells: cell_id -> sorted ``(start, stop)`` list."""
        out: dict[str, list[tuple[int, int]]] = {}
        for r in self._db.execute("SELECT cell_id, start, stop FROM chunks ORDER BY cell_id, start"):
            out.setdefault(r["cell_id"], []).append((r["start"], r["stop"]))
        return out

    def chunks(self) -> list[dict[str, Any]]:
        """The ``chunks`` rows as dicts, without the rounds (cell_id, start, stop,
        seconds, written_at), ordered by cell and start."""
        return [dict(r) for r in self._db.execute(
            "SELECT cell_id, start, stop, seconds, written_at FROM chunks ORDER BY cell_id, start")]

    def load_rounds(self, cell_id: str) -> tuple[list[Round], float]:
        """All stored rounds of an unfinished cell in round order, and the seconds
        spent playing them."""
        rounds: list[Round] = []
        seconds = 0.0
        for r in self._db.execute("SELECT rounds, seconds FROM chunks WHERE cell_id = ? ORDER BY start", (cell_id,)):
            rounds.extend(rounds_from_json(r["rounds"]))
            seconds += r["seconds"]
        return rounds, seconds

    # -- cells -------------------------------------------------------------------------
    def finish_cell(self, row: dict[str, Any]) -> bool:
        """Insert a finished cell's row (see :func:`cell_row`) and delete its chunks, in
        one transaction. Returns ``False`` (changing nothing) if the cell has a row."""
        columns = list(row)
        with self._transaction():
            if self._db.execute("SELECT 1 FROM cells WHERE cell_id = ?", (row["cell_id"],)).fetchone():
                return False
            self._db.execute(f"INSERT INTO cells ({', '.join(f'[{c}]' for c in columns)}) "
                             f"VALUES ({', '.join('?' for _ in columns)})", [row[c] for c in columns])
            self._db.execute("DELETE FROM chunks WHERE cell_id = ?", (row["cell_id"],))
            return True

    def finished_cells(self) -> set[str]:
        """Ids of the cells that have a row."""
        return {r[0] for r in self._db.execute("SELECT cell_id FROM cells")}

    def cells(self) -> list[dict[str, Any]]:
        """The ``cells`` rows as dicts (column -> value, JSON columns as text), ordered by
        cell_id, with the columns of :meth:`cell_columns` in its order (``None`` for a
        column that a store of an earlier version, opened read-only, lacks)."""
        cursor = self._db.execute("SELECT * FROM cells ORDER BY cell_id")
        present = {d[0] for d in cursor.description}
        return [{c: r[c] if c in present else None for c in self._cell_columns} for r in cursor]

    def cell_columns(self) -> list[str]:
        """Column names of ``cells``: the current schema's, in its order (whatever the
        version that wrote the file), then any the file has beyond them."""
        return list(self._cell_columns)

    def last_update(self) -> str | None:
        """When a chunk or cell was last written (ISO 8601 UTC), else when the run was created."""
        row = self._db.execute(
            "SELECT max(t) FROM (SELECT max(finished_at) AS t FROM cells UNION ALL "
            "SELECT max(written_at) FROM chunks UNION ALL SELECT created FROM meta)").fetchone()
        return row[0]

    # -- export ------------------------------------------------------------------------
    def export(self, format: str = "csv", path: str | Path | None = None) -> Path:
        """Write the ``cells`` table to ``path`` (default: ``results.<format>`` next to
        the store) as CSV (the csv module; JSON columns as text, floats in round-trip
        repr, NULL as an empty field) or Parquet (needs pyarrow). Returns the path."""
        if format not in EXPORT_FORMATS:
            raise StoreError(f"unknown export format {format!r}; valid: {', '.join(EXPORT_FORMATS)}")
        out = Path(path) if path is not None else self.path.with_name(f"results.{format}")
        columns, rows = self.cell_columns(), self.cells()
        if format == "parquet":
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise StoreError("parquet export needs pyarrow (pip install pyarrow); csv works without it") from None
            table = pa.Table.from_pylist(rows) if rows else pa.table({c: pa.array([], pa.string()) for c in columns})
            pq.write_table(table, out)
            return out
        with open(out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)  # str() of a float is its round-trip repr
        return out


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception)."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def iter_stores(root: str | Path) -> Iterator[Path]:
    """Run directories under ``root`` that hold a store, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        return
    for child in sorted(root.iterdir()):
        if (child / STORE_FILE).is_file():
            yield child
