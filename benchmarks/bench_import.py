"""Benchmark: how long ``import defendability`` takes in a fresh interpreter.

Each measurement is a new Python process that times its own import statement with
``time.perf_counter`` (interpreter start-up excluded), after one unmeasured run that
writes the byte-code caches. Three statements, in the same run: ``import
defendability`` (the target: 0.3 s), ``from defendability import Game`` (the referee,
what a script needs before its first game; numpy included) and ``import numpy`` alone,
the floor any numpy library pays, so that the ratios can be compared across machines.
Prints one JSON object: best and median seconds of each, the ratios of the medians to
numpy's, whether ``import defendability`` meets the target, and which heavy packages
each defendability statement leaves imported.

    python benchmarks/bench_import.py [--repeat 15] [--target 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

#: Packages worth knowing about when they are imported eagerly (each costs 0.05 s or more).
HEAVY = ("numpy", "scipy", "scipy.special", "scipy.stats", "sklearn", "matplotlib", "torch", "ray", "pydantic",
         "cryptography", "typer", "rich")

TARGET_SECONDS = 0.3

#: What is timed: the target, the referee, and numpy alone as the baseline.
LIBRARY = "import defendability"
REFEREE = "from defendability import Game"
BASELINE = "import numpy"

_TIMER = "import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"


def time_import(statement: str) -> float:
    """Seconds ``statement`` takes in a fresh interpreter (its start-up excluded)."""
    out = subprocess.run([sys.executable, "-c", _TIMER.format(statement=statement)], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


def measure(statement: str, repeat: int) -> dict[str, float]:
    """Best and median of ``repeat`` fresh runs of ``statement``, after one warm-up."""
    time_import(statement)  # writes byte-code caches, fills the OS file cache
    times = [time_import(statement) for _ in range(repeat)]
    return {"best_seconds": min(times), "median_seconds": statistics.median(times)}


def heavy_imports(statement: str) -> list[str]:
    """The :data:`HEAVY` packages imported after ``statement`` in a fresh interpreter."""
    code = f"{statement}; import json, sys; print(json.dumps([p for p in {HEAVY!r} if p in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="fresh interpreters per statement (default 15)")
    ap.add_argument("--target", type=float, default=TARGET_SECONDS,
                    help="target median seconds of 'import defendability' (default 0.3)")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error(f"--repeat must be >= 1, got {args.repeat}")
    timings = {s: measure(s, args.repeat) for s in (LIBRARY, REFEREE, BASELINE)}
    floor = timings[BASELINE]["median_seconds"]
    from importlib.metadata import version

    report = {
        "benchmark": "import time of defendability in a fresh interpreter",
        "version": version("defendability"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "repeat": args.repeat,
        "seconds": timings,
        "ratio_to_numpy_median": {s: t["median_seconds"] / floor for s, t in timings.items() if s != BASELINE},
        "target_seconds": args.target,
        "meets_target": timings[LIBRARY]["median_seconds"] <= args.target,
        "heavy_packages_imported": {s: heavy_imports(s) for s in (LIBRARY, REFEREE)},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
