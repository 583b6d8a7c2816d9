"""Keyed-hash functions: the random-oracle separation of CHLX (THEORY.md §3).

The class {x -> H(K || x) : K} for a random oracle H has members about 1/2 apart, so
no epsilon-close backdoor exists for small epsilon (the class is trivially defendable),
yet no learner beats accuracy 1/2 on unseen inputs. We stand in a standard keyed
primitive for H: member K maps x in {0,1}^n to the low bit of AES-128 under the key
BLAKE2b(salt || K) applied to x packed into one 16-byte block. AES is a pseudorandom
permutation, hence a pseudorandom function on distinct blocks; this is an assumption
standing in for the random oracle, not the oracle itself.
"""

from __future__ import annotations

import functools
import hashlib
import math

import numpy as np

from ..errors import IncompatibleError, check
from ..registry import register
from ..spaces import Distribution, UniformCube
from .base import (
    CubeDomain,
    Function,
    FunctionClass,
    exact_member,
    lightest_flip,
    row_blocks,
    unwrap,
)
from .parities import as_bit_rows

#: Most cells (members x points of the cube) of the member table: 16 MiB of labels.
MAX_TABLE_CELLS = 1 << 24


def _aes_low_bits(aes_key: bytes, x: np.ndarray) -> np.ndarray:
    """Low bit of AES_key(block(x)) for each row of x (uint8 bits, n <= 64)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    x = np.asarray(x, dtype=np.uint8)
    words = np.zeros((len(x), 2), dtype="<u8")
    words[:, 0] = (x.astype(np.uint64) << np.arange(x.shape[1], dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    enc = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
    ciphertext = enc.update(words.tobytes()) + enc.finalize()
    return (np.frombuffer(ciphertext, dtype=np.uint8)[::16] & 1).astype(np.uint8)


@functools.lru_cache(maxsize=4096)
def aes_key(salt: int, key: int) -> bytes:
    """The AES-128 key of member ``key``: BLAKE2b(salt:key), 16 bytes."""
    return hashlib.blake2b(f"{salt}:{key}".encode(), digest_size=16).digest()


@functools.lru_cache(maxsize=4)
def _member_table(n: int, keys: int, salt: int) -> np.ndarray:
    """The labels of members 0..keys-1 on all of {0,1}^n, ``(keys, 2**n)``, read-only."""
    domain = ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)
    table = np.stack([HashFunction(k, n, salt)(domain) for k in range(keys)])
    table.setflags(write=False)
    return table


class HashFunction(Function):
    """Member ``key`` of a :class:`KeyedHash` class: x -> low bit of AES_{k(key)}(x).

    Representation: ``key_index``, ``n``, ``salt`` (ints). The AES key is derived from
    them at each evaluation (memoised by :func:`aes_key`, not stored on the member), so
    the function cannot differ from what its representation says.
    """

    def __init__(self, key: int, n: int, salt: int):
        self.key_index, self.n, self.salt = int(key), int(n), int(salt)

    @property
    def _aes_key(self) -> bytes:
        return aes_key(self.salt, self.key_index)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ValueError(f"keyed-hash member expects points of shape (size, {self.n}), got {x.shape}")
        return _aes_low_bits(self._aes_key, x)

    def key(self) -> tuple:
        return ("HashFunction", self.key_index, self.n, self.salt)


@register("classes", "keyed-hash")
class KeyedHash(CubeDomain, FunctionClass):
    """Keyed-hash functions on {0,1}^n: members about 1/2 apart (random-oracle separation).

    ``keys = 0`` (the default) gives the full class of 2^128 keys: no learner that runs
    in reasonable time beats accuracy 1/2 on it, and finding a close member would mean
    searching the key space, so ``cheapest_flip`` finds none. ``keys = M`` (2..65536)
    gives a small class of M members, indexed 0..M-1, enumerable: exhaustive ERM
    learns it from about log2(M) examples, which shows that the separation is
    computational (CHLX's class is statistically learnable, with VC dimension at most
    the key length, but not efficiently). The VC dimension is not known exactly;
    ``vc_dimension`` reports the counting bound floor(log2(number of keys)), and the
    class has no known shattered set, so `shatter` and `mixture` do not apply.
    """

    test_spec = "keyed-hash:n=6,keys=8"

    FULL_KEY_BITS = 128

    def __init__(self, n: int = 16, keys: int = 0, salt: int = 0):
        check(1 <= n <= 64, f"keyed-hash: n must be in [1, 64], got n={n}")
        check(keys == 0 or 2 <= keys <= 1 << 16,
              f"keyed-hash: keys must be 0 (all 2^128) or in [2, 65536], got keys={keys}")
        self.n, self.keys, self.salt = int(n), int(keys), int(salt)

    @property
    def full(self) -> bool:
        return self.keys == 0

    @property
    def key_space(self) -> int:
        return (1 << self.FULL_KEY_BITS) if self.full else self.keys

    @property
    def vc_dimension(self) -> int:
        return self.FULL_KEY_BITS if self.full else int(math.floor(math.log2(self.keys)))

    def shattered_set(self) -> np.ndarray:
        raise IncompatibleError("keyed-hash: no shattered set is known (only the counting bound on the VC dimension)")

    def realise(self, points: np.ndarray, labels: np.ndarray) -> Function:
        raise IncompatibleError("keyed-hash: cannot realise a prescribed labelling")

    def contains(self, f: Function) -> bool:
        """A :class:`HashFunction` exactly (no subclass; a :class:`Counted` view is
        unwrapped) with integer ``key_index``, ``n``, ``salt``: this class's n and salt,
        and a key index in [0, number of keys)."""
        f = exact_member(f, HashFunction)
        return (f is not None and type(f.key_index) is int and type(f.n) is int and type(f.salt) is int
                and f.n == self.n and f.salt == self.salt and 0 <= f.key_index < self.key_space)

    def random_member(self, rng: np.random.Generator) -> Function:
        if self.full:
            key = int.from_bytes(rng.bytes(self.FULL_KEY_BITS // 8), "little")
        else:
            key = int(rng.integers(self.keys))
        return HashFunction(key, self.n, self.salt)

    def members(self):
        if self.full:
            return None
        return (HashFunction(k, self.n, self.salt) for k in range(self.keys))

    def size(self) -> int:
        return self.key_space

    @property
    def _table(self) -> np.ndarray | None:
        """Every member's label on every point, ``(keys, 2**n)`` uint8, read-only, built
        only when keys * 2**n <= 2**24 (so at most 16 MiB), else ``None`` (the untabled
        path evaluates the members on the points it needs). Points index the table by
        their bits read little-endian. Cached per class value, not per instance: the
        referee hands every player a fresh copy of the class each round."""
        if self.full or self.keys << self.n > MAX_TABLE_CELLS:
            return None
        return _member_table(self.n, self.keys, self.salt)

    def _labels(self, X: np.ndarray, keys: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The labels of members ``keys`` (default all) on the points X: ``(len(keys), len(X))``."""
        X = as_bit_rows(X, self.n)
        indices = np.arange(self.keys)[keys]
        if self._table is not None:
            return self._table[np.ix_(indices, self._index(X))]
        out = np.zeros((len(indices), len(X)), dtype=np.uint8)
        for row, k in enumerate(indices):
            out[row] = HashFunction(int(k), self.n, self.salt)(X)
        return out

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> Function | None:
        """The exhaustive search (:func:`lightest_flip`) over the keys on ``dist``'s
        finite support: the first key of least distance to f among those that flip x;
        ``None`` if no key flips x, without a finite support, or for the full class
        (2^128 keys). Labels come from the member table when the class keeps one (the
        uniform cube's support is the table's columns), else from evaluating the keys
        on the support. A uniform cube of another n than the class's raises
        ``ValueError``."""
        if isinstance(dist, UniformCube) and not self._is_cube(dist):
            raise ValueError(f"keyed-hash: the distribution is uniform on {{0,1}}^{dist.n}, "
                             f"but the class's points are in {{0,1}}^{self.n}")
        if self.full:
            return None  # a close member, if any existed, would take a search of 2^128 keys
        support = dist.support()
        if support is None:
            return None
        f = unwrap(f)
        points, probs = support
        points = as_bit_rows(points, self.n)
        x = as_bit_rows(np.asarray(x).reshape(1, -1), self.n)
        flippers = np.flatnonzero(self._labels(x)[:, 0] != f(x)[0])
        if self._table is not None and self._is_cube(dist):
            # the cube's support lists the points in table order: read the rows directly
            table = self._table
            own = table[f.key_index] if self.contains(f) else f(points)
            blocks = (table[flippers[rows]] for rows in row_blocks(len(flippers), len(points)))
        else:
            own = f(points)
            blocks = (self._labels(points, flippers[rows]) for rows in row_blocks(len(flippers), len(points)))
        best = lightest_flip(blocks, own, probs)
        return None if best is None else HashFunction(int(flippers[best]), self.n, self.salt)

    def _index(self, X: np.ndarray) -> np.ndarray:
        """The table column of each row of X: its bits read little-endian."""
        return (np.asarray(X, dtype=np.int64) << np.arange(self.n)).sum(axis=1)

    def has_erm(self) -> bool:
        """Exhaustive ERM over the keys: for a small class (``keys=M``) only."""
        return not self.full

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> Function:
        if self.full:
            raise IncompatibleError("keyed-hash: exhaustive ERM over 2^128 keys is infeasible; use keys=M for a small class")
        # Exhaustive ERM over all keys: the best any learner of this class can do on the batch.
        labels = self._labels(X)
        errors = np.count_nonzero(labels != np.asarray(Y, dtype=np.uint8)[None, :], axis=1)
        return HashFunction(int(np.argmin(errors)), self.n, self.salt)
