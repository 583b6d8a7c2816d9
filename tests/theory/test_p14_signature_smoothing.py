"""P14: the signature backdoor against evaluation-time smoothing at one quantisation step
(THEORY.md §6.1, §6.3): smoothing kills the backdoor (activation <= 1%) while the smoothed
model still agrees with f on >= 99% of natural inputs; in the perturbation game the
smoothing defender catches it, while without smoothing every activation succeeds.

Negative controls, through the same checks: noise of a tenth of a quantisation step
(the model reads the quantised input, so the signature bits survive: every activation
still succeeds), noise of 128 steps (half the pixel range: the smoothed model no longer
agrees with f on 99% of inputs), and, in the game, `accept` (every backdoor missed)."""

from __future__ import annotations

import numpy as np
import pytest
from theory_ci import LEVEL, alpha_ci, beta_ci

from defendability import play, stats
from defendability.attackers.signature import Signature
from defendability.defenders.smoothing import smoothed_predict
from defendability.game import GameResult
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


def test_unsmoothed_backdoor_activates_every_time(planted) -> None:
    _, f, f_star, x, x_act = planted
    assert np.all(f_star(x_act) != f(x_act)) and np.all(f_star(x_act) == 1 - f(x))
    assert np.array_equal(f_star(x), f(x))


def activation_violations(f_star, x_act: np.ndarray, noise: dict) -> list[str]:
    """P14's first part, as the part violated: ``activation`` when the smoothed f* still
    returns the attacker's target at the activated input in more than 1% of the i.i.d.
    draws (99.9% Wilson interval)."""
    smoothed = smoothed_predict(f_star, x_act, None, COPIES, np.random.default_rng(1415), **noise)
    activated = int(np.count_nonzero(smoothed == f_star(x_act)))
    return ["activation"] if stats.wilson(activated, len(x_act), LEVEL)[1] > 0.01 else []


def agreement_violations(f, f_star, x: np.ndarray, noise: dict) -> list[str]:
    """P14's second part, as the part violated: ``agreement`` when the smoothed f* agrees
    with f on fewer than 99% of natural inputs (99.9% Wilson interval; 2,000 draws are
    needed for perfect agreement to certify 99%)."""
    smoothed = smoothed_predict(f_star, x, None, COPIES, np.random.default_rng(1416), **noise)
    agree = int(np.count_nonzero(smoothed == f(x)))
    return ["agreement"] if stats.wilson(agree, len(x), LEVEL)[0] < 0.99 else []


def test_smoothing_kills_the_backdoor_and_keeps_the_model(planted) -> None:
    _, f, f_star, x, x_act = planted
    assert activation_violations(f_star, x_act, NOISE) == []
    assert agreement_violations(f, f_star, x, NOISE) == []


def test_control_a_tenth_of_a_step_leaves_the_backdoor_working(planted) -> None:
    """The model reads the quantised input, so noise of a tenth of a step is rounded away
    and the signature bits survive: every activation still succeeds (first 500 draws)."""
    _, _, f_star, _, x_act = planted
    assert activation_violations(f_star, x_act[:500], {**NOISE, "step": STEP / 10}) == ["activation"]


def test_control_128_steps_lose_the_model(planted) -> None:
    """Noise of 128 steps (half the pixel range) swamps the digits: the smoothed model
    agrees with f on about 92% of natural inputs."""
    _, f, f_star, x, _ = planted
    assert agreement_violations(f, f_star, x, {**NOISE, "steps": 128}) == ["agreement"]


def game_violations(r: GameResult, rounds: int) -> list[str]:
    """The game version of P14, as the parts violated: every round valid (every
    activation flipped f* against f), beta and alpha at most 5% (99.9% intervals)."""
    out = []
    if r.valid_rounds != rounds:
        out.append(f"{r.valid_rounds} valid rounds")
    if beta_ci(r)[1] > 0.05:
        out.append(f"beta {r.beta}")
    if alpha_ci(r)[1] > 0.05:
        out.append(f"alpha {r.alpha}")
    return out


def test_smoothing_defender_catches_it_in_the_game() -> None:
    defender = "smoothing:noise=quantise,step=1/255,low=0,high=1"
    r = play(DIGITS, "signature", defender, 0.01, rounds=300, seed=1416, mode="perturbation")
    assert game_violations(r, 300) == []


def test_control_accept_misses_every_activation() -> None:
    # 100 rounds (a signature round is slow): beta = 1 fails the check whatever the
    # rounds; alpha = 0 is also reported, as 100 rounds cannot certify alpha <= 5% at 99.9%
    plain = play(DIGITS, "signature", "accept", 0.01, rounds=100, seed=1416, mode="perturbation")
    assert game_violations(plain, 100) == ["beta 1.0", "alpha 0.0"]
