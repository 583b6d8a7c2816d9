"""The expensive predicate of mode ``predicate`` (a variant the motivating post proposes).

The post: "require the backdoor trigger to satisfy some formal predicate that is
expensive to check, but otherwise allow the attacker to choose the backdoor trigger".
Our choice of predicate (``docs/variants.md``): for a salt s the referee draws after the
attacker has fixed D and f,

    P_s(x) = [ the first z bits of SHA-256^T(s || bytes(x)) are zero ],

where bytes(x) is the point as little-endian float64 (exact for the integer and
float points of every class) and SHA-256^T is T iterated applications. Checking P on one
point costs T hashes; finding a point that satisfies it costs about 2^z checks, so z
sets how much choice the attacker keeps (z = 0: every point, the chosen-trigger game the
post calls indefensible; large z: about one point in 2^z, a trigger close to random)
and T what every check costs. The salt is drawn after setup so that the attacker cannot
pick D or f around a predicate it already knows, in the order of the paper's game (f
first, then the randomness, then f*).

``Predicate`` is a batch interface and counts its work in hash applications, in a
closure as :class:`~defendability.spaces.Sampler` does; the referee hands each player a
fresh copy, so what one player spends is counted for that player alone.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .errors import check
from .rules import MAX_PREDICATE_BITS, MAX_PREDICATE_ITERATIONS

#: Bytes of the salt the referee draws per round.
SALT_BYTES = 16


def point_bytes(point: np.ndarray) -> bytes:
    """The canonical encoding of one point: its values as little-endian float64."""
    return np.ascontiguousarray(np.asarray(point, dtype="<f8")).tobytes()


class Predicate:
    """P_s(x): z leading zero bits after T iterations of SHA-256 on the salt and the point.

    ``salt``: ``SALT_BYTES`` bytes; ``iterations``: T >= 1; ``bits``: z in [0, 30].
    Calling it on a batch ``(size, *point_shape)`` returns ``(size,)`` bools and adds
    ``size * T`` to :attr:`hashes` (nothing when z = 0: every point satisfies it).
    """

    def __init__(self, salt: bytes, iterations: int, bits: int):
        check(type(salt) is bytes and len(salt) == SALT_BYTES, f"the salt must be {SALT_BYTES} bytes")
        check(type(iterations) is int and 1 <= iterations <= MAX_PREDICATE_ITERATIONS,
              f"iterations must be an integer in [1, {MAX_PREDICATE_ITERATIONS}], got {iterations!r}")
        check(type(bits) is int and 0 <= bits <= MAX_PREDICATE_BITS,
              f"bits must be an integer in [0, {MAX_PREDICATE_BITS}], got {bits!r}")
        self.salt, self.iterations, self.bits = salt, iterations, bits
        count = [0]

        def add(n: int) -> None:
            count[0] += n

        self._add, self._count = add, lambda: count[0]

    @property
    def hashes(self) -> int:
        """Hash applications spent through this copy."""
        return self._count()

    @property
    def density(self) -> float:
        """The fraction of points that satisfy P, for a hash that behaves randomly: 2^-z."""
        return 2.0 ** -self.bits

    def fresh(self) -> "Predicate":
        """A copy with its own count at zero (what the referee hands a player)."""
        return Predicate(self.salt, self.iterations, self.bits)

    def digest(self, point: np.ndarray) -> bytes:
        """SHA-256^T(salt || bytes(point)) (not counted: for tests and the docs)."""
        h = hashlib.sha256(self.salt + point_bytes(point)).digest()
        for _ in range(self.iterations - 1):
            h = hashlib.sha256(h).digest()
        return h

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points)
        check(points.ndim >= 1, "the predicate takes a batch of points (size, *point_shape)")
        if self.bits == 0:  # every point satisfies it: nothing to compute, nothing counted
            return np.ones(len(points), dtype=bool)
        self._add(len(points) * self.iterations)
        whole, rest = divmod(self.bits, 8)
        out = np.empty(len(points), dtype=bool)
        for i, point in enumerate(points):
            h = self.digest(point)
            out[i] = h[:whole] == bytes(whole) and (rest == 0 or h[whole] >> (8 - rest) == 0)
        return out

    def __reduce__(self) -> tuple:
        # travels to a player's process as its parameters; the copy there counts from zero
        return (Predicate, (self.salt, self.iterations, self.bits))

    def __repr__(self) -> str:
        return f"Predicate(T={self.iterations}, z={self.bits})"
