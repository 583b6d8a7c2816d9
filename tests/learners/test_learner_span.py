"""The span learner against exhaustive search over the parities consistent with a batch."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.classes.parities import Parities as LibraryParities
from defendability.errors import ParameterError
from defendability.learners import Span
from defendability.learners.span import eliminate, pack_rows, word_dtype

from toys_for_learners import Parities, SmallSubsets


def consistent_parities(n: int, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Every a in GF(2)^n with <a, x> = y on the whole batch, ``(count, n)``."""
    A = Parities(n).all_vectors()
    return A[np.all((X.astype(np.int64) @ A.T.astype(np.int64)) % 2 == Y[:, None], axis=0)]


def brute_force(n: int, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The common label of all consistent parities; 0 where they disagree or none exist."""
    A = consistent_parities(n, X, Y)
    if len(A) == 0:
        return np.zeros(len(queries), np.uint8)
    labels = (queries.astype(np.int64) @ A.T.astype(np.int64)) % 2
    return np.where(labels.min(axis=1) == labels.max(axis=1), labels[:, 0], 0).astype(np.uint8)


def gf2_rank(rows: np.ndarray) -> int:
    """Rank over GF(2) by plain elimination on Python integers (an independent reference).

    The basis elements have distinct leading bits; reducing by them in decreasing order
    clears each one's leading bit from x without setting a higher one.
    """
    basis: list[int] = []
    for r in rows:
        x = int("".join(map(str, r[::-1])) or "0", 2)
        for b in sorted(basis, reverse=True):
            x = min(x, x ^ b)
        if x:
            basis.append(x)
    return len(basis)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5, 8])
def test_matches_exhaustive_search_including_unrealisable_batches(k):
    n = 4
    rng = np.random.default_rng(20 + k)
    V = 300
    X = rng.integers(0, 2, (V, k, n), dtype=np.uint8)
    # half the voters see a parity's labels, the other half random (often contradictory) ones
    A = rng.integers(0, 2, (V, n), dtype=np.uint8)
    Y = (np.einsum("vkn,vn->vk", X.astype(np.int64), A.astype(np.int64)) % 2).astype(np.uint8)
    Y[V // 2:] = rng.integers(0, 2, (V - V // 2, k), dtype=np.uint8)
    queries = Parities(n).all_vectors()
    got = Span().predict(Parities(n), X, Y, queries)
    assert got.shape == (V, 16) and got.dtype == np.uint8
    expected = np.array([brute_force(n, X[v], Y[v], queries) for v in range(V)])
    np.testing.assert_array_equal(got, expected)
    if k >= 3:
        # the random half must reach the empty-version-space fallback, or it is untested
        assert any(len(consistent_parities(n, X[v], Y[v])) == 0 for v in range(V // 2, V))


@pytest.mark.parametrize("n", [20, 31, 32, 63])
def test_correct_in_the_span_and_zero_outside(n):
    rng = np.random.default_rng(n)
    V, k, Q = 40, 12, 30
    X = rng.integers(0, 2, (V, k, n), dtype=np.uint8)
    A = rng.integers(0, 2, (V, n), dtype=np.uint8)
    Y = (np.einsum("vkn,vn->vk", X.astype(np.int64), A.astype(np.int64)) % 2).astype(np.uint8)
    # first half of the queries: combinations of voter 0's batch; the rest random
    combos = rng.integers(0, 2, (Q // 2, k))
    in_span_of_voter_0 = (combos @ X[0].astype(np.int64)) % 2
    queries = np.concatenate([in_span_of_voter_0, rng.integers(0, 2, (Q - Q // 2, n))]).astype(np.uint8)
    got = Span().predict(Parities(n), X, Y, queries)
    truth = (queries.astype(np.int64) @ A.T.astype(np.int64)).T % 2
    for v in range(V):
        rank = gf2_rank(X[v])
        in_span = np.array([gf2_rank(np.vstack([X[v], q[None]])) == rank for q in queries])
        np.testing.assert_array_equal(got[v, in_span], truth[v, in_span])
        assert not got[v, ~in_span].any()
    assert np.all(got[0, : Q // 2] == truth[0, : Q // 2])


def test_full_rank_batches_predict_their_parity_everywhere():
    rng = np.random.default_rng(8)
    n, V, k = 20, 200, 60
    X = rng.integers(0, 2, (V, k, n), dtype=np.uint8)
    A = rng.integers(0, 2, (V, n), dtype=np.uint8)
    Y = (np.einsum("vkn,vn->vk", X.astype(np.int64), A.astype(np.int64)) % 2).astype(np.uint8)
    queries = rng.integers(0, 2, (50, n), dtype=np.uint8)
    assert all(gf2_rank(X[v]) == n for v in range(V))
    got = Span().predict(Parities(n), X, Y, queries)
    np.testing.assert_array_equal(got, (queries.astype(np.int64) @ A.T.astype(np.int64)).T % 2)


def test_basis_is_reduced_and_spans_the_batch():
    rng = np.random.default_rng(3)
    n, V, k = 10, 25, 7
    X = rng.integers(0, 2, (V, k, n), dtype=np.uint8)
    dt = word_dtype(n)
    basis, consistent = eliminate(pack_rows(X).astype(dt), n)
    assert consistent.all()  # labels all 0 here: the zero parity fits
    for v in range(V):
        pivots = [b for b in range(n) if basis[v, b]]
        assert len(pivots) == gf2_rank(X[v])
        for b in pivots:
            others = [c for c in pivots if c != b]
            assert basis[v, b] >> b & 1 and not any(int(basis[v, b]) >> c & 1 for c in others)


def test_pack_rows_reads_coordinate_i_as_bit_i():
    rows = np.zeros((3, 40), np.uint8)
    rows[0, 0] = rows[1, 9] = rows[2, 39] = 1
    np.testing.assert_array_equal(pack_rows(rows), np.array([1, 1 << 9, 1 << 39], dtype=np.uint64))


def test_refuses_classes_without_bit_rows_and_non_binary_points():
    with pytest.raises(TypeError, match="small-subsets"):
        Span().predict(SmallSubsets(), np.zeros((1, 2), np.int64), np.zeros((1, 2), np.uint8), np.arange(2))
    with pytest.raises(TypeError, match="length 1..63"):
        Span().expected_error(LibraryParities(64), 10)
    with pytest.raises(ValueError, match="0/1"):
        Span().predict(Parities(3), np.full((1, 2, 3), 2, np.uint8), np.zeros((1, 2), np.uint8),
                       np.zeros((1, 3), np.uint8))


def test_guarantee_and_sample_size():
    assert Span().expected_error(LibraryParities(20), 199) == pytest.approx(0.1)
    assert Span().sample_size(LibraryParities(20), 0.1) == 199
    with pytest.raises(ParameterError):
        Span().sample_size(LibraryParities(20), 1.5)


def test_guarantee_and_sample_size_only_for_the_parities_class():
    """n/(k+1) is a theorem about parity targets: on any other class of 0/1 rows (a toy
    parity class, conjunctions, keyed hashes) the learner states no guarantee."""
    from defendability.classes import Conjunctions, KeyedHash

    for cls in (Parities(20), Conjunctions(n=20), KeyedHash(n=20, keys=4)):
        assert Span().expected_error(cls, 199) is None, cls
        assert Span().sample_size(cls, 0.1) is None, cls
    # the arguments are still checked, and the predictions still work
    with pytest.raises(ParameterError):
        Span().expected_error(Conjunctions(n=5), -1)
    with pytest.raises(ParameterError):
        Span().sample_size(Conjunctions(n=5), 1.5)
    X = np.eye(3, dtype=np.uint8)[None]
    assert Span().predict(Conjunctions(n=3), X, np.ones((1, 3), np.uint8), np.ones((1, 3), np.uint8)).tolist() == [[1]]
