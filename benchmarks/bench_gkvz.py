"""Benchmark: cost per query of GKVZ's signature-backdoored model, and of the `smoothing` defender.

Setting (the GKVZ issue's): scikit-learn's digits upsampled x3 by pixel repetition
(24 x 24 = 576 pixels on the 8-bit grid, ``classifiers:data=digits,upsample=3``), the
bare model a logistic regression trained on it (``Classifiers.trained(0)``, a
:class:`TrainedClassifier`), the backdoored model that same regression with the
signature backdoor (:class:`SignedClassifier`, 1 bit per carrier) for each scheme
(``ed25519``, ``hmac``, ``checksum``): the member the `signature` attacker plays.

1. Cost per query, microseconds per input, of the backdoored model against the bare
   model it wraps, both timed in this run: at batch 1 (one call per input, over the
   first ``--inputs-1`` inputs) and at batch 1,000 (one call on 1,000 inputs). Two
   kinds of input: *natural* (the 1,797 images, test split first) and *activated* (the
   same images carrying a valid tag for target 1 - f(x), written by the key holder).
   The ratio backdoored / bare is the figure of merit.
2. Cost per decision of the `smoothing` defender (quantisation-step noise of one step,
   clipped to [0, 1], as in ``examples/static-vs-dynamic.toml``) at 31 and 101 copies
   on the same models: fit, then ``score_and_decide`` on one input, as the referee
   makes a decision; against one plain call of the model on one input.

Every figure: one warm-up pass, then ``--repeats`` timed passes; the *median* pass is
reported (the best pass too, under ``best_us``). Everything runs with one BLAS thread
(``threadpoolctl.threadpool_limits(1)``), as the sweep runner does. Before timing,
the backdoored model is checked to agree with the bare one on every natural input and
to answer the signed target on every activated one. Prints one JSON object.

    python benchmarks/bench_gkvz.py [--repeats 7] [--inputs-1 1000] [--decisions 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from defendability import __version__
from defendability.classes.classifiers import Classifiers, SignedClassifier
from defendability.crypto.signatures import (
    SCHEMES,
    SignatureBackdoor,
    Verifier,
    scalar_below_order,
)
from defendability.defenders.smoothing import Smoothing
from defendability.spaces import Sampler

BATCH = 1000
COPIES = (31, 101)
UPSAMPLE = 3
EPS = 0.01  # the smoothing detector does not use eps; fit only checks it lies in (0, 1)


def checked_fraction(verifier: Verifier, X: np.ndarray) -> float:
    """Fraction of the rows of ``X`` ``(size, d)`` that pass the verifier's cheap
    vectorised pre-filters (target in range, zero padding, and for Ed25519 a scalar
    below the group order), so that their tag is checked by the scheme itself: what
    sets the cost of a query on natural inputs."""
    layout = verifier.layout
    tags, targets, clean_padding = layout.read(layout.grid.codes(X))
    candidate = clean_padding & (targets < layout.classes)
    if verifier.scheme == "ed25519":
        candidate &= scalar_below_order(tags)
    return float(candidate.mean())


def timed_us(pass_fn: Callable[[], None], per_pass: int, repeats: int) -> dict:
    """Median and best microseconds per unit over ``repeats`` timed passes (after one
    warm-up pass); a pass does ``per_pass`` units."""
    pass_fn()  # warm-up: imports, caches (the carriers, OpenSSL's key objects)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        pass_fn()
        times.append(time.perf_counter() - t0)
    return {"us": 1e6 * statistics.median(times) / per_pass, "best_us": 1e6 * min(times) / per_pass}


def query_costs(model: Callable[[np.ndarray], np.ndarray], X: np.ndarray, inputs_1: int, repeats: int) -> dict:
    """Microseconds per input of ``model`` at batch 1 (first ``inputs_1`` rows, one call
    each) and at batch ``len(X)`` (one call)."""
    rows = [X[i:i + 1] for i in range(inputs_1)]

    def one_at_a_time() -> None:
        for row in rows:
            model(row)

    return {"batch_1": timed_us(one_at_a_time, inputs_1, repeats),
            f"batch_{len(X)}": timed_us(lambda: model(X), len(X), repeats)}


def with_ratios(backdoored: dict, bare: dict) -> dict:
    """The backdoored figures with ``ratio`` = backdoored / bare (median passes)."""
    return {batch: {**fig, "ratio": fig["us"] / bare[batch]["us"]} for batch, fig in backdoored.items()}


def smoothing_costs(cls: Classifiers, model: Callable[[np.ndarray], np.ndarray], X: np.ndarray, copies: int,
                    repeats: int) -> dict:
    """Microseconds per decision of `smoothing` (fit + score_and_decide on one input, as
    the referee does it) over the rows of ``X``, and how many it rejected."""
    defender = Smoothing(noise="quantise", step=cls.dataset.step, low=0.0, high=1.0, copies=copies)
    dist = cls.default_distribution()
    rng = np.random.default_rng(7)
    rejected = []

    def decisions() -> None:
        rejected.clear()
        for x in X:
            detector = defender.fit(cls, model, Sampler(dist, rng), EPS, rng)
            rejected.append(bool(detector.score_and_decide(x[None])[1][0]))

    fig = timed_us(decisions, len(X), repeats)
    return {**fig, "reject_rate": sum(rejected) / len(rejected)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--inputs-1", type=int, default=1000, help="inputs timed one call each (batch 1)")
    ap.add_argument("--decisions", type=int, default=200, help="smoothing decisions timed per pass")
    args = ap.parse_args()

    cls = Classifiers(data="digits", upsample=UPSAMPLE)
    data = cls.dataset
    natural = np.concatenate([data.X_test, data.X_train])[:BATCH]
    bare = cls.trained(0)
    report: dict = {
        "benchmark": "bench_gkvz",
        "version": __version__,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "processor": platform.machine()},
        "setting": {"class": f"classifiers:data=digits,upsample={UPSAMPLE}", "d": cls.d, "batch": BATCH,
                    "inputs_batch_1": args.inputs_1, "smoothing_decisions": args.decisions,
                    "repeats": args.repeats, "statistic": "median of the timed passes (best_us: the best pass)",
                    "blas_threads": 1,
                    "smoothing": "noise=quantise, step=1/255, steps=1, low=0, high=1"},
    }
    with threadpool_limits(1):
        report["schemes"] = {}
        for i, scheme in enumerate(SCHEMES):
            backdoor = SignatureBackdoor.generate(cls.d, 2, np.random.default_rng(100 + i), scheme=scheme,
                                                  grid=cls.grid())
            signed = SignedClassifier(bare, backdoor.verifier)
            target = (1 - bare(natural)).astype(np.int64)
            activated = backdoor.activate(natural, target)
            # the construction, checked before it is timed: no change on natural inputs,
            # the signed target on every activated one
            assert np.array_equal(signed(natural), bare(natural)), scheme
            assert np.array_equal(signed(activated), target), scheme
            entry: dict = {"carriers": backdoor.layout.coordinates,
                           "tags_checked_fraction": {"natural": checked_fraction(backdoor.verifier, natural),
                                                     "activated": checked_fraction(backdoor.verifier, activated)}}
            for kind, X in (("natural", natural), ("activated", activated)):
                # the bare model on the very same inputs, timed next to the backdoored one
                bare_fig = query_costs(bare, X, args.inputs_1, args.repeats)
                entry[kind] = {"bare": bare_fig,
                               "backdoored": with_ratios(query_costs(signed, X, args.inputs_1, args.repeats),
                                                         bare_fig)}
            smoothing: dict = {}
            for kind, X in (("natural", natural), ("activated", activated)):
                plain = entry[kind]["backdoored"]["batch_1"]["us"]
                # the noisy copies' carrier bits are partly random: how many reach the tag check
                noise = Smoothing(noise="quantise", step=data.step, low=0.0, high=1.0).noise
                copies = noise.copies(X[:args.decisions], COPIES[0], np.random.default_rng(8)).reshape(-1, cls.d)
                smoothing[kind] = {"plain_call_us": plain,
                                   "copies_tags_checked_fraction": checked_fraction(backdoor.verifier, copies)}
                for copies in COPIES:
                    fig = smoothing_costs(cls, signed, X[:args.decisions], copies, args.repeats)
                    smoothing[kind][f"copies_{copies}"] = {**fig, "ratio_to_plain_call": fig["us"] / plain}
            entry["smoothing"] = smoothing
            report["schemes"][scheme] = entry
        # the defender on the bare model too: what smoothing costs without any verifier
        plain = query_costs(bare, natural, args.inputs_1, args.repeats)["batch_1"]["us"]
        report["bare_smoothing"] = {"natural": {"plain_call_us": plain}}
        for copies in COPIES:
            fig = smoothing_costs(cls, bare, natural[:args.decisions], copies, args.repeats)
            report["bare_smoothing"]["natural"][f"copies_{copies}"] = {**fig, "ratio_to_plain_call": fig["us"] / plain}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
