"""Benchmark: the per-round cost of isolated players (``isolate=True``) against the
same rounds in one process, in the same run.

Setting: ``subsets:N=16,d=4``, the ``shatter`` attacker at eps = 1/4 (every round has a
valid backdoor, so every round runs three player processes: the attacker's round and the
defender's two decisions), ``vote:learner=closure,voters=11``. Checks that the isolated
rounds equal the in-process ones. Prints one JSON object.

    python benchmarks/bench_isolation.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from defendability import Game, __version__

GAME = ("subsets:N=16,d=4", "shatter", "vote:learner=closure,voters=11", 1 / 4)


def timed(isolate: bool, rounds: int) -> tuple[float, list]:
    game = Game(*GAME, isolate=isolate)
    game.play_rounds(99, range(2))  # warm-up: imports, and the fork server when isolated
    t0 = time.perf_counter()
    played = game.play_rounds(1, range(rounds))
    return (time.perf_counter() - t0) / rounds, played


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    together, a = timed(False, args.rounds)
    apart, b = timed(True, args.rounds)
    print(json.dumps({
        "benchmark": "isolation",
        "version": __version__,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "game": list(map(str, GAME)),
        "rounds": args.rounds,
        "ms_per_round_in_process": 1000 * together,
        "ms_per_round_isolated": 1000 * apart,
        "overhead_ms_per_round": 1000 * (apart - together),
        "ratio": apart / together,
        "same_rounds": a == b,
    }, indent=2))
    sys.exit(0 if a == b else 1)


if __name__ == "__main__":
    main()
