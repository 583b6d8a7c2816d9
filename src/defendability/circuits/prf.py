"""A GGM PRF as a circuit, and its punctured (backdoored) twin (THEORY.md §3, §5.1, §5.2).

The PRG is Goldreich's local PRG in NC0: output bit j of G(s), s in {0,1}^lam, is the
predicate P(a, b, c, d, e) = a XOR b XOR c XOR (d AND e) on the five seed bits named by
row j of a fixed public 5-hypergraph (``(2 lam, 5)`` distinct indices per row, drawn
from a public seed). G doubles the length: G_0(s) is output bits 0..lam-1, G_1(s) bits
lam..2 lam-1. The PRF is GGM over G: s <- K (lam key bits), s <- G_{x_i}(s) for
i = 1..n, output s[0].

**Demonstration grade.** Goldreich's PRG is conjectured secure for a random hypergraph
and a large seed; with lam = 64 and stretch 2 it is a teaching-size instance, far below
any security parameter anyone would deploy (attacks on small local PRGs by algebraic
and linearisation methods are known). It is here because it makes a small circuit of
the right shape (NC0 levels, a key in constant wires, a tree walk), not because it is
secure. The keyed primitive with real guarantees is :mod:`defendability.crypto.ggm`
(AES or SHA-256), played as an oracle.

Three things in this module compute the same function F_K:

- :meth:`GoldreichGGM.evaluate`, the numpy reference;
- :func:`prf_circuit`, the netlist: the key in lam constant wires, each level computes
  both halves of G (4 gates per output bit) and MUXes them by x_i (the last level
  computes only the bit the output needs), ``9 lam (n - 1) + 9`` gates;
- :func:`punctured_circuit`, the backdoored netlist of CHLX: it holds no key, only the
  n sibling seeds of x*'s path (constant wires), a "still on x*'s path" flag, and the
  hard-coded flipped output 1 - F_K(x*). It equals F_K everywhere except at x*, where
  it outputs the flipped bit. ``3 n + 10 lam (n - 2) + 11`` gates (n >= 2), independent
  of x*, so the size of f* is known before the trigger is drawn; it is larger than f
  (size is a tell unless both are padded to one size).

Points are rows of {0,1}^n, ``(size, n)`` uint8; input wire i is x_{i+1}.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import check
from .netlist import Circuit, CircuitBuilder

#: Default seed length of the local PRG: a 32-level circuit stays under 20,000 gates.
DEFAULT_LAM = 64

#: Smallest input length and seed length the circuits support.
MIN_N, MIN_LAM = 8, 16

#: Largest input length and seed length (a netlist of about 10 lam n gates).
MAX_N, MAX_LAM = 256, 1024

#: Arity of Goldreich's predicate.
ARITY = 5


@functools.lru_cache(maxsize=32)
def goldreich_graph(lam: int, graph_seed: int = 0) -> np.ndarray:
    """The public hypergraph: ``(2 lam, 5)`` int64, row j the five distinct seed bits
    output bit j reads (a, b, c, d, e in that order). Drawn from ``graph_seed`` (public),
    read-only and memoised."""
    check(isinstance(lam, int) and MIN_LAM <= lam <= MAX_LAM, f"goldreich: lam must be in [{MIN_LAM}, {MAX_LAM}], got {lam}")
    rng = np.random.default_rng(np.random.SeedSequence(graph_seed, spawn_key=(lam,)))
    # five distinct indices per row: the first five of a random permutation of 0..lam-1
    graph = np.argsort(rng.random((2 * lam, lam)), axis=1)[:, :ARITY].astype(np.int64)
    graph.setflags(write=False)
    return graph


def goldreich_prg(seeds: np.ndarray, graph: np.ndarray) -> np.ndarray:
    """G on a batch of seeds: ``(m, lam)`` 0/1 to ``(m, 2 lam)`` uint8, bit j =
    a ^ b ^ c ^ (d & e) on the seed bits ``graph[j]``."""
    v = np.asarray(seeds, dtype=np.uint8)[:, graph]  # (m, 2 lam, 5)
    return v[..., 0] ^ v[..., 1] ^ v[..., 2] ^ (v[..., 3] & v[..., 4])


class GoldreichGGM:
    """The PRF F_K: {0,1}^n -> {0,1}, GGM over Goldreich's PRG (demonstration grade).

    ``key``: ``(lam,)`` 0/1 (the secret); ``n``: input bits; ``graph_seed``: the public
    hypergraph's seed. ``repr`` never shows the key.
    """

    def __init__(self, key: np.ndarray, n: int, graph_seed: int = 0):
        key = np.array(key, dtype=np.int64).reshape(-1)
        check(MIN_LAM <= len(key) <= MAX_LAM, f"goldreich ggm: the key must have lam in [{MIN_LAM}, {MAX_LAM}] bits, "
                                              f"got {len(key)}")
        check(bool(np.all((key == 0) | (key == 1))), "goldreich ggm: the key must be 0/1")
        check(isinstance(n, int) and not isinstance(n, bool) and MIN_N <= n <= MAX_N,
              f"goldreich ggm: n must be an integer in [{MIN_N}, {MAX_N}], got {n!r}")
        check(isinstance(graph_seed, int) and graph_seed >= 0, f"goldreich ggm: graph_seed must be an integer >= 0, "
                                                                f"got {graph_seed!r}")
        key = key.astype(np.uint8)
        key.setflags(write=False)
        self.key, self.n, self.graph_seed = key, n, graph_seed

    @classmethod
    def random(cls, n: int, lam: int, rng: np.random.Generator, graph_seed: int = 0) -> GoldreichGGM:
        """A key of lam uniform bits drawn from ``rng``."""
        return cls(rng.integers(0, 2, size=lam, dtype=np.uint8), n, graph_seed)

    @property
    def lam(self) -> int:
        return len(self.key)

    @property
    def graph(self) -> np.ndarray:
        return goldreich_graph(self.lam, self.graph_seed)

    def _points(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        check(x.ndim == 2 and x.shape[1] == self.n, f"expected points of shape (size, {self.n}), got {x.shape}")
        check(bool(np.all((x == 0) | (x == 1))), "points must be 0/1 rows")
        return x.astype(np.uint8, copy=False)

    def leaf_seeds(self, x: np.ndarray) -> np.ndarray:
        """The leaf seed of each point: ``(size, n)`` 0/1 to ``(size, lam)`` uint8."""
        x = self._points(x)
        lam, graph = self.lam, self.graph
        s = np.broadcast_to(self.key, (len(x), lam))
        for i in range(self.n):
            g = goldreich_prg(s, graph)
            s = np.where(x[:, i:i + 1] == 1, g[:, lam:], g[:, :lam])
        return np.asarray(s, dtype=np.uint8)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """F_K on a batch: ``(size, n)`` 0/1 to ``(size,)`` uint8 (bit 0 of the leaf seed)."""
        return self.leaf_seeds(x)[:, 0].copy()

    def siblings(self, x_star: np.ndarray) -> np.ndarray:
        """The punctured key's seeds: row i is the node at x*[:i] then 1 - x*[i],
        ``(n, lam)`` uint8."""
        x_star = self._points(np.asarray(x_star).reshape(1, -1))[0]
        lam, graph = self.lam, self.graph
        s = self.key[None]
        out = np.empty((self.n, lam), dtype=np.uint8)
        for i, bit in enumerate(x_star.tolist()):
            g = goldreich_prg(s, graph)[0]
            halves = (g[:lam], g[lam:])
            out[i] = halves[1 - bit]
            s = halves[bit][None]
        return out

    def __repr__(self) -> str:
        return f"GoldreichGGM(n={self.n}, lam={self.lam}, graph_seed={self.graph_seed})"  # never the key


def _predicate(bld: CircuitBuilder, s: list[int], edge: np.ndarray) -> int:
    """a ^ b ^ c ^ (d & e) on the wires ``s[edge]``: 4 gates."""
    a, b, c, d, e = (s[int(k)] for k in edge)
    return bld.xor(bld.xor(bld.xor(a, b), c), bld.and_(d, e))


def _level(bld: CircuitBuilder, s: list[int], graph: np.ndarray, select: int, bits: list[int]) -> list[int]:
    """One GGM step on the seed wires ``s``: for each wanted bit j of the next seed, the
    MUX by input wire ``select`` of G_1(s)[j] and G_0(s)[j] (9 gates per bit)."""
    lam = len(s)
    g0 = [_predicate(bld, s, graph[j]) for j in bits]
    g1 = [_predicate(bld, s, graph[lam + j]) for j in bits]
    return [bld.mux(select, one, zero) for zero, one in zip(g0, g1)]


def prf_circuit(prf: GoldreichGGM) -> Circuit:
    """The netlist of F_K: n inputs, one output, ``9 lam (n - 1) + 9`` gates. The key
    sits in constant wires read by the first level's gates."""
    bld = CircuitBuilder(prf.n)
    lam, graph = prf.lam, prf.graph
    s = [bld.const(int(b)) for b in prf.key]
    for i in range(prf.n):
        # the output is bit 0 of the last seed: the last level computes only that bit
        s = _level(bld, s, graph, bld.input(i), [0] if i == prf.n - 1 else list(range(lam)))
    return bld.build([s[0]])


def punctured_circuit(prf: GoldreichGGM, x_star: np.ndarray) -> Circuit:
    """The backdoored netlist: F_K off x*, the flipped bit 1 - F_K(x*) at x*.

    It holds the n sibling seeds of x*'s path and x* itself in constant wires, not K.
    Wires: ``p`` = "x has followed x* so far" (p_0 = 1); at level i,
    ``leave = p AND (x_i XOR x*_i)`` (x leaves the path here), ``p <- p XOR leave``; the
    seed becomes the stored sibling i where x leaves, else G_{x_i}(seed) (on the path the
    seed is meaningless and the flag masks it at the end); the output is the flipped bit
    where p is still 1, else bit 0 of the seed. Level 0 needs no PRG: off the path after
    one bit, the seed is sibling 0. ``3 n + 10 lam (n - 2) + 11`` gates, whatever x*.
    """
    x_star = prf._points(np.asarray(x_star).reshape(1, -1))[0]
    siblings = prf.siblings(x_star)
    flipped = 1 - int(prf.evaluate(x_star[None])[0])
    n, lam, graph = prf.n, prf.lam, prf.graph
    bld = CircuitBuilder(n)
    p = bld.const(1)
    s: list[int] = []
    for i in range(n):
        x_i = bld.input(i)
        leave = bld.and_(p, bld.xor(x_i, bld.const(int(x_star[i]))))
        p = bld.xor(p, leave)  # p AND NOT (x_i XOR x*_i)
        bits = [0] if i == n - 1 else list(range(lam))
        if i == 0:
            # on the path the seed is never used, so sibling 0 serves for both branches
            s = [bld.const(int(siblings[0][j])) for j in bits]
            continue
        stepped = _level(bld, s, graph, x_i, bits)
        s = [bld.mux(leave, bld.const(int(siblings[i][j])), w) for j, w in zip(bits, stepped)]
    out = bld.mux(p, bld.const(flipped), s[0])
    return bld.build([out])


def prf_gate_count(n: int, lam: int) -> int:
    """Gates of :func:`prf_circuit` for these parameters."""
    return 9 * lam * (n - 1) + 9


def punctured_gate_count(n: int, lam: int) -> int:
    """Gates of :func:`punctured_circuit` for these parameters (the same for every x*)."""
    return 3 * n + 10 * lam * (n - 2) + 11
