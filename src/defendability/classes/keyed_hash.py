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

import hashlib
import math
from functools import cached_property

import numpy as np

from ..errors import IncompatibleError, check
from ..registry import register
from ..spaces import Distribution, UniformCube
from .base import CubeDomain, Function, FunctionClass


def _aes_low_bits(aes_key: bytes, x: np.ndarray) -> np.ndarray:
    """Low bit of AES_key(block(x)) for each row of x (uint8 bits, n <= 64)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    x = np.asarray(x, dtype=np.uint8)
    words = np.zeros((len(x), 2), dtype="<u8")
    words[:, 0] = (x.astype(np.uint64) << np.arange(x.shape[1], dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    enc = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
    ciphertext = enc.update(words.tobytes()) + enc.finalize()
    return (np.frombuffer(ciphertext, dtype=np.uint8)[::16] & 1).astype(np.uint8)


class HashFunction(Function):
    """Member ``key`` of a :class:`KeyedHash` class: x -> low bit of AES_{k(key)}(x)."""

    def __init__(self, key: int, n: int, salt: int):
        self.key_index, self.n, self.salt = int(key), int(n), int(salt)

    @cached_property
    def _aes_key(self) -> bytes:
        return hashlib.blake2b(f"{self.salt}:{self.key_index}".encode(), digest_size=16).digest()

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

    FULL_KEY_BITS = 128

    def __init__(self, n: int = 16, keys: int = 0, salt: int = 0):
        check(1 <= n <= 64, f"n must be in [1, 64], got {n}")
        check(keys == 0 or 2 <= keys <= 1 << 16, f"keys must be 0 (all 2^128) or in [2, 65536], got {keys}")
        self.n, self.keys, self.salt = n, keys, salt

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
        return (isinstance(f, HashFunction) and f.n == self.n and f.salt == self.salt
                and 0 <= f.key_index < self.key_space)

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

    @cached_property
    def _table(self) -> np.ndarray | None:
        """Every member's label on every point, ``(keys, 2**n)`` uint8, for n <= 16
        (16 MiB at most); points index the table by their bits read little-endian."""
        if self.n > 16 or self.full:
            return None
        domain = ((np.arange(1 << self.n)[:, None] >> np.arange(self.n)) & 1).astype(np.uint8)
        return np.stack([f(domain) for f in self.members()])

    def _labels(self, X: np.ndarray) -> np.ndarray:
        """All members' labels on the points X: ``(keys, len(X))``."""
        if self._table is not None:
            idx = (np.asarray(X, dtype=np.int64) << np.arange(self.n)).sum(axis=1)
            return self._table[:, idx]
        return np.stack([f(X) for f in self.members()])

    def cheapest_flip(self, f: Function, x: np.ndarray, dist: Distribution) -> Function | None:
        if self.full:
            return None  # a close member, if any existed, would take a search of 2^128 keys
        if self._table is None or not isinstance(dist, UniformCube):
            return super().cheapest_flip(f, x, dist)
        table, own = self._table, self._table[f.key_index]
        flips = self._labels(np.asarray(x)[None])[:, 0] != own[self._index(x)]
        if not flips.any():
            return None
        distances = np.count_nonzero(table != own[None, :], axis=1) / table.shape[1]
        distances[~flips] = np.inf
        return HashFunction(int(np.argmin(distances)), self.n, self.salt)

    def _index(self, x: np.ndarray) -> int:
        return int((np.asarray(x, dtype=np.int64) << np.arange(self.n)).sum())

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> Function:
        if self.full:
            raise IncompatibleError("keyed-hash: exhaustive ERM over 2^128 keys is infeasible; use keys=M for a small class")
        # Exhaustive ERM over all keys: the best any learner of this class can do on the batch.
        labels = self._labels(X)
        errors = np.count_nonzero(labels != np.asarray(Y, dtype=np.uint8)[None, :], axis=1)
        return HashFunction(int(np.argmin(errors)), self.n, self.salt)

    def describe(self) -> dict:
        return {"name": self.name, "n": self.n, "keys": self.keys, "salt": self.salt}
