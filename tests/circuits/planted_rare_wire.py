"""A planted "rare wire" and the surprisal a white-box reader sees at the trigger.

The planted circuit: a random netlist's output XOR an AND-chain of ``bits`` literals
that is 1 only when the first ``bits`` inputs equal a fixed pattern. Its chain wire is
1 on a 2^-bits fraction of inputs, so at a trigger x* carrying the pattern it takes a
value a uniform sample almost never shows. The surprisal of a wire at x is
-log2 P(wire = its value at x), with P estimated on uniform samples with add-one
smoothing: (count + 1) / (samples + 2); a value never seen in N samples scores
log2(N + 2), the cap.

Run as a script to print the table of THEORY.md §5.3's measurement (largest surprisal
at x* before and after each stand-in):

    .venv/bin/python tests/circuits/planted_rare_wire.py
"""

from __future__ import annotations

import numpy as np

from defendability.circuits import Circuit, CircuitBuilder
from defendability.circuits.random import random_circuit

#: Uniform samples P is estimated on.
SAMPLES = 1 << 14


def planted_circuit(n: int, gates: int, bits: int, rng: np.random.Generator) -> tuple[Circuit, np.ndarray, int]:
    """(circuit, pattern ``(bits,)``, chain wire): a random ``gates``-gate netlist's output
    XOR [x[:bits] == pattern]."""
    base = random_circuit(n, gates, rng)
    bld = CircuitBuilder(n)
    for op, a, b, c in zip(base.ops.tolist(), base.a.tolist(), base.b.tolist(), base.c.tolist()):
        bld.gate(op, a, b, c)
    pattern = rng.integers(0, 2, bits).astype(np.uint8)
    literals = [i if pattern[i] else bld.not_(i) for i in range(bits)]
    chain = literals[0]
    for lit in literals[1:]:
        chain = bld.and_(chain, lit)
    return bld.build([bld.xor(int(base.outputs[0]), chain)]), pattern, chain


def trigger(n: int, pattern: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A point ``(1, n)`` carrying the pattern in its first bits, the rest uniform."""
    x = rng.integers(0, 2, (1, n), dtype=np.uint8)
    x[0, :len(pattern)] = pattern
    return x


def one_rates(obj, samples: np.ndarray) -> np.ndarray:
    """Add-one estimates of P(wire = 1), ``(n_wires,)``, for anything with ``wire_values``."""
    w = obj.wire_values(samples)
    return (w.sum(axis=0, dtype=np.int64) + 1) / (len(samples) + 2)


def surprisals(obj, samples: np.ndarray, x: np.ndarray) -> np.ndarray:
    """-log2 P(wire = value at x) for every wire at the one point ``x`` ``(1, n)``: ``(n_wires,)``."""
    p1 = one_rates(obj, samples)
    v = obj.wire_values(x)[0]
    return -np.log2(np.where(v == 1, p1, 1.0 - p1))


def cap(samples: int = SAMPLES) -> float:
    """The surprisal of a value never seen in ``samples`` samples."""
    return float(np.log2(samples + 2))


def _table(seeds: range = range(5)) -> None:
    from defendability.circuits.standins import apply_standin
    from defendability.circuits.threshold import compile_threshold

    n, gates, bits = 32, 256, 24
    print(f"n={n}, base {gates} gates, {bits}-bit chain, P on {SAMPLES} samples (cap {cap():.2f} bits)")
    print("seed  none  rerandomise  pad(4x)  mask(all)  mask(non-output)  threshold  mask+threshold")
    for seed in seeds:
        rng = np.random.default_rng(seed)
        c, pattern, _ = planted_circuit(n, gates, bits, rng)
        samples = rng.integers(0, 2, (SAMPLES, n), dtype=np.uint8)
        x = trigger(n, pattern, rng)
        masked = apply_standin("mask", c, rng)
        inner = np.ones(masked.n_wires, dtype=bool)
        inner[masked.outputs] = False
        row = [surprisals(c, samples, x).max(),
               surprisals(apply_standin("rerandomise", c, rng), samples, x).max(),
               surprisals(apply_standin("pad", c, rng, size=4 * c.n_gates), samples, x).max(),
               surprisals(masked, samples, x).max(),
               surprisals(masked, samples, x)[inner].max(),
               surprisals(compile_threshold(c), samples, x).max(),
               surprisals(compile_threshold(masked), samples, x).max()]
        print(f"{seed:4d}  " + "  ".join(f"{v:6.2f}" for v in row))


if __name__ == "__main__":
    _table()
