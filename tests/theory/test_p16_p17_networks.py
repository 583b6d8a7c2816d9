"""P16 and P17 (THEORY.md §8, §9): run-time detection on networks.

P16: against finetune-flip (a referee-drawn natural trigger, distance <= 0.02), vote's
students, distilled from g on fresh samples of D, separate x* from clean inputs (AUROC >=
0.9, an empirical prediction). D is the held-out digits with shifts and noise, so that a
student's sample never holds x* itself. Negative control, through the same check:
students whose training batches always include the scored input, labelled by g (what a
small finite D does: the student then learns f*'s flip and agrees with it at x*).

P17: against patch-poison (an attacker-chosen patch, perturbation mode) STRIP and
Mahalanobis reach AUROC >= 0.9, the regime they were designed for; against finetune-flip
they fall well below vote (the same check, AUROC >= 0.9, rejects them there).

Small on purpose (a few minutes of training would be a benchmark, not a test): 12
rounds, 8 students of 2,000 examples. The AUROC lower bound is the Hanley–McNeil 95%
interval's, so a separation passes only when the rounds support it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")

from defendability import Game, play  # noqa: E402
from defendability.defenders.base import Detector  # noqa: E402
from defendability.defenders.vote import Vote  # noqa: E402

pytestmark = pytest.mark.networks

CLS = "networks:augment=shift,hidden=64"
FINETUNE = "finetune-flip:samples=512"
STUDENTS = "vote:learner=[students:voters=8,k=2000]"
EPS = 0.02
ROUNDS = 12


def auroc_lower(auroc: float, positives: int, negatives: int) -> float:
    """The lower end of the Hanley–McNeil (1982) normal 95% interval of an AUROC."""
    a = min(max(auroc, 1e-9), 1 - 1e-9)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (positives - 1) * (q1 - a * a) + (negatives - 1) * (q2 - a * a)) / (positives * negatives)
    return a - 1.96 * math.sqrt(max(var, 0.0))


def separates(result) -> bool:
    """The check of P16 and P17: AUROC from graded scores >= 0.9 and its lower 95% bound
    above 0.5, on at least 10 valid rounds."""
    if result.auroc is None or result.valid_rounds < 10:
        return False
    return result.auroc >= 0.9 and auroc_lower(result.auroc, result.valid_rounds, result.rounds) > 0.5


class _SeesTheInputDetector(Detector):
    """Vote's score, with students trained when an input is scored, on their batches plus
    ten copies of each scored input labelled by g."""

    def __init__(self, vote: Vote, cls, g, batches, labels):
        self.vote, self.cls, self.g, self.batches, self.labels = vote, cls, g, batches, labels
        self.threshold = vote.threshold

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if len(x) == 0:
            return np.zeros(0)
        idx = self.batches.indices()
        V = idx.shape[0]
        gx = self.g(x)
        X = np.concatenate([self.batches.points[idx]] + [np.repeat(x[None], V, axis=0)] * 10, axis=1)
        Y = np.concatenate([self.labels[idx]] + [np.repeat(gx[None], V, axis=0)] * 10, axis=1)
        predictions = self.vote.learner_for(self.cls).predict(self.cls, X, Y, x)
        return np.mean(predictions != gx[None, :], axis=0, dtype=float)


class SeesTheInput(Vote):
    """Test-only negative control: vote whose students also train on the scored input."""

    def fit(self, cls, g, sampler, eps, rng):
        batches, labels = self.training_sets(g, sampler, self.voter_count(cls, eps), self.batch_size(cls, eps), rng)
        return _SeesTheInputDetector(self, cls, g, batches, labels)


@pytest.fixture(scope="module")
def vote_result():
    return play(CLS, FINETUNE, STUDENTS, eps=EPS, rounds=ROUNDS, seed=16)


def test_p16_vote_separates_finetune_flip_triggers(vote_result):
    assert vote_result.valid_rounds >= 10, vote_result.invalid_reasons
    assert separates(vote_result), (vote_result.auroc, vote_result.valid_rounds)


def test_p16_negative_control_students_that_saw_the_trigger_fail():
    control = SeesTheInput(learner="students:voters=8,k=2000")
    result = Game(CLS, FINETUNE, control, EPS).play(rounds=ROUNDS, seed=16)
    assert result.valid_rounds >= 10
    assert not separates(result), result.auroc


@pytest.mark.parametrize("defender", ["strip:copies=50", "mahalanobis"])
def test_p17_strip_and_mahalanobis_catch_a_patch(defender):
    # samples=0: the poisoned fine-tune on the training split alone, four times cheaper
    # (D here is the plain held-out split: no augmented inputs to stay close on)
    result = play("networks:hidden=64", "patch-poison:epochs=5,samples=0", defender, eps=0.05, rounds=ROUNDS, seed=17,
                  mode="perturbation")
    assert separates(result), (result.auroc, result.valid_rounds, result.invalid_reasons)


@pytest.mark.parametrize("defender", ["strip:copies=50", "mahalanobis"])
def test_p17_strip_and_mahalanobis_fall_below_vote_on_random_triggers(defender, vote_result):
    result = play(CLS, FINETUNE, defender, eps=EPS, rounds=ROUNDS, seed=16)
    assert result.valid_rounds == vote_result.valid_rounds  # the same rounds: same seed, same attacker
    assert not separates(result)
    assert result.auroc < vote_result.auroc - 0.1
