"""The results store: exact round trips, one transaction per chunk and per cell, no
double counting, rows that carry the outcomes, export."""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
from dataclasses import replace

import numpy as np
import pytest

from defendability.errors import UserError
from defendability.experiments.cell import Cell
from defendability.experiments.store import (TIMING_COLUMNS, ResultsStore, StoreError, cell_row, iter_stores,
                                             rounds_from_json, rounds_to_json, without_timing)
from defendability.game import DistanceCheck, Game, Round

GRADED = Cell("subsets:N=16,d=4", "mixture", "vote:learner=closure", 0.1, 60, 5, params={"d": 4})
SHATTER = Cell("subsets:N=16,d=4", "shatter", "vote:learner=closure", 0.1, 40, 2, invalid_policy="void")
HALFSPACES = Cell("halfspaces:d=2", "mixture", "accept", 0.2, 30, 1)  # continuous inputs


def game(cell: Cell) -> Game:
    return Game(cell.cls, cell.attacker, cell.defender, cell.eps, invalid_policy=cell.invalid_policy)


def played(cell: Cell) -> list[Round]:
    return game(cell).play_rounds(cell.seed, range(cell.rounds))


@pytest.mark.parametrize("cell", [GRADED, SHATTER, HALFSPACES], ids=["graded", "void", "halfspaces"])
def test_rounds_round_trip_exactly(cell):
    rounds = played(cell)
    back = rounds_from_json(rounds_to_json(rounds))
    assert back == rounds
    # timings are not compared by Round.__eq__; they must survive too
    assert [(r.fit_seconds, r.decide_seconds) for r in back] == [(r.fit_seconds, r.decide_seconds) for r in rounds]
    g = game(cell)
    assert g.summarise(back, cell.seed, 1.5).to_dict(scores=True) == g.summarise(rounds, cell.seed, 1.5).to_dict(
        scores=True)


def test_round_trip_covers_every_kind_of_round():
    statuses = {r.status for c in (GRADED, SHATTER, HALFSPACES) for r in played(c)}
    assert "valid" in statuses and len(statuses) >= 2
    assert any(r.clean_reject is None for r in played(SHATTER))  # void rounds
    assert any(r.clean_score not in (0.0, 1.0) for r in played(GRADED))  # graded scores


def test_numpy_scalars_special_floats_and_estimated_distances_round_trip():
    r = Round(7, "valid", np.bool_(True), np.float64(0.1 + 0.2), False, float("inf"),
              DistanceCheck(np.float64(1 / 3), 0.5, np.bool_(False), np.int64(100), np.bool_(True)),
              np.int64(5), 3, 2, 1e-7, 2.5e-3)
    (back,) = rounds_from_json(rounds_to_json([r]))
    assert back == r and back.clean_score == 0.1 + 0.2 and back.backdoor_score == float("inf")
    assert type(back.clean_reject) is bool and type(back.distance.samples) is int
    nan = rounds_from_json(rounds_to_json([replace(r, clean_score=float("nan"))]))[0]
    assert np.isnan(nan.clean_score)


def test_a_new_store_is_wal_with_three_tables(tmp_path):
    path = tmp_path / "run" / "results.sqlite"
    with ResultsStore(path) as store:
        assert store.meta() is None and store.cells() == [] and store.chunks() == []
        assert store.integrity_check() == "ok"
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")} == {"meta", "chunks",
                                                                                             "cells"}


def test_meta_is_written_once(tmp_path):
    with ResultsStore(tmp_path / "results.sqlite") as store:
        first = store.init_meta(config_hash="a" * 64, name="x", config_text="name = 'x'", cells_total=3)
        again = store.init_meta(config_hash="b" * 64, name="y", config_text="", cells_total=9)
        assert again == first == store.meta()
        assert first["config_hash"] == "a" * 64 and first["cells_total"] == 3 and first["package_version"]


def test_chunks_are_stored_once_and_reloaded_in_round_order(tmp_path):
    rounds = played(GRADED)
    cid = GRADED.cell_id
    with ResultsStore(tmp_path / "results.sqlite") as store:
        assert store.add_chunk(cid, 40, 60, rounds[40:60], 0.25)
        assert store.add_chunk(cid, 0, 20, rounds_to_json(rounds[0:20]), 0.5)
        assert not store.add_chunk(cid, 0, 20, rounds[0:20], 9.0)  # already there: ignored
        assert store.add_chunk(cid, 20, 40, rounds[20:40], 1.0)
        assert store.chunk_ranges() == {cid: [(0, 20), (20, 40), (40, 60)]}
        back, seconds = store.load_rounds(cid)
        assert back == rounds and seconds == 1.75
        assert [c["seconds"] for c in store.chunks()] == [0.5, 1.0, 0.25]


def test_finishing_a_cell_writes_its_row_and_drops_its_chunks_once(tmp_path):
    rounds = played(GRADED)
    g = game(GRADED)
    result = g.summarise(rounds, GRADED.seed, 0.75)
    with ResultsStore(tmp_path / "results.sqlite") as store:
        store.add_chunk(GRADED.cell_id, 0, 60, rounds, 0.75)
        store.add_chunk(SHATTER.cell_id, 0, 10, played(SHATTER)[:10], 0.1)
        row = cell_row(GRADED, result, config_hash="h" * 64, seconds=0.75)
        assert store.finish_cell(row)
        assert not store.finish_cell(row)  # never twice
        assert not store.add_chunk(GRADED.cell_id, 0, 60, rounds, 0.75)  # a finished cell takes no chunks
        assert store.chunk_ranges() == {SHATTER.cell_id: [(0, 10)]}  # only its own chunks went
        assert store.finished_cells() == {GRADED.cell_id}
        (stored,) = store.cells()
    d = result.to_dict()
    assert stored["cell_id"] == GRADED.cell_id and stored["class"] == GRADED.cls
    assert stored["attacker"] == "mixture" and stored["defender"] == "vote:learner=closure"
    assert (stored["eps"], stored["rounds"], stored["seed"]) == (0.1, 60, 5)
    assert json.loads(stored["params"]) == {"d": 4}
    assert (stored["alpha"], stored["beta"], stored["win_rate"], stored["error_sum"]) == (
        result.alpha, result.beta, result.win_rate, result.error_sum)
    assert (stored["alpha_lo"], stored["alpha_hi"]) == result.alpha_ci
    assert (stored["beta_lo"], stored["beta_hi"]) == result.beta_ci
    assert stored["beta_valid"] == result.beta_valid and 0 < result.valid_rounds < result.rounds
    assert (stored["beta_valid_lo"], stored["beta_valid_hi"]) == result.beta_valid_ci
    assert (stored["win_lo"], stored["win_hi"]) == result.win_ci
    assert (stored["error_sum_lo"], stored["error_sum_hi"]) == result.error_sum_ci
    assert stored["auroc"] == result.auroc is not None
    assert (stored["valid_rounds"], stored["invalid_rounds"], stored["void_rounds"]) == (
        result.valid_rounds, result.invalid_rounds, result.void_rounds)
    assert json.loads(stored["invalid_reasons"]) == result.invalid_reasons
    assert json.loads(stored["cost"]) == d["cost"] and json.loads(stored["result"]) == d
    assert json.loads(stored["scores"]) == {"clean": result.clean_scores, "backdoor": result.backdoor_scores}
    assert stored["config_hash"] == "h" * 64 and stored["seconds"] == 0.75 and stored["package_version"]


def test_a_failed_finish_rolls_back(tmp_path):
    rounds = played(SHATTER)
    with ResultsStore(tmp_path / "results.sqlite") as store:
        store.add_chunk(SHATTER.cell_id, 0, 40, rounds, 0.1)
        row = cell_row(SHATTER, game(SHATTER).summarise(rounds, SHATTER.seed, 0.1), config_hash="h", seconds=0.1)
        row["cost"] = None  # NOT NULL: the insert fails inside the transaction
        with pytest.raises(sqlite3.IntegrityError):
            store.finish_cell(row)
        assert store.chunk_ranges() == {SHATTER.cell_id: [(0, 40)]} and store.cells() == []


def test_all_void_cell_stores_null_rates(tmp_path):
    # shatter's backdoors are 1/6 away (a 6-point shattered set): eps = 0.1 leaves none
    cell = Cell("parities:n=6", "shatter", "vote:learner=span", 0.1, 10, 0, invalid_policy="void")
    rounds = played(cell)
    result = game(cell).summarise(rounds, cell.seed, 0.0)
    assert result.void_rounds == result.rounds == 10
    row = cell_row(cell, result, config_hash="h", seconds=0.0)
    assert row["alpha"] is None and row["win_rate"] is None and row["scores"] is None
    assert row["beta_valid"] is None and (row["beta_valid_lo"], row["beta_valid_hi"]) == (0.0, 1.0)


def test_without_timing_drops_only_timing():
    rounds = played(GRADED)
    g = game(GRADED)
    a = cell_row(GRADED, g.summarise(rounds, 5, 1.0), config_hash="h", seconds=1.0)
    slower = [replace(r, fit_seconds=r.fit_seconds * 3 + 1) for r in rounds]
    b = cell_row(GRADED, g.summarise(slower, 5, 9.0), config_hash="h", seconds=9.0)
    assert a != b and without_timing(a) == without_timing(b)
    assert not set(TIMING_COLUMNS) & set(without_timing(a))
    c = cell_row(GRADED, g.summarise(rounds[:-1], 5, 1.0), config_hash="h", seconds=1.0)
    assert without_timing(c) != without_timing(a)


def _finished_store(tmp_path) -> ResultsStore:
    store = ResultsStore(tmp_path / "run" / "results.sqlite")
    for cell in (GRADED, SHATTER):
        rounds = played(cell)
        store.finish_cell(cell_row(cell, game(cell).summarise(rounds, cell.seed, 0.5), config_hash="h", seconds=0.5))
    return store


def test_csv_export_round_trips(tmp_path):
    with _finished_store(tmp_path) as store:
        path = store.export("csv")
        rows = store.cells()
        columns = store.cell_columns()
    assert path == tmp_path / "run" / "results.csv"
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == columns
        back = list(reader)
    assert len(back) == len(rows) == 2
    for got, want in zip(back, rows):
        for key, value in want.items():
            if value is None:
                assert got[key] == ""
            elif isinstance(value, float):
                assert float(got[key]) == value
            elif isinstance(value, int):
                assert int(got[key]) == value
            else:
                assert got[key] == value


def test_parquet_without_pyarrow_is_a_clear_user_error(tmp_path, monkeypatch):
    with _finished_store(tmp_path) as store:
        monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
        with pytest.raises(StoreError, match="parquet export needs pyarrow"):
            store.export("parquet")
        with pytest.raises(UserError, match="unknown export format 'xlsx'; valid: csv, parquet"):
            store.export("xlsx")


def test_parquet_export_when_pyarrow_is_there(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    with _finished_store(tmp_path) as store:
        path = store.export("parquet")
        rows = store.cells()
    assert pq.read_table(path).to_pylist() == rows


def test_read_only_and_foreign_files(tmp_path):
    with pytest.raises(StoreError, match="no results store at"):
        ResultsStore(tmp_path / "missing.sqlite", readonly=True)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all, not even close" * 100)
    with pytest.raises(StoreError, match="is not a results store"):
        ResultsStore(junk)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="tables meta, chunks and cells expected"):
        ResultsStore(other, readonly=True)
    with _finished_store(tmp_path) as store:
        pass
    with ResultsStore(store.path, readonly=True) as ro:
        assert len(ro.cells()) == 2
        with pytest.raises(sqlite3.OperationalError):
            ro.add_chunk("x", 0, 1, [], 0.0)


def test_iter_stores_lists_run_directories(tmp_path):
    for name in ("b", "a"):
        ResultsStore(tmp_path / name / "results.sqlite").close()
    (tmp_path / "empty").mkdir()
    assert [p.name for p in iter_stores(tmp_path)] == ["a", "b"]
    assert list(iter_stores(tmp_path / "nowhere")) == []


# -- stores written by an earlier version --------------------------------------------------

#: The tables as schema version 1 wrote them (before beta among valid rounds was stored).
V1_SCHEMA = """
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1), config_hash TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,
    package_version TEXT NOT NULL, cells_total INTEGER NOT NULL, created TEXT NOT NULL,
    schema_version INTEGER NOT NULL
);
CREATE TABLE chunks (
    cell_id TEXT NOT NULL, start INTEGER NOT NULL, stop INTEGER NOT NULL, rounds TEXT NOT NULL,
    seconds REAL NOT NULL, written_at TEXT NOT NULL, PRIMARY KEY (cell_id, start), CHECK (0 <= start AND start < stop)
);
CREATE TABLE cells (
    cell_id TEXT PRIMARY KEY, class TEXT NOT NULL, attacker TEXT NOT NULL, defender TEXT NOT NULL,
    eps REAL NOT NULL, rounds INTEGER NOT NULL, seed INTEGER NOT NULL, invalid_policy TEXT NOT NULL,
    params TEXT NOT NULL, alpha REAL, beta REAL, win_rate REAL, error_sum REAL, alpha_lo REAL, alpha_hi REAL,
    beta_lo REAL, beta_hi REAL, win_lo REAL, win_hi REAL, error_sum_lo REAL, error_sum_hi REAL, auroc REAL,
    tpr_at_fpr TEXT NOT NULL, valid_rounds INTEGER NOT NULL, invalid_rounds INTEGER NOT NULL,
    void_rounds INTEGER NOT NULL, invalid_reasons TEXT NOT NULL, vc_dimension INTEGER NOT NULL,
    lower_bound REAL, guarantee TEXT, cost TEXT NOT NULL, result TEXT NOT NULL, scores TEXT,
    config_hash TEXT NOT NULL, package_version TEXT NOT NULL, seconds REAL NOT NULL, finished_at TEXT NOT NULL
);
"""

NEW_IN_V2 = ("beta_valid", "beta_valid_lo", "beta_valid_hi")


def as_version_1(source, target) -> None:
    """Write ``target``, a copy of the store ``source`` as the previous version would have
    written it: the version-1 tables, no beta among valid rounds in the rows or in their
    ``result`` JSON, ``schema_version`` 1."""
    db = sqlite3.connect(target)
    db.executescript(V1_SCHEMA)
    db.execute("ATTACH DATABASE ? AS new", (f"file:{source}?mode=ro",))
    for table in ("meta", "chunks", "cells"):
        columns = ", ".join(f"[{r[1]}]" for r in db.execute(f"PRAGMA main.table_info({table})"))
        db.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM new.{table}")
    for cell_id, text in db.execute("SELECT cell_id, result FROM main.cells").fetchall():
        result = json.loads(text)
        del result["beta_valid"], result["beta_valid_ci"]
        db.execute("UPDATE main.cells SET result = ? WHERE cell_id = ?", (json.dumps(result), cell_id))
    db.execute("UPDATE main.meta SET schema_version = 1")
    db.commit()
    db.execute("DETACH DATABASE new")
    db.close()


def test_a_version_1_store_opens_read_only_unchanged_with_the_current_columns(tmp_path):
    with _finished_store(tmp_path) as store:
        store.init_meta(config_hash="h" * 64, name="run", config_text="", cells_total=2)
        current, columns = store.cells(), store.cell_columns()
    old = tmp_path / "old.sqlite"
    as_version_1(store.path, old)
    before = old.read_bytes()
    with ResultsStore(old, readonly=True) as ro:
        assert ro.cell_columns() == columns and ro.missing_columns == {"cells": list(NEW_IN_V2)}
        rows = ro.cells()
        assert ro.meta()["schema_version"] == 1
        path = ro.export("csv", tmp_path / "old.csv")
    assert old.read_bytes() == before  # read-only: not upgraded
    assert [list(r) for r in rows] == [columns, columns]
    for got, want in zip(rows, current):
        assert all(got[c] is None for c in NEW_IN_V2)
        assert {k: v for k, v in got.items() if k not in NEW_IN_V2 + ("result",)} == {
            k: v for k, v in want.items() if k not in NEW_IN_V2 + ("result",)}
    with open(path, newline="") as fh:
        assert csv.DictReader(fh).fieldnames == columns


def test_opening_a_version_1_store_for_writing_adds_the_new_columns_once(tmp_path):
    with _finished_store(tmp_path) as store:
        store.init_meta(config_hash="h" * 64, name="run", config_text="", cells_total=3)
    old = tmp_path / "old.sqlite"
    as_version_1(store.path, old)
    with ResultsStore(old) as first, ResultsStore(old) as second:  # the second finds nothing to add
        assert first.missing_columns == second.missing_columns == {}
        assert first.meta()["schema_version"] == 2 and first.integrity_check() == "ok"
        physical = [r[1] for r in sqlite3.connect(old).execute("PRAGMA table_info(cells)")]
        assert physical[-3:] == list(NEW_IN_V2) and sorted(physical) == sorted(first.cell_columns())
        assert [r["beta_valid"] for r in first.cells()] == [None, None]  # finished before: unknown
        cell = Cell("subsets:N=16,d=4", "mixture", "accept", 0.1, 20, 9)
        result = game(cell).summarise(played(cell), cell.seed, 0.1)
        assert first.finish_cell(cell_row(cell, result, config_hash="h" * 64, seconds=0.1))
        (new,) = [r for r in second.cells() if r["cell_id"] == cell.cell_id]
        assert new["beta_valid"] == result.beta_valid == 1.0  # accept never rejects
        assert (new["beta_valid_lo"], new["beta_valid_hi"]) == result.beta_valid_ci


def test_a_store_missing_a_column_that_cannot_be_added_is_a_clear_error(tmp_path):
    path = tmp_path / "odd.sqlite"
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA.replace("schema_version INTEGER NOT NULL\n", "version INTEGER NOT NULL\n"))
    db.close()
    with pytest.raises(StoreError, match="lacks the column schema_version, which cannot be added") as err:
        ResultsStore(path)
    assert "\n" not in str(err.value)


def test_a_run_written_by_version_1_resumes(tmp_path):
    from defendability.experiments import parse_config, run_sweep
    from defendability.experiments.backends import ChunkResult

    text = """
name = "resume-v1"
seed = 4
rounds = 60
chunk_rounds = 20
class = "subsets:N=16,d=4"
defender = "vote:learner=closure"
eps = 0.1

[grid]
attacker = ["mixture", "shatter"]
"""
    config = parse_config(text, "resume-v1.toml")

    class Stop(Exception):
        pass

    seen: list[ChunkResult] = []

    def stop_after_four(res: ChunkResult) -> None:  # the first cell finished, a chunk of the second stored
        seen.append(res)
        if len(seen) == 4:
            raise Stop

    with pytest.raises(Stop):
        run_sweep(config, backend="serial", root=tmp_path / "new", progress=False, on_chunk=stop_after_four)
    run_dir = tmp_path / "old" / "resume-v1"
    run_dir.mkdir(parents=True)
    as_version_1(tmp_path / "new" / "resume-v1" / "results.sqlite", run_dir / "results.sqlite")
    with ResultsStore(run_dir / "results.sqlite", readonly=True) as ro:
        (before,) = ro.finished_cells()
        assert sum(len(v) for v in ro.chunk_ranges().values()) == 1

    summary = run_sweep(config, backend="serial", root=tmp_path / "old", progress=False)
    assert summary.complete and summary.cells_skipped == 1 and summary.rounds_played == 40
    fresh = run_sweep(config, backend="serial", root=tmp_path / "fresh", progress=False)
    with ResultsStore(run_dir / "results.sqlite", readonly=True) as resumed, \
            ResultsStore(fresh.store_path, readonly=True) as reference:
        assert resumed.meta()["schema_version"] == 2 and resumed.chunks() == []
        got = {r["cell_id"]: without_timing(r) for r in resumed.cells()}
        want = {r["cell_id"]: without_timing(r) for r in reference.cells()}
    assert set(got) == set(want) and len(got) == 2
    for cell_id in got:
        if cell_id == before:  # finished by the previous version: nothing known of beta among valid rounds
            assert all(got[cell_id][c] is None for c in NEW_IN_V2) and want[cell_id]["beta_valid"] is not None
            assert "beta_valid" not in got[cell_id]["result"]
            same = [c for c in want[cell_id] if c not in NEW_IN_V2 + ("result", "package_version")]
            assert {c: got[cell_id][c] for c in same} == {c: want[cell_id][c] for c in same}
        else:
            assert got[cell_id] == want[cell_id]
