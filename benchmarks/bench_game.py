"""Benchmark: rounds per second of the `vote` defender against a naive reference.

Setting (the foundation issue's): subsets of [64] of size <= 10 (d = 10), the `mixture`
attacker, eps = 0.002, `vote` with the closure learner and 201 voters. Both the library
and the naive loop (benchmarks/naive_vote.py) play the same game on the same machine
in the same run; the figure of merit is their ratio. Also times the `make demo` table
(examples/demo.py) end to end. Prints one JSON object.

    python benchmarks/bench_game.py [--rounds 400] [--naive-rounds 40] [--no-demo]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import naive_vote  # noqa: E402

from defendability import Game, __version__  # noqa: E402

D, EPS, VOTERS = 10, 0.002, 201


def bench_library(rounds: int) -> dict:
    game = Game(f"subsets:N=64,d={D}", "mixture", f"vote:learner=closure,voters={VOTERS}", EPS)
    game.play(rounds=20, seed=99)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    r = game.play(rounds=rounds, seed=1)
    dt = time.perf_counter() - t0
    return {"rounds": rounds, "seconds": dt, "rounds_per_second": rounds / dt, "alpha": r.alpha, "beta": r.beta}


def bench_naive(rounds: int) -> dict:
    t0 = time.perf_counter()
    alpha, beta = naive_vote.play(D, EPS, VOTERS, rounds, seed=1)
    dt = time.perf_counter() - t0
    return {"rounds": rounds, "seconds": dt, "rounds_per_second": rounds / dt, "alpha": alpha, "beta": beta}


def bench_demo() -> dict:
    root = Path(__file__).resolve().parent.parent
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(root / "examples" / "demo.py")], check=True, cwd=root,
                   stdout=subprocess.DEVNULL)
    return {"seconds": time.perf_counter() - t0, "target_seconds": 60}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=400)
    ap.add_argument("--naive-rounds", type=int, default=40)
    ap.add_argument("--no-demo", action="store_true")
    args = ap.parse_args()
    lib, naive = bench_library(args.rounds), bench_naive(args.naive_rounds)
    out = {
        "benchmark": "vote closure d=10 eps=0.002 voters=201 vs naive loop",
        "version": __version__,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "library": lib,
        "naive": naive,
        "speedup": lib["rounds_per_second"] / naive["rounds_per_second"],
        "target_speedup": 30,
    }
    if not args.no_demo:
        out["demo"] = bench_demo()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
