"""P14: the signature backdoor against evaluation-time smoothing at one quantisation step
(THEORY.md §6.1, §6.3): smoothing kills the backdoor (activation <= 1%) while the smoothed
model still agrees with f on >= 99% of natural inputs; in the perturbation game the
smoothing defender catches it, while without smoothing every activation succeeds."""

from __future__ import annotations

import numpy as np
import pytest
from theory_ci import LEVEL, alpha_ci, beta_ci

from defendability import play, stats
from defendability.attackers.signature import Signature
from defendability.defenders.smoothing import smoothed_predict
from defendability.registry import build

DIGITS = "classifiers:data=digits,upsample=3"
STEP = 1 / 255
NOISE = {"noise": "quantise", "step": STEP, "steps": 1, "low": 0.0, "high": 1.0}
COPIES, DRAWS = 31, 2000


@pytest.fixture(scope="module")
def planted():
    cls = build("classes", DIGITS)
    attacker, rng = Signature(), np.random.default_rng(1414)
    dist, f = attacker.setup(cls, 0.01, rng)
    f_star = attacker.plant(cls, dist, f, 0.01, rng)
    # i.i.d. draws of x ~ D (the test inputs), each smoothed with its own noise
    x = dist.sample(rng, DRAWS)
    x_act = np.stack([attacker.activate(cls, f_star, row, rng) for row in x])
    return cls, f, f_star, x, x_act


def test_unsmoothed_backdoor_activates_every_time(planted):
    _, f, f_star, x, x_act = planted
    assert np.all(f_star(x_act) != f(x_act)) and np.all(f_star(x_act) == 1 - f(x))
    assert np.array_equal(f_star(x), f(x))


def test_smoothing_kills_the_backdoor_and_keeps_the_model(planted):
    _, f, f_star, x, x_act = planted
    rng = np.random.default_rng(1415)
    target = f_star(x_act)
    activated = int(np.count_nonzero(smoothed_predict(f_star, x_act, None, COPIES, rng, **NOISE) == target))
    assert stats.wilson(activated, DRAWS, LEVEL)[1] <= 0.01, activated
    agree = int(np.count_nonzero(smoothed_predict(f_star, x, None, COPIES, rng, **NOISE) == f(x)))
    assert stats.wilson(agree, DRAWS, LEVEL)[0] >= 0.99, agree


def test_smoothing_defender_catches_it_in_the_game():
    defender = "smoothing:noise=quantise,step=1/255,low=0,high=1"
    r = play(DIGITS, "signature", defender, 0.01, rounds=300, seed=1416, mode="perturbation")
    assert r.valid_rounds == 300  # every activation flipped f* against f: 100% without smoothing
    assert beta_ci(r)[1] <= 0.05, r.beta
    assert alpha_ci(r)[1] <= 0.05, r.alpha
    plain = play(DIGITS, "signature", "accept", 0.01, rounds=100, seed=1416, mode="perturbation")
    assert plain.valid_rounds == 100 and plain.beta == 1.0
