"""The one-inclusion graph predictor of Haussler, Littlestone and Warmuth (1994)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import maximum_flow

from ..classes.base import Function, FunctionClass
from ..errors import IncompatibleError, check
from ..registry import Match, register
from .base import Learner, check_batch, pac_sample_size

#: Memory the orientation cache may hold, whatever its entry count allows.
CACHE_BYTES = 64 << 20


@dataclass(frozen=True, eq=False)
class Orientation:
    """The oriented one-inclusion graph of a class on a point set P.

    ``vertices``: ``(n_v, m)`` uint8, the distinct labellings of P's m points (in P's
    canonical order) realised by the class, rows in lexicographic order. ``tails``,
    ``heads``, ``coords``: ``(E,)`` each; edge e joins ``vertices[tails[e]]`` and
    ``vertices[heads[e]]``, which differ exactly at point ``coords[e]``, and points
    towards ``heads[e]``. Every vertex is the tail of at most d edges.
    """

    vertices: np.ndarray
    tails: np.ndarray
    heads: np.ndarray
    coords: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.vertices.nbytes + self.tails.nbytes + self.heads.nbytes + self.coords.nbytes

    def out_degrees(self) -> np.ndarray:
        """``(n_v,)`` number of edges leaving each vertex."""
        return np.bincount(self.tails, minlength=len(self.vertices))

    def head_of(self, a: int, b: int) -> int:
        """The vertex the edge between vertices ``a`` and ``b`` points to."""
        hit = np.flatnonzero(((self.tails == a) & (self.heads == b)) | ((self.tails == b) & (self.heads == a)))
        if len(hit) != 1:
            raise KeyError(f"vertices {a} and {b} are not joined by an edge")
        return int(self.heads[hit[0]])


def one_inclusion_edges(vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of distinct rows of ``vertices`` (``(n_v, m)`` 0/1) that differ in one column.

    Returns ``(a, b, coord)``, each ``(E,)``, with ``a < b``, sorted by ``a`` then
    ``coord``. Exact: every row with one varying column flipped is matched against the
    rows by ``np.unique`` on the packed bits, so no hashing can merge distinct rows.
    """
    n_v = len(vertices)
    varying = np.flatnonzero(vertices.min(axis=0) != vertices.max(axis=0)) if n_v else np.zeros(0, np.intp)
    empty = np.zeros(0, dtype=np.intp)
    if n_v < 2 or len(varying) == 0:
        return empty, empty, empty
    # a vertex is determined by its varying columns, the others being constant
    rows = np.packbits(vertices[:, varying].astype(bool), axis=1, bitorder="little")
    m = len(varying)
    flips = np.repeat(rows[:, None, :], m, axis=1)
    cols = np.arange(m)
    flips[:, cols, cols // 8] ^= (1 << (cols % 8)).astype(np.uint8)
    stacked = np.concatenate([rows, flips.reshape(n_v * m, -1)])
    _, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    vertex_of = np.full(len(stacked), -1, dtype=np.intp)
    vertex_of[inverse[:n_v]] = np.arange(n_v)
    partner = vertex_of[inverse[n_v:]].reshape(n_v, m)
    a, c = np.nonzero(partner > np.arange(n_v)[:, None])
    return a, partner[a, c], varying[c]


def orient(vertices: np.ndarray, d: int, class_name: str) -> Orientation:
    """Orient the one-inclusion graph on ``vertices`` with every out-degree <= d.

    A flow network source -> edge node (capacity 1) -> each endpoint (1) -> sink
    (capacity d per vertex): an edge whose unit of flow goes to vertex u counts in u's
    out-degree, so u is its tail and the other endpoint its head. Integer capacities
    make the maximum flow integral (scipy's Dinic), and the network is built in a fixed
    order, so the orientation is a deterministic function of ``vertices``.
    Raises ``ValueError`` when some subgraph has more than d edges per vertex, which
    cannot happen if d really is the class's VC dimension (Haussler, Littlestone and
    Warmuth 1994, the density bound of one-inclusion graphs).
    """
    a, b, coords = one_inclusion_edges(vertices)
    E, n_v = len(a), len(vertices)
    if E == 0:
        return Orientation(vertices, a, b, coords)
    source, sink = 0, E + n_v + 1
    edge_nodes = np.arange(1, E + 1)
    rows = np.concatenate([np.zeros(E, np.intp), edge_nodes, edge_nodes, E + 1 + np.arange(n_v)])
    cols = np.concatenate([edge_nodes, E + 1 + a, E + 1 + b, np.full(n_v, sink)])
    caps = np.concatenate([np.ones(3 * E, np.int32), np.full(n_v, d, np.int32)])
    network = csr_array((caps, (rows, cols)), shape=(sink + 1, sink + 1))
    result = maximum_flow(network, source, sink, method="dinic")
    if result.flow_value < E:
        raise ValueError(f"one-inclusion graph of class {class_name!r} on {vertices.shape[1]} points "
                         f"({n_v} labellings, {E} edges) has no orientation with out-degree <= d={d}: "
                         f"the class's vc_dimension is too small")
    to_a = np.asarray(result.flow[edge_nodes, E + 1 + a]).ravel() > 0
    tails = np.where(to_a, a, b)
    heads = np.where(to_a, b, a)
    return Orientation(vertices, tails, heads, coords)


@register("learners", "one-inclusion")
class OneInclusion(Learner):
    """Haussler-Littlestone-Warmuth one-inclusion graph predictor (small finite classes): e(k) <= d/(k+1).

    For a voter's batch and a query q, let P be the distinct points of batch and q in
    canonical (lexicographically sorted) order. The vertices are the labellings of P the
    class realises; edges join labellings differing at one point; the edges are oriented
    with every out-degree <= d (d = ``cls.vc_dimension``) by a maximum flow. The
    labellings agreeing with the batch are one vertex (predict its label at q) or the two
    ends of an edge at q (predict the label of the head). The orientation is computed
    from P alone, deterministically, and cached by P, never by which point is the
    query: that is what makes the leave-one-out mistakes on any k+1 points at most the
    out-degree of the target's vertex, hence e(k) <= d/(k+1) (derived, THEORY §2.1;
    the bound is the theorem of Haussler, Littlestone and Warmuth 1994, "Predicting
    {0,1}-functions on randomly drawn points"). The PAC sample size
    m(eta) = ceil(d/eta) - 1 is (derived) from it.

    Shapes: ``X`` ``(V, k, *point_shape)``, ``Y`` ``(V, k)`` uint8, ``queries``
    ``(Q, *point_shape)``; returns ``(V, Q)`` uint8. A query already in the batch gets
    its batch label (the first occurrence's). A batch no member labels (including a
    point given both labels) predicts 0 at every other query: the version space is
    empty, so there is no vertex to predict with. Needs ``cls.members()``; a class that
    cannot enumerate them raises ``IncompatibleError``.

    Cost: every member is evaluated once per call on the distinct points of all
    batches and queries; per voter, one pass over the members' labels on its batch.
    A graph is built and oriented (a maximum flow on O(n_v * d) edges, n_v <= |F|)
    only for a (voter, query) pair where the consistent members disagree at the
    query: elsewhere there is a single vertex and the orientation cannot matter.
    Intended for classes of up to a few thousand members.

    ``cache_size``: how many orientations (point sets) to keep, least recently used
    first out, and never more than ``CACHE_BYTES`` of them; 0 disables the cache.
    """

    set_only = True  # depends on the set of distinct labelled examples, not on repeats
    test_match = Match(cls="subsets:N=8,d=2")

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` for a class that cannot enumerate its members."""
        if cls.members() is None:
            raise IncompatibleError(f"one-inclusion learner: class {cls.name!r} cannot enumerate its members "
                                    "(members() is None); it needs a small finite class")

    def __init__(self, cache_size: int = 4096):
        check(cache_size >= 0, f"one-inclusion: cache_size must be >= 0, got {cache_size}")
        self.cache_size = cache_size
        self._cache: OrderedDict[bytes, Orientation] = OrderedDict()
        self._cache_bytes = 0
        self._class: FunctionClass | None = None
        self._members: list[Function] = []

    def _use(self, cls: FunctionClass) -> list[Function]:
        """The members of ``cls`` as a list; a new class empties the orientation cache."""
        if cls is not self._class:
            members = cls.members()
            if members is None:
                raise IncompatibleError(f"one-inclusion learner: class {cls.name!r} cannot enumerate its members "
                                f"(members() is None); it needs a small finite class")
            self._members = list(members)
            check(len(self._members) > 0, f"one-inclusion: class {cls.name!r} has no members")
            self._class = cls
            self._cache.clear()
            self._cache_bytes = 0
        return self._members

    def orientation(self, cls: FunctionClass, points: np.ndarray) -> Orientation:
        """The oriented one-inclusion graph of ``cls`` on the distinct ``points``
        (``(m, *point_shape)``), whose vertices' columns follow the sorted distinct points."""
        members = self._use(cls)
        points = np.asarray(points)
        width = int(np.prod(points.shape[1:], dtype=np.intp))
        flat = np.unique(points.reshape(len(points), width), axis=0)
        labels = np.stack([np.asarray(f(flat.reshape(len(flat), *points.shape[1:])), dtype=np.uint8)
                           for f in members])
        return self._oriented(cls, flat, labels)

    def _oriented(self, cls: FunctionClass, flat_points: np.ndarray, labels: np.ndarray) -> Orientation:
        """Orientation on sorted distinct ``flat_points`` given the members' ``labels`` there."""
        key = flat_points.dtype.str.encode() + str(flat_points.shape).encode() + flat_points.tobytes()
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        vertices = np.unique(labels, axis=0)
        found = orient(vertices, cls.vc_dimension, cls.name)
        if self.cache_size and found.nbytes <= CACHE_BYTES:
            self._cache[key] = found
            self._cache_bytes += found.nbytes
            while len(self._cache) > self.cache_size or self._cache_bytes > CACHE_BYTES:
                self._cache_bytes -= self._cache.popitem(last=False)[1].nbytes
        return found

    def predict(self, cls: FunctionClass, X: np.ndarray, Y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        X, Y, queries = np.asarray(X), np.asarray(Y), np.asarray(queries)
        check_batch(cls, X, Y, queries)
        members = self._use(cls)
        V, k = Y.shape
        Q = len(queries)
        width = int(np.prod(X.shape[2:], dtype=np.intp))
        flat = np.concatenate([X.reshape(V * k, width), queries.reshape(Q, width)])
        # indices into the sorted distinct points: sorting them again gives P's canonical order
        points, inverse = np.unique(flat, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        batch_idx = inverse[: V * k].reshape(V, k)
        query_idx = inverse[V * k:]
        shaped = points.reshape(len(points), *X.shape[2:])
        table = np.stack([np.asarray(f(shaped), dtype=np.uint8) for f in members])  # (|F|, n_points)

        out = np.zeros((V, Q), dtype=np.uint8)
        for v in range(V):
            labels = (Y[v] != 0).astype(np.uint8)
            seen, first = np.unique(batch_idx[v], return_index=True)
            first_label = labels[first]
            # the members consistent with the batch (none if a point carries both labels)
            consistent = np.all(table[:, batch_idx[v]] == labels[None, :], axis=1)
            at_queries = table[consistent][:, query_idx]
            some, every = at_queries.any(axis=0), at_queries.all(axis=0)
            # when the consistent members agree at q there is one vertex and no need to
            # orient; the orientation of P is the same whenever it is computed
            out[v] = some & every
            pos = np.searchsorted(seen, query_idx)
            in_batch = seen[np.minimum(pos, len(seen) - 1)] == query_idx if len(seen) else np.zeros(Q, bool)
            out[v, in_batch] = first_label[pos[in_batch]]
            for j in np.flatnonzero(some & ~every & ~in_batch):
                P = np.insert(seen, pos[j], query_idx[j])
                graph = self._oriented(cls, points[P], table[:, P])
                batch_cols = np.delete(np.arange(len(P)), pos[j])
                agree = np.flatnonzero(np.all(graph.vertices[:, batch_cols] == first_label[None, :], axis=1))
                out[v, j] = graph.vertices[graph.head_of(int(agree[0]), int(agree[1])), pos[j]]
        return out

    def expected_error(self, cls: FunctionClass, k: int) -> float:
        check(k >= 0, f"one-inclusion: k must be >= 0, got {k}")
        return cls.vc_dimension / (k + 1)

    def sample_size(self, cls: FunctionClass, eta: float) -> int:
        check(0 < eta < 1, f"one-inclusion: eta must be in (0, 1), got {eta}")
        return pac_sample_size(cls.vc_dimension, eta)
