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
