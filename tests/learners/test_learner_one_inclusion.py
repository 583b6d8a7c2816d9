"""The one-inclusion graph predictor: its graph, its orientation and the HLW guarantee, exactly."""

from __future__ import annotations

import itertools
from math import factorial

import numpy as np
import pytest

from defendability.classes.table import Table
from defendability.errors import ParameterError
from defendability.learners import OneInclusion

from toys import ToyTable
from toys_for_learners import NotEnumerable, Parities, SmallSubsets


def random_table() -> ToyTable:
    """15 random labellings of 6 points, VC dimension 3. With this seed both fixed tie
    rules (always 0, always 1) make 4 > d leave-one-out mistakes on some 4 points, so
    the guarantee below holds only because of the orientation."""
    return ToyTable(np.random.default_rng(7).integers(0, 2, (16, 6)), unique=True)


CLASSES = [SmallSubsets(M=6, d=2), random_table(), Table(N=5, size=12, seed=4)]


def labellings(cls) -> np.ndarray:
    """``(members, M)``: every member's labels on the class's domain [0, M)."""
    domain = cls.default_distribution().support()[0]
    assert np.array_equal(domain, np.arange(len(domain)))
    return np.stack([f(domain) for f in cls.members()]).astype(np.uint8)


def multisets(M: int, size: int) -> np.ndarray:
    return np.array(list(itertools.combinations_with_replacement(range(M), size)))


def multinomial_weight(S: np.ndarray, M: int) -> float:
    """Probability that size-|S| i.i.d. uniform draws from [0, M) form the multiset S."""
    counts = np.bincount(S, minlength=M)
    return factorial(len(S)) / np.prod([factorial(c) for c in counts]) / M ** len(S)


def leave_one_out_mistakes(cls: ToyTable, k: int, rule=None) -> np.ndarray:
    """``(|F|, #multisets)``: mistakes of the predictor over the k+1 ways of holding one
    point of each multiset of k+1 points out, for every target. ``rule`` replaces the
    learner's tie-break (for the sanity check that the bound needs the orientation)."""
    table = labellings(cls)
    M = table.shape[1]
    S = multisets(M, k + 1)
    held = np.repeat(np.arange(len(S)), k + 1)
    position = np.tile(np.arange(k + 1), len(S))
    X = np.array([np.delete(S[s], i) for s, i in zip(held, position)]).reshape(len(held), k)
    q = S[held, position]
    learner = OneInclusion()
    out = np.zeros((len(table), len(S)), dtype=np.int64)
    for t, f in enumerate(table):
        Y = f[X].astype(np.uint8)
        if rule is None:
            pred = learner.predict(cls, X, Y, np.arange(M))[np.arange(len(q)), q]
        else:
            consistent = np.all(table[:, X] == Y[None], axis=2).T  # (voters, members)
            labels = np.where(consistent, table[:, q].T, 2)
            agreed = (labels == 0).any(axis=1) ^ (labels == 1).any(axis=1)
            pred = np.where(agreed, (labels == 1).any(axis=1), rule)
        out[t] = np.bincount(held, weights=pred != f[q], minlength=len(S)).astype(np.int64)
    return out


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_hlw_guarantee_holds_exactly(cls, k):
    d = cls.vc_dimension
    mistakes = leave_one_out_mistakes(cls, k)
    # on every k+1 points and every target, at most d leave-one-out mistakes (the
    # out-degree of the target's vertex); averaging over i.i.d. draws gives e(k) <= d/(k+1)
    assert mistakes.max() <= d
    M = labellings(cls).shape[1]
    weights = np.array([multinomial_weight(S, M) for S in multisets(M, k + 1)])
    assert weights.sum() == pytest.approx(1.0)
    expected_error = (mistakes / (k + 1)) @ weights  # exact, per target, under uniform D
    assert np.all(expected_error <= d / (k + 1) + 1e-12)
    assert np.all(expected_error <= OneInclusion().expected_error(cls, k) + 1e-12)
    # the bound is tight on subsets: a 2-element target seen with both points held out
    if cls.name == "small-subsets" and k >= 2:
        assert mistakes.max() == d


def test_fixed_tie_rules_break_the_bound_on_the_random_table():
    cls = random_table()
    assert cls.vc_dimension == 3
    for rule in (0, 1):
        assert leave_one_out_mistakes(cls, 3, rule=rule).max() > cls.vc_dimension


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.name)
def test_graph_and_orientation_on_every_point_set(cls):
    learner = OneInclusion()
    table = labellings(cls)
    for size in range(1, table.shape[1] + 1):
        for P in itertools.combinations(range(table.shape[1]), size):
            graph = learner.orientation(cls, np.array(P))
            expected = np.unique(table[:, P], axis=0)
            np.testing.assert_array_equal(graph.vertices, expected)
            hamming = (expected[:, None, :] != expected[None, :, :]).sum(axis=2)
            pairs = {(a, b) for a, b in zip(*np.nonzero(np.triu(hamming == 1)))}
            got = {(min(t, h), max(t, h)) for t, h in zip(graph.tails, graph.heads)}
            assert got == pairs and len(graph.tails) == len(pairs)
            for t, h, c in zip(graph.tails, graph.heads, graph.coords):
                assert np.flatnonzero(expected[t] != expected[h]).tolist() == [c]
            assert graph.out_degrees().max(initial=0) <= cls.vc_dimension


def test_orientation_depends_only_on_the_point_set():
    cls = random_table()
    rng = np.random.default_rng(0)
    reference = OneInclusion(cache_size=0).orientation(cls, np.arange(6))
    for _ in range(5):
        again = OneInclusion(cache_size=0).orientation(cls, rng.permutation(6))
        for field in ("vertices", "tails", "heads", "coords"):
            np.testing.assert_array_equal(getattr(again, field), getattr(reference, field))


def brute_force(learner: OneInclusion, cls, X: np.ndarray, Y: np.ndarray, q) -> int:
    """Batch label if q is in the batch; the consistent members' common label; else the
    label of the head of the edge at q in the orientation of P = batch and q."""
    hit = np.flatnonzero(np.all(X.reshape(len(X), -1) == np.reshape(q, (1, -1)), axis=1))
    if len(hit):
        return int(Y[hit[0]])
    members = list(cls.members())
    consistent = [f for f in members if np.array_equal(f(X), Y)]
    labels = {int(f(np.asarray(q)[None])[0]) for f in consistent}
    if len(labels) < 2:
        return labels.pop() if labels else 0
    P = np.concatenate([X, np.asarray(q)[None]])
    graph = learner.orientation(cls, P)
    order = np.unique(P.reshape(len(P), -1), axis=0)
    col = int(np.flatnonzero(np.all(order == np.reshape(q, (1, -1)), axis=1))[0])
    ends = [i for i, row in enumerate(graph.vertices)
            if all(row[np.flatnonzero(np.all(order == np.reshape(x, (1, -1)), axis=1))[0]] == y for x, y in zip(X, Y))]
    assert len(ends) == 2
    return int(graph.vertices[graph.head_of(*ends), col])


@pytest.mark.parametrize("cls", [random_table(), SmallSubsets(M=6, d=2), Parities(3)], ids=lambda c: c.name)
def test_matches_the_brute_force_reference(cls):
    rng = np.random.default_rng(41)
    V, k = 40, 3
    domain = np.arange(cls.M) if cls.point_shape == () else Parities(3).all_vectors()
    idx = rng.integers(len(domain), size=(V, k))
    X = domain[idx]
    members = list(cls.members())
    Y = np.stack([members[rng.integers(len(members))](X[v]) for v in range(V)]).astype(np.uint8)
    Y[:5] = rng.integers(0, 2, (5, k))  # some batches the class may not realise
    learner = OneInclusion()
    got = learner.predict(cls, X, Y, domain)
    assert got.shape == (V, len(domain)) and got.dtype == np.uint8
    for v in range(V):
        for j, q in enumerate(domain):
            assert got[v, j] == brute_force(learner, cls, X[v], Y[v], q), (v, j)


def test_cache_changes_nothing():
    cls = random_table()
    rng = np.random.default_rng(5)
    X = rng.integers(0, 6, (80, 3))
    Y = cls.rows[rng.integers(len(cls.rows), size=80)][np.arange(80)[:, None], X].astype(np.uint8)
    cached = OneInclusion(cache_size=2)
    first = cached.predict(cls, X, Y, np.arange(6))
    np.testing.assert_array_equal(cached.predict(cls, X, Y, np.arange(6)), first)
    np.testing.assert_array_equal(OneInclusion(cache_size=0).predict(cls, X, Y, np.arange(6)), first)
    assert len(cached._cache) <= 2


def test_batch_labels_and_unrealisable_batches():
    cls = SmallSubsets(M=6, d=2)
    X = np.array([[0, 1, 2], [0, 0, 3]])
    Y = np.array([[1, 1, 1], [1, 0, 0]], dtype=np.uint8)  # three positives; point 0 twice, both labels
    got = OneInclusion().predict(cls, X, Y, np.arange(6))
    np.testing.assert_array_equal(got[0], [1, 1, 1, 0, 0, 0])  # batch labels, then the empty version space
    np.testing.assert_array_equal(got[1], [1, 0, 0, 0, 0, 0])  # first occurrence's label at 0


def test_empty_batches_use_the_orientation_of_one_point():
    cls = SmallSubsets(M=4, d=1)
    learner = OneInclusion()
    got = learner.predict(cls, np.zeros((3, 0), np.int64), np.zeros((3, 0), np.uint8), np.arange(4))
    for q in range(4):
        graph = learner.orientation(cls, np.array([q]))
        assert np.all(got[:, q] == graph.vertices[graph.heads[0], 0])


def test_refusals():
    with pytest.raises(TypeError, match="'not-enumerable' cannot enumerate its members"):
        OneInclusion().predict(NotEnumerable(np.eye(3)), np.zeros((1, 1), np.int64), np.zeros((1, 1), np.uint8),
                               np.arange(3))
    cube = ToyTable(np.array(list(itertools.product((0, 1), repeat=3))), declared_vc=1, unique=True)
    with pytest.raises(ValueError, match="vc_dimension is too small"):
        OneInclusion().predict(cube, np.array([[1, 2]]), np.zeros((1, 2), np.uint8), np.array([0]))
    with pytest.raises(ParameterError, match="cache_size"):
        OneInclusion(cache_size=-1)
    with pytest.raises(ParameterError, match="eta"):
        OneInclusion().sample_size(cube, 0)
    assert OneInclusion().sample_size(SmallSubsets(M=6, d=2), 0.1) == 19
