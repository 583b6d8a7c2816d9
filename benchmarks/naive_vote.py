"""A naive reference for the benchmark: the vote defender as a user would first write it.

One voter at a time, in a plain Python loop: draw the voter's batch, label it, build
the closure (the positive examples), predict at the query. The game around it is the
same as the library's (subsets of [N] of size <= d, the `mixture` attacker, both sides
of every round), so the two implementations do the same work and are compared as a
ratio of rounds per second on the same machine in the same run.
"""

from __future__ import annotations

import math

import numpy as np


def vote_rejects(members: set[int], points: np.ndarray, probs: np.ndarray, x: int, eps: float,
                 voters: int, rng: np.random.Generator) -> bool:
    """REJECT iff more than half of the voters' closures disagree with g at x."""
    k = math.floor(1 / (4 * eps))
    gx = int(x in members)
    disagree = 0
    for _ in range(voters):
        batch = rng.choice(points, size=k, p=probs)
        positives = {int(p) for p in batch if int(p) in members}
        prediction = int(x in positives)
        disagree += prediction != gx
    return disagree > voters / 2


def play(d: int, eps: float, voters: int, rounds: int, seed: int) -> tuple[float, float]:
    """The mixture attacker against the naive vote; returns (alpha, beta)."""
    rng = np.random.default_rng(seed)
    m = min(d - 1, math.floor(1 / eps))
    points = np.arange(d)
    probs = np.r_[np.full(m, eps), np.zeros(d - 1 - m), 1 - m * eps]
    false_alarms = misses = 0
    for _ in range(rounds):
        f = {i for i in range(m) if rng.random() < 0.5}
        x_star = int(rng.choice(points, p=probs))
        x = int(rng.choice(points, p=probs))
        false_alarms += vote_rejects(f, points, probs, x, eps, voters, rng)
        if x_star != d - 1:
            f_star = f ^ {x_star}
            misses += not vote_rejects(f_star, points, probs, x_star, eps, voters, rng)
    return false_alarms / rounds, misses / rounds
