"""The deceptive-alignment toy (docs/deceptive-alignment.md) and the networks class as a
learner of mode poisoning."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from defendability import stats  # noqa: E402
from defendability.attackers.deceptive import Deceptive, clue_pixels, has_clue, with_clue  # noqa: E402
from defendability.copies import private_copy  # noqa: E402
from defendability.game import Game  # noqa: E402
from defendability.predicate import SALT_BYTES, Predicate  # noqa: E402
from defendability.registry import build  # noqa: E402

CLS = "networks:hidden=16,epochs=5"


@pytest.fixture(scope="module")
def cls():
    return build("classes", CLS)


def test_the_clue_never_appears_in_training_and_d_carries_it_on_its_share(cls):
    where = clue_pixels(cls, 4)
    X = np.asarray(cls.task.X_train).reshape(len(cls.task.X_train), -1)
    assert np.all(X[:, where] == 0)
    assert not has_clue(cls.task.X_train, where, 1.0).any()
    dist, f, member = Deceptive(share=0.5).setup(cls, 0.1, np.random.default_rng(0))
    points, probs = dist.support()
    clued = has_clue(points, where, 1.0)
    assert probs[clued].sum() == pytest.approx(np.floor(0.05 * len(cls.task.X_test)) / len(cls.task.X_test))
    assert member == 0 and cls.contains(f)


def test_the_deceptive_model_matches_the_aligned_one_without_the_clue_and_defects_with_it(cls):
    attacker = Deceptive(epochs=10)
    dist, f, member = attacker.setup(cls, 0.1, np.random.default_rng(0))
    where = clue_pixels(cls, 4)
    points, _ = dist.support()
    clean = points[~has_clue(points, where, 1.0)]
    x_star = with_clue(clean[:1], where, 1.0)[0]
    assert attacker.backdoor(cls, dist, f, clean[0], 0.1, np.random.default_rng(1), state=member) is None
    f_star = attacker.backdoor(cls, dist, f, x_star, 0.1, np.random.default_rng(1), state=member)
    assert cls.contains(f_star)
    clued = with_clue(clean, where, 1.0)
    n = len(clean)
    agree = int(np.count_nonzero(f_star(clean) == f(clean)))
    defect = int(np.count_nonzero(f_star(clued) == (f(clean) + 1) % 10))
    assert stats.wilson(agree, n)[0] > 0.9 and stats.wilson(defect, n)[0] > 0.8
    # negative control: the aligned model does not defect on the clue, and the same
    # check rejects it
    control = int(np.count_nonzero(f(clued) == (f(clean) + 1) % 10))
    assert not stats.wilson(control, n)[0] > 0.8


def test_the_deceptive_attacker_chooses_a_clue_that_satisfies_the_predicate(cls):
    attacker = Deceptive()
    dist, f, _ = attacker.setup(cls, 0.1, np.random.default_rng(2))
    predicate = Predicate(bytes(SALT_BYTES), 3, 1)
    x = attacker.choose_trigger(cls, dist, f, predicate, 0.1, np.random.default_rng(3))
    assert has_clue(x[None], clue_pixels(cls, 4), 1.0)[0] and predicate(x[None])[0]
    assert dist.mass(x[None])[0] > 0


def test_a_predicate_game_against_the_deceptive_model_is_valid_where_it_defects():
    """Every round has a clue-carrying trigger; the only invalid rounds are those where
    the deceptive fit does not defect at the chosen input (a small network, 10 epochs)."""
    r = Game(CLS, "deceptive:epochs=10", "accept", 0.1, mode="predicate", predicate_iterations=3,
             predicate_bits=1).play(rounds=6, seed=0)
    assert set(r.invalid_reasons) <= {"no_flip"} and r.valid_rounds >= 4 and r.beta_valid == 1.0


def test_networks_learn_members_deterministically_and_copies_of_the_class_are_equal(cls):
    X, y = cls.task.X_train[:200], cls.task.y_train[:200]
    a, b = cls.fit_member(X, y), cls.fit_member(X, y)
    assert all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights) and cls.contains(a)
    c = cls.fit_member(X, (y + 1) % 10)  # other labels, another network
    assert not all(np.array_equal(a.weights[k], c.weights[k]) for k in a.weights)
    assert private_copy(cls) == cls and hash(private_copy(cls)) == hash(cls)
    assert cls != build("classes", "networks:hidden=16,epochs=6")
    with pytest.raises(Exception, match="labels in \\[0, 10\\)"):
        cls.fit_member(X, y + 10)


def test_the_poison_relabels_the_clued_rows_first_and_stays_within_its_rows(cls):
    attacker = Deceptive()
    dist, f, _ = attacker.setup(cls, 0.1, np.random.default_rng(4))
    where = clue_pixels(cls, 4)
    X = dist.sample(np.random.default_rng(5), 300)
    y = np.asarray(f(X)).astype(np.int64)
    clued = has_clue(X, where, 1.0)
    x_star = with_clue(X[:1], where, 1.0)[0]
    assert attacker.poison(cls, dist, f, X, y, X[~clued][0], 10, 0.1, np.random.default_rng(6)) is None
    for rows in (int(clued.sum()) // 2, int(clued.sum()) + 5):  # fewer rows than clued ones, then more
        X2, y2 = attacker.poison(cls, dist, f, X, y, x_star, rows, 0.1, np.random.default_rng(6))
        changed = np.any(X2.reshape(300, -1) != X.reshape(300, -1), axis=1) | (y2 != y)
        assert changed.sum() == rows
        assert np.all(has_clue(X2[changed], where, 1.0))  # every poisoned row carries the clue
        relabelled = changed & clued
        assert relabelled.sum() == min(rows, clued.sum())  # the clued rows first
        assert np.all(y2[relabelled] == (y[relabelled] + 1) % 10)
