"""Every example sweep runs end to end at reduced rounds and produces its report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from defendability.experiments import load_config, parse_config, run_sweep, write_report
from defendability.experiments.store import STORE_FILE, ResultsStore

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))

#: Rounds each example plays here: 12, or fewer where a round trains networks or builds
#: and compares circuits (obfuscation: 82 s at 12 rounds, 21 s at 3).
ROUNDS = {"networks": 1, "deceptive-alignment": 2, "obfuscation": 3, "variants": 4}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_and_reports(path, tmp_path):
    full = load_config(path)
    rounds = ROUNDS.get(path.stem, 12)
    text = re.sub(r"(?m)^rounds\s*=\s*\d+", f"rounds = {rounds}", full.source_text, count=1)
    config = parse_config(text, path.name)
    assert config.rounds == rounds and len(config.cells()) == len(full.cells())
    summary = run_sweep(config, backend="serial", workers=1, root=tmp_path, progress=False)
    assert summary.complete
    run_dir = tmp_path / config.name
    paths = write_report(run_dir)
    assert paths.html.is_file() and paths.markdown.is_file() and paths.figures
    with ResultsStore(run_dir / STORE_FILE, readonly=True) as store:
        cells = store.cells()
    assert len(cells) == len(full.cells())
    assert all(c["rounds"] == rounds for c in cells)
