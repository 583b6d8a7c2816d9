"""Benchmark: wall time of a sweep with the `serial`, `local` and `ray` backends.

Runs a sweep config (default examples/theorem-4-1.toml) into fresh temporary run
directories, once per backend, and prints one JSON object with the wall times, the
ratio serial / local (target: at least 1.7x on 2 cores) and the ratio ray / local
(target: at most 1.3x; ray runs on a local instance it starts, included in its time,
and is skipped when Ray is not installed). Every run must store the same cells
(checked). ``--rounds`` overrides the config's rounds for a quick run.

    python benchmarks/bench_sweep.py [--config examples/theorem-4-1.toml] [--rounds 2000] [--workers 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import tempfile
from pathlib import Path

from defendability import __version__
from defendability.experiments import load_config
from defendability.experiments.runner import run_sweep
from defendability.experiments.store import STORE_FILE, ResultsStore, without_timing

ROOT = Path(__file__).resolve().parent.parent


def timed_run(config, backend: str, workers: int) -> tuple[float, list[dict]]:
    with tempfile.TemporaryDirectory() as tmp:
        summary = run_sweep(config, backend=backend, workers=workers, root=tmp, progress=False)
        with ResultsStore(Path(tmp) / config.name / STORE_FILE, readonly=True) as store:
            rows = sorted((without_timing(r) for r in store.cells()), key=lambda r: r["cell_id"])
    return summary.seconds, rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "examples" / "theorem-4-1.toml"))
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    config = load_config(args.config)
    if args.rounds is not None:
        text = config.source_text.replace(f"rounds = {config.rounds}", f"rounds = {args.rounds}", 1)
        from defendability.experiments import parse_config

        config = parse_config(text, Path(args.config).name)
    serial_s, serial_rows = timed_run(config, "serial", 1)
    local_s, local_rows = timed_run(config, "local", args.workers)
    report = {
        "benchmark": f"sweep {Path(args.config).name}: serial vs local vs ray",
        "version": __version__,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "cells": len(serial_rows),
        "rounds_per_cell": config.rounds,
        "workers": args.workers,
        "serial_seconds": serial_s,
        "local_seconds": local_s,
        "speedup_local_over_serial": serial_s / local_s,
        "target_speedup": 1.7,
        "identical_cells": serial_rows == local_rows,
    }
    if importlib.util.find_spec("ray") is not None:
        ray_s, ray_rows = timed_run(config, "ray", args.workers)
        report.update(ray_seconds=ray_s, slowdown_ray_over_local=ray_s / local_s, target_slowdown=1.3,
                      identical_cells=report["identical_cells"] and ray_rows == serial_rows)
    else:
        report["ray"] = "not installed (pip install 'defendability[ray]')"
    print(json.dumps(report, indent=2))

if __name__ == "__main__":
    main()
