"""Benchmark: networks. Prints one JSON object.

(a) Training k = 16 students at once (stacked weights, ``fit_stacked``) against a Python
    loop over 16 separate ``torch.nn`` models trained one after the other on the same
    data with the same optimiser settings, in the same run: the ratio of wall times
    (target >= 3x).
(b) Per defender, on the same class, attacker and rounds (``finetune-flip`` at eps =
    0.02 on digits with shifts and noise): AUROC; evaluations of g per decision as the
    referee counts them (fit included: vote labels its students' samples, STRIP and
    Mahalanobis calibrate); forward passes of g and of the students per scored input at
    run time; seconds per fit and per decision.

    python benchmarks/bench_networks.py [--rounds 20] [--students 16] [--skip-defenders]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time

import numpy as np


def bench_training(students: int, examples: int, epochs: int) -> dict:
    import torch

    from defendability.networks.architecture import Architecture
    from defendability.networks.tasks import digits_task
    from defendability.networks.training import TrainingSettings, fit_stacked

    task = digits_task()
    arch = Architecture("mlp", (1, 8, 8), 10, (32,))
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(task.X_train), size=(students, examples))
    X, y = task.X_train[rows], task.y_train[rows]
    settings = TrainingSettings(epochs=epochs)

    def stacked_run(epochs: int) -> None:
        fit_stacked(arch, X, y, dataclasses.replace(settings, epochs=epochs), seeds=list(range(students)))

    def loop_run(epochs: int) -> None:
        # the reference: separate nn.Module models, one at a time, the usual training loop
        for j in range(students):
            torch.manual_seed(j)
            model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                        torch.nn.Linear(32, 10))
            opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.0)
            Xj, yj = torch.tensor(X[j]), torch.tensor(y[j].astype(np.int64))
            for _ in range(epochs):
                order = torch.randperm(examples)
                for s in range(0, examples, settings.batch):
                    idx = order[s:s + settings.batch]
                    loss = torch.nn.functional.cross_entropy(model(Xj[idx]), yj[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()

    stacked_run(1)  # warm-up: torch's first calls load kernels; neither side should pay for it
    loop_run(1)
    t0 = time.perf_counter()
    stacked_run(epochs)
    stacked = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop_run(epochs)
    loop = time.perf_counter() - t0
    return {"students": students, "examples": examples, "epochs": epochs, "stacked_seconds": stacked,
            "loop_seconds": loop, "speedup": loop / stacked, "target_speedup": 3}


def passes(defender, cls) -> dict:
    """Forward passes per scored input at run time, of g and of the students, from the
    defender's own sizes (the fit's passes are in the game's counted cost)."""
    if defender.name == "vote":
        learner = defender.learner_for(cls)
        voters, k = defender.voter_count(cls, 0.02), defender.batch_size(cls, 0.02)
        return {"g_passes_per_input": 1, "student_passes_per_input": voters,
                "student_training_examples_per_fit": voters * k * learner.epochs}
    if defender.name == "strip":
        return {"g_passes_per_input": defender.copies, "student_passes_per_input": 0}
    return {"g_passes_per_input": 1, "student_passes_per_input": 0}


def bench_defenders(rounds: int) -> list[dict]:
    from defendability import Game

    cls, attacker, eps = "networks:augment=shift,hidden=64", "finetune-flip:samples=512", 0.02
    out = []
    for defender in ("vote", "strip", "mahalanobis", "mahalanobis:mode=tied"):
        game = Game(cls, attacker, defender, eps)
        t0 = time.perf_counter()
        r = game.play(rounds=rounds, seed=16)
        out.append({"defender": r.defender, "auroc": r.auroc, "valid_rounds": r.valid_rounds, "rounds": r.rounds,
                    "alpha": r.alpha, "beta_valid": r.beta_valid,
                    "g_evaluations_per_decision": r.cost["evaluations_per_decision"],
                    "samples_per_decision": r.cost["samples_per_decision"],
                    **passes(game.defender, game.cls),
                    "fit_seconds_per_decision": r.cost["fit_seconds"] / r.cost["decisions"],
                    "seconds_per_decision": r.cost["seconds_per_1000_decisions"] / 1000.0,
                    "wall_seconds": time.perf_counter() - t0})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--students", type=int, default=16)
    ap.add_argument("--skip-defenders", action="store_true")
    args = ap.parse_args()
    import torch

    out = {"benchmark": "networks", "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                                               "python": platform.python_version(), "torch": torch.__version__},
           "training": bench_training(args.students, 3000, 10)}
    if not args.skip_defenders:
        out["defenders"] = bench_defenders(args.rounds)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
