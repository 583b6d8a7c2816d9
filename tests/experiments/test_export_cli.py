"""`defendability export`: the cells table round-trips through CSV exactly."""

from __future__ import annotations

import csv
import subprocess
import sys

from defendability.experiments import parse_config
from defendability.experiments.runner import run_sweep
from defendability.experiments.store import STORE_FILE, ResultsStore

CONFIG = """
name = "export-check"
seed = 2
rounds = 60
class = "subsets:N=16,d={d}"
attacker = "mixture"
defender = "vote:learner=closure"
[grid]
d = [3, 6]
eps_times_d = [0.2, 0.6]
"""


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "defendability.cli", *args], capture_output=True, text=True)


def test_export_csv_round_trips_the_cells(tmp_path):
    run_sweep(parse_config(CONFIG, "export.toml"), backend="serial", workers=1, new=False, root=tmp_path,
              progress=False)
    run_dir = tmp_path / "export-check"
    out = _cli("export", str(run_dir), "--output", str(tmp_path / "cells.csv"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tmp_path / "cells.csv")
    with open(tmp_path / "cells.csv", newline="") as fh:
        rows = {row["cell_id"]: row for row in csv.DictReader(fh)}
    with ResultsStore(run_dir / STORE_FILE, readonly=True) as store:
        cells = store.cells()
    assert len(rows) == len(cells) == 4
    for cell in cells:
        assert float(rows[cell["cell_id"]]["alpha"]) == cell["alpha"]
        assert float(rows[cell["cell_id"]]["error_sum_hi"]) == cell["error_sum_hi"]


def test_export_errors_are_one_line(tmp_path):
    out = _cli("export", str(tmp_path / "missing"))
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "no results store" in out.stderr
