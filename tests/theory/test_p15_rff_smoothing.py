"""P15: the RFF/CLWE backdoor against smoothing (THEORY.md §6.2, §6.3): at the largest
noise scale that costs at most 0.03 accuracy, the activated input still flips the
smoothed backdoored model (flip rate >= 0.9): the trigger is far larger than any sigma
the task tolerates, so smoothing fails here.

Negative control, through the same check: the clean model f under the same shifts.
The shift is a large move along the secret direction, but f has no reason to answer it
(its weights do not sit in the pancakes): at the same sigma its smoothed flip rate is
about 0.1 here, far below 0.9. The flip is the backdoor's doing, not a property of large
perturbations."""

from __future__ import annotations

import numpy as np
import pytest
from theory_ci import LEVEL

from defendability import play, stats
from defendability.attackers.rff_clwe import RFFCLWE
from defendability.defenders.smoothing import smoothed_predict
from defendability.registry import build

GAUSS = "classifiers:data=gaussian,d=32"
SIGMAS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0)
# 101 copies: the majority estimates h_sigma itself closely enough that Monte Carlo noise
# near the boundary does not count as a failed flip
COPIES, DRAWS = 101, 3000


@pytest.fixture(scope="module")
def smoothed() -> dict:
    """The planted RFF model, the largest sigma of the grid that costs at most 0.03
    accuracy, and i.i.d. draws x ~ D with their activations."""
    cls = build("classes", GAUSS)
    attacker, rng = RFFCLWE(), np.random.default_rng(1515)
    dist, f = attacker.setup(cls, 0.1, rng)
    f_star = attacker.plant(cls, dist, f, 0.1, rng)
    X, y = cls.dataset.X_test, cls.dataset.y_test
    base_accuracy = float(np.mean(f_star(X) == y))
    kept = [s for s in SIGMAS
            if base_accuracy - float(np.mean(smoothed_predict(f_star, X, s, COPIES, rng) == y)) <= 0.03]
    x = dist.sample(rng, DRAWS)
    x_act = np.stack([attacker.activate(cls, f_star, row, rng) for row in x])
    return {"f": f, "f_star": f_star, "kept": kept, "x": x, "x_act": x_act, "rng": rng}


def flip_violations(g, x: np.ndarray, x_act: np.ndarray, sigma: float, rng: np.random.Generator) -> list[str]:
    """P15's claim for the model g, as the part violated: ``flip rate`` when the smoothed
    g flips (its answer at the activated input differs from its answer at x) on fewer
    than 90% of the draws (99.9% Wilson interval)."""
    flips = int(np.count_nonzero(smoothed_predict(g, x_act, sigma, COPIES, rng)
                                 != smoothed_predict(g, x, sigma, COPIES, rng)))
    return ["flip rate"] if stats.wilson(flips, len(x), LEVEL)[0] < 0.9 else []


def test_smoothing_that_keeps_accuracy_leaves_the_backdoor_working(smoothed: dict) -> None:
    kept = smoothed["kept"]
    assert kept and max(kept) < max(SIGMAS), kept  # the grid reaches a sigma that does cost accuracy
    sigma = max(kept)
    assert sigma >= 1.0, kept
    # the flip rate of the smoothed backdoored model, over i.i.d. draws x ~ D
    x, x_act = smoothed["x"], smoothed["x_act"]
    assert flip_violations(smoothed["f_star"], x, x_act, sigma, smoothed["rng"]) == []
    # the trigger is about a hundred times the inputs' norm (asserted: over 50x): far beyond sigma
    assert np.min(np.linalg.norm(x_act - x, axis=1)) > 50 * np.mean(np.linalg.norm(x, axis=1))


def test_control_the_clean_model_does_not_flip(smoothed: dict) -> None:
    """The same check on f, the model trained without the backdoor, at the same sigma and
    on the first 1,000 draws: it flips on about 10% of them."""
    sigma = max(smoothed["kept"])
    x, x_act = smoothed["x"][:1000], smoothed["x_act"][:1000]
    assert flip_violations(smoothed["f"], x, x_act, sigma, np.random.default_rng(1517)) == ["flip rate"]


def test_the_game_rounds_are_valid() -> None:
    # f and f* trained with different randomness differ on a few percent of natural inputs
    # (the spread of two clean models): eps = 0.1 admits them (no round is too far); an
    # eps below it does not. About a quarter of the activations do not flip (0.71-0.77 of
    # rounds valid, measured on 150 rounds), and rounds share a small pool of trained
    # models, so the count is checked loosely: at least 40% of 40 rounds.
    r = play(GAUSS, "rff-clwe", "accept", 0.1, rounds=40, seed=1516, mode="perturbation")
    assert r.valid_rounds >= 16 and set(r.invalid_reasons) <= {"no_flip"}, r.invalid_reasons
    tight = play(GAUSS, "rff-clwe", "accept", 0.001, rounds=5, seed=1516, mode="perturbation")
    assert tight.valid_rounds == 0 and set(tight.invalid_reasons) <= {"too_far", "no_flip"}
