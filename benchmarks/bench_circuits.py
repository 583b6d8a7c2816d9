"""Benchmark: gate evaluations per second of the bit-sliced circuit evaluator.

Setting (the circuits issue's): a random 20,000-gate netlist on 64 inputs (ops uniform
over AND/XOR/OR/NOT/MUX, operands uniform over the earlier wires, one output), evaluated
on batches of 4,096 and 1,048,576 random inputs with ``Circuit.evaluate_packed``
(inputs already packed). Against it, in the same run, a straightforward evaluator: one
input at a time, a Python list of wire values, gates in order, on a few hundred inputs.
The figure of merit is gate evaluations per second (gates x inputs / seconds) and the
ratio between the two. A deep variant (operands among the 64 most recent wires, depth
in the thousands, so few gates share a depth) is timed the same way, since grouping
gates by depth is what makes the shallow one fast. The plan (grouping, row allocation)
is built once per circuit, before the timed runs; its time is reported separately.
Prints one JSON object.

    python benchmarks/bench_circuits.py [--gates 20000] [--repeats 3] [--naive-inputs 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from defendability import __version__
from defendability.circuits import Circuit, pack_bits
from defendability.circuits.random import random_circuit

N_INPUTS = 64
BATCHES = (4096, 1 << 20)


def naive_evaluate(circuit: Circuit, x: np.ndarray) -> np.ndarray:
    """Outputs ``(size, m)`` of each row of ``x``, one input at a time in pure Python."""
    ops, a, b, c = circuit.ops.tolist(), circuit.a.tolist(), circuit.b.tolist(), circuit.c.tolist()
    outputs = circuit.outputs.tolist()
    result = []
    for point in x.tolist():
        w = point + [0, 1]
        for g, op in enumerate(ops):
            if op == 0:
                w.append(w[a[g]] & w[b[g]])
            elif op == 1:
                w.append(w[a[g]] ^ w[b[g]])
            elif op == 2:
                w.append(w[a[g]] | w[b[g]])
            elif op == 3:
                w.append(1 - w[a[g]])
            else:
                w.append(w[b[g]] if w[a[g]] else w[c[g]])
        result.append([w[o] for o in outputs])
    return np.asarray(result, dtype=np.uint8)


def best_seconds(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_circuit(circuit: Circuit, repeats: int, naive_inputs: int, rng: np.random.Generator) -> dict:
    gates = circuit.n_gates
    t0 = time.perf_counter()
    plan = circuit._plan  # built once per circuit and cached
    plan_seconds = time.perf_counter() - t0
    out: dict = {"gates": gates, "depth": int(circuit.levels.max()), "plan_seconds": plan_seconds,
                 "scratch_rows": plan.n_rows, "wires": circuit.n_wires}
    x = rng.integers(0, 2, (naive_inputs, N_INPUTS), dtype=np.uint8)
    naive_s = best_seconds(lambda: naive_evaluate(circuit, x), 1)
    # the two evaluators agree on the naive inputs
    assert np.array_equal(naive_evaluate(circuit, x), circuit.evaluate(x))
    out["naive"] = {"inputs": naive_inputs, "seconds": naive_s, "gate_evals_per_second": gates * naive_inputs / naive_s}
    for batch in BATCHES:
        words = pack_bits(rng.integers(0, 2, (batch, N_INPUTS), dtype=np.uint8))
        seconds = best_seconds(lambda words=words: circuit.evaluate_packed(words), repeats)
        rate = gates * batch / seconds
        out[f"batch_{batch}"] = {"seconds": seconds, "gate_evals_per_second": rate,
                                 "ratio_to_naive": rate / out["naive"]["gate_evals_per_second"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gates", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--naive-inputs", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    report = {
        "benchmark": "bench_circuits",
        "version": __version__,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "processor": platform.machine()},
        "target_gate_evals_per_second": 1e9,
        "random": bench_circuit(random_circuit(N_INPUTS, args.gates, np.random.default_rng(1)),
                                args.repeats, args.naive_inputs, rng),
        "deep": bench_circuit(random_circuit(N_INPUTS, args.gates, np.random.default_rng(2), window=64),
                              args.repeats, args.naive_inputs, rng),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
