"""The GGM puncturable pseudorandom function (THEORY.md §5.1).

Goldreich, Goldwasser and Micali (1986) build a PRF from a length-doubling PRG
G(s) = (G_0(s), G_1(s)): F(K, x_1..x_n) walks down a binary tree, s <- K, then
s <- G_{x_i}(s) for each bit, and outputs one bit of the leaf seed. Puncturing at x*
(Boneh–Waters, Boyle–Goldwasser–Ivan, Kiayias et al., 2013) keeps the n seeds hanging
off x*'s path, each with its prefix: every x != x* leaves the path at some first bit i
and is evaluated from the sibling seed stored for prefix x*_1..x*_{i-1}(1 - x*_i); at x*
no stored seed applies, and F(K, x*) stays pseudorandom given the punctured key.

**The punctured key shows x\\* in the clear:** prefix i ends with the complement of
x*_i, so :meth:`PuncturedKey.point` reads x* off the stored prefixes. That is why CHLX
need indistinguishability obfuscation to hide a punctured circuit (THEORY.md §5.3);
the library offers only oracle access and heuristic stand-ins.

The PRG is a standard primitive, never a home-made cipher (``prg=``):

- ``"aes"`` (default): AES-128 with the seed as the key, encrypting the two fixed
  blocks 0 and 1: G_b(s) = AES_s(b). A PRG if AES is a pseudorandom function. Each node
  has its own key, so each node costs one cipher set-up (about 3 us).
- ``"aes-mmo"``: fixed-key AES in Matyas–Meyer–Oseas form, G_b(s) = AES_{k_b}(s) XOR s
  with two public keys k_0, k_1, as in practical GGM-tree implementations (distributed
  point functions, silent OT). Secure if fixed-key AES behaves as a random permutation
  (an ideal-cipher assumption, stronger than the PRF assumption). One key for a whole
  tree level, so a level is one ECB call over all its nodes: the fastest choice.
- ``"sha256"``, ``"blake2b"``: G(s) = H(s) (32 bytes), split into two 16-byte halves
  (``hashlib``); secure if H is a PRG on random 16-byte inputs.

Seeds are 16 bytes (128 bits); the output is the low bit of the leaf seed's first byte.
Points are rows of {0,1}^n (``(size, n)``, 0/1), bit i of a row is x_{i+1}.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..errors import ParameterError, check

#: The PRG choices of :class:`GGM`.
PRGS = ("aes", "aes-mmo", "sha256", "blake2b")

#: Bytes of a key and of every node seed.
SEED_BYTES = 16

#: Largest input length (an input's path is one PRG call per bit).
MAX_N = 1024

# The two plaintext blocks of the "aes" PRG: G_0(s) = AES_s(0^128), G_1(s) = AES_s(0^127 1).
_AES_BLOCKS = bytes(SEED_BYTES) + bytes(SEED_BYTES - 1) + b"\x01"

# The public keys of "aes-mmo", derived from fixed labels (nothing up the sleeve).
_MMO_KEYS = tuple(hashlib.sha256(f"defendability ggm aes-mmo {b}".encode()).digest()[:SEED_BYTES] for b in (0, 1))


class PuncturedPointError(ValueError):
    """A punctured key was asked for its value at the punctured point x*."""


def _aes():
    # imported lazily: `cryptography` loads OpenSSL, which the core need not pay for
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher, algorithms.AES, modes.ECB


def expand(prg: str, seeds: np.ndarray) -> np.ndarray:
    """The PRG on a batch of seeds: ``(k, 16)`` uint8 to ``(k, 2, 16)`` uint8, where
    ``[:, b]`` is G_b(seed)."""
    seeds = np.ascontiguousarray(seeds, dtype=np.uint8)
    k = len(seeds)
    if k == 0:
        return np.zeros((0, 2, SEED_BYTES), dtype=np.uint8)
    if prg == "aes-mmo":
        cipher, aes, ecb = _aes()
        data = seeds.tobytes()
        halves = []
        for key in _MMO_KEYS:
            # one ECB call over every seed of the batch: the key is shared
            enc = cipher(aes(key), ecb()).encryptor()
            halves.append(np.frombuffer(enc.update(data) + enc.finalize(), dtype=np.uint8).reshape(k, SEED_BYTES))
        return np.stack(halves, axis=1) ^ seeds[:, None, :]
    data = seeds.tobytes()
    chunks = [data[i:i + SEED_BYTES] for i in range(0, len(data), SEED_BYTES)]
    if prg == "aes":
        cipher, aes, ecb = _aes()
        mode = ecb()
        # every seed is its own AES key: one cipher set-up per node, nothing to batch
        out = b"".join(cipher(aes(s), mode).encryptor().update(_AES_BLOCKS) for s in chunks)
    elif prg == "sha256":
        sha = hashlib.sha256
        out = b"".join(sha(s).digest() for s in chunks)
    elif prg == "blake2b":
        blake = hashlib.blake2b
        out = b"".join(blake(s, digest_size=2 * SEED_BYTES).digest() for s in chunks)
    else:
        raise ParameterError(f"unknown PRG {prg!r}; choose one of {', '.join(PRGS)}")
    return np.frombuffer(out, dtype=np.uint8).reshape(k, 2, SEED_BYTES)


def descend(prg: str, root: bytes | np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Leaf seeds of the subtree under ``root`` (16 bytes) along the paths ``bits``
    (``(m, L)`` 0/1, one path per row): ``(m, 16)`` uint8.

    Rows that share a prefix share its nodes, and each distinct node is expanded once
    (the top levels of a large batch hold few distinct nodes); once every row sits at
    its own node, the bookkeeping stops. ``L = 0`` returns the root for every row.
    """
    bits = np.asarray(bits, dtype=np.uint8)
    m, depth = bits.shape
    seeds = np.frombuffer(bytes(root), dtype=np.uint8).reshape(1, SEED_BYTES)
    node = np.zeros(m, dtype=np.intp)  # row -> its node in `seeds`
    distinct = m <= 1
    if distinct:
        seeds = np.repeat(seeds, m, axis=0)
    for level in range(depth):
        children = expand(prg, seeds)
        if distinct:
            seeds = children[np.arange(m), bits[:, level]]
            continue
        child = node * 2 + bits[:, level]
        unique, node = np.unique(child, return_inverse=True)
        node = node.reshape(-1)
        seeds = children.reshape(-1, SEED_BYTES)[unique]
        if len(unique) == m:  # every row at its own node from here on
            seeds, distinct = seeds[node], True
    if not distinct:
        seeds = seeds[node]
    return seeds


def as_points(x: np.ndarray, n: int) -> np.ndarray:
    """A batch of points of {0,1}^n as ``(size, n)`` uint8 0/1 (``ParameterError``
    otherwise)."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != n:
        raise ParameterError(f"expected points of shape (size, {n}), got {x.shape}")
    if not bool(np.all((x == 0) | (x == 1))):
        raise ParameterError("points must be 0/1 rows")
    return x.astype(np.uint8, copy=False)


def _check_prg(prg: object) -> None:
    check(isinstance(prg, str) and prg in PRGS, f"ggm: prg must be one of {', '.join(PRGS)}, got {prg!r}")


def _check_n(n: object) -> None:
    check(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and 1 <= n <= MAX_N,
          f"ggm: n must be an integer in [1, {MAX_N}], got {n!r}")


class GGM:
    """The GGM PRF F_K: {0,1}^n -> {0,1} with key ``key`` (16 bytes) and PRG ``prg``.

    ``evaluate(x)``: ``(size, n)`` 0/1 to ``(size,)`` uint8. ``puncture(x_star)``: the
    punctured key K{x*}. ``repr`` never shows the key.
    """

    def __init__(self, key: bytes, n: int, prg: str = "aes"):
        check(isinstance(key, bytes) and len(key) == SEED_BYTES,
              f"ggm: the key must be {SEED_BYTES} bytes, got {type(key).__name__} of length "
              f"{len(key) if hasattr(key, '__len__') else '?'}")
        _check_n(n)
        _check_prg(prg)
        self.key, self.n, self.prg = key, int(n), prg

    def leaf_seeds(self, x: np.ndarray) -> np.ndarray:
        """The leaf seed of each point: ``(size, 16)`` uint8."""
        return descend(self.prg, self.key, as_points(x, self.n))

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """F_K on a batch: ``(size, n)`` 0/1 to ``(size,)`` uint8 (low bit of the leaf seed)."""
        return self.leaf_seeds(x)[:, 0] & np.uint8(1)

    def node_seed(self, prefix: np.ndarray) -> bytes:
        """The seed of the tree node reached by ``prefix`` (0/1, length 0..n)."""
        prefix = np.asarray(prefix, dtype=np.uint8).reshape(1, -1)
        check(prefix.shape[1] <= self.n, f"ggm: a prefix has at most n={self.n} bits, got {prefix.shape[1]}")
        return descend(self.prg, self.key, prefix)[0].tobytes()

    def puncture(self, x_star: np.ndarray) -> PuncturedKey:
        """K{x*}: the n sibling seeds off x*'s path, prefix i being x*_1..x*_{i}(1 - x*_{i+1})
        (0-based: ``x_star[:i]`` then ``1 - x_star[i]``). Costs n PRG calls."""
        x_star = as_points(np.asarray(x_star).reshape(1, -1), self.n)[0]
        seed = np.frombuffer(self.key, dtype=np.uint8).reshape(1, SEED_BYTES)
        siblings = np.empty((self.n, SEED_BYTES), dtype=np.uint8)
        for i, bit in enumerate(x_star.tolist()):
            children = expand(self.prg, seed)[0]
            siblings[i] = children[1 - bit]
            seed = children[bit][None]
        prefixes = [np.concatenate([x_star[:i], [1 - x_star[i]]]).astype(np.uint8) for i in range(self.n)]
        return PuncturedKey(prefixes, siblings, self.prg)

    def __eq__(self, other: object) -> bool:
        return (type(other) is GGM and self.key == other.key and self.n == other.n  # type: ignore[attr-defined]
                and self.prg == other.prg)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.key, self.n, self.prg))

    def __repr__(self) -> str:
        return f"GGM(n={self.n}, prg={self.prg!r})"  # never the key


def prefix_error(prefixes: list[np.ndarray]) -> str | None:
    """Why ``prefixes`` (1-D uint8 arrays) are not the prefixes of a punctured key, or
    ``None``: prefix i must have i + 1 bits, all 0/1, and be x*[:i] then 1 - x*[i] for one
    point x* (:func:`prefix_point`). Checked by the constructor of :class:`PuncturedKey`,
    and again by membership checks (the stored fields can be rebound after it)."""
    if not all(len(p) == i + 1 for i, p in enumerate(prefixes)):
        return "prefix i must have i + 1 bits"
    if not all(bool(np.all(p <= 1)) for p in prefixes):
        return "prefixes must be 0/1"
    x_star = prefix_point(prefixes)
    if not all(np.array_equal(p[:-1], x_star[:i]) for i, p in enumerate(prefixes)):
        return "the prefixes do not branch off one path (prefix i must be x*[:i] then 1 - x*[i])"
    return None


def prefix_point(prefixes: list[np.ndarray]) -> np.ndarray:
    """x* read off the prefixes of a punctured key (each ends with the complement of x*'s
    bit there): ``(n,)`` uint8, for prefixes that pass :func:`prefix_error`."""
    return np.array([1 - p[-1] for p in prefixes], dtype=np.uint8)


class PuncturedKey:
    """K{x*}: ``prefixes[i]`` (``(i + 1,)`` uint8, the path x* takes for i bits, then the
    other branch) and ``seeds[i]`` (16 bytes, the node at that prefix), i = 0..n-1.

    ``evaluate(x)`` agrees with F_K at every x != x* and raises
    :class:`PuncturedPointError` at x*. ``point()`` reads x* off the prefixes. The
    constructor checks that the prefixes are those of one point (``ParameterError``).
    """

    def __init__(self, prefixes: list[np.ndarray], seeds: np.ndarray, prg: str = "aes"):
        _check_prg(prg)
        prefixes = [np.array(p, dtype=np.uint8).reshape(-1) for p in prefixes]
        n = len(prefixes)
        _check_n(n)
        seeds = np.array(seeds, dtype=np.uint8)
        check(seeds.shape == (n, SEED_BYTES), f"punctured key: expected {n} seeds of {SEED_BYTES} bytes, "
                                              f"got an array of shape {seeds.shape}")
        error = prefix_error(prefixes)
        check(error is None, f"punctured key: {error}")
        x_star = prefix_point(prefixes)
        for p in prefixes:
            p.setflags(write=False)
        seeds.setflags(write=False)
        x_star.setflags(write=False)
        self.prefixes, self.seeds, self.prg, self.n = tuple(prefixes), seeds, prg, n
        self._x_star = x_star

    def point(self) -> np.ndarray:
        """x*, recovered from the stored prefixes (each ends with the complement of x*'s
        bit there): ``(n,)`` uint8. Anyone holding the key can do this."""
        return self._x_star.copy()

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """F_K off x*: ``(size, n)`` 0/1 to ``(size,)`` uint8; :class:`PuncturedPointError`
        if a row is x*."""
        x = as_points(x, self.n)
        leaves_at = x != self._x_star[None, :]
        on_path = ~leaves_at.any(axis=1)
        if on_path.any():
            raise PuncturedPointError(f"the punctured key cannot evaluate at its punctured point x* "
                                      f"(row {int(np.flatnonzero(on_path)[0])} of the batch)")
        first = np.argmax(leaves_at, axis=1)  # the level where each row leaves x*'s path
        out = np.empty(len(x), dtype=np.uint8)
        for i in np.unique(first).tolist():
            rows = np.flatnonzero(first == i)
            # x leaves at bit i: start from the sibling stored for prefix i, walk the rest
            out[rows] = descend(self.prg, self.seeds[i].tobytes(), x[rows, i + 1:])[:, 0] & np.uint8(1)
        return out

    def __eq__(self, other: object) -> bool:
        return (type(other) is PuncturedKey and self.prg == other.prg and self.n == other.n  # type: ignore[attr-defined]
                and np.array_equal(self.seeds, other.seeds)  # type: ignore[attr-defined]
                and np.array_equal(self._x_star, other._x_star))  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.prg, self.seeds.tobytes(), self._x_star.tobytes()))

    def __repr__(self) -> str:
        return f"PuncturedKey(n={self.n}, prg={self.prg!r})"  # neither the seeds nor the point
