"""PRF oracles: GGM functions handed to defenders as black boxes (THEORY.md §5.3).

The oracle mode of the circuit lower bound of CHLX: a member is x -> F_K(x) for a GGM
puncturable PRF (:mod:`defendability.crypto.ggm`, AES or SHA-256 inside), or its
backdoor x -> F_K(x) XOR [x = x*] evaluated from the punctured key K{x*} with the bit
at x* hard-coded. The defender may only query the function. This is the mode with real
guarantees: by punctured-PRF security, (f*, x*) and (f, x) are computationally
indistinguishable to every query-only defender, so each sits at a coin flip
(prediction P9).
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..crypto.ggm import (
    GGM,
    MAX_N,
    PRGS,
    SEED_BYTES,
    PuncturedKey,
    as_points,
    prefix_error,
    prefix_point,
)
from ..errors import IncompatibleError, check
from ..registry import register
from ..spaces import Distribution
from .base import (
    CubeDomain,
    Function,
    FunctionClass,
    exact_member,
    is_array,
    shadows_behaviour,
    unwrap,
)


class PRFOracle(Function):
    """x -> F_K(x): a GGM PRF as an opaque oracle.

    The key is held privately (``_prf``) and shown nowhere: not in ``repr``, and
    ``key()`` (equality) uses a SHA-256 digest of it. Python cannot stop a defender from
    reading private attributes; oracle mode is the rule that it does not (the referee's
    defenders only call the function). Public attributes: ``n``, ``prg``.
    Batch ``(size, n)`` of 0/1 rows to ``(size,)`` uint8.
    """

    def __init__(self, prf: GGM):
        check(type(prf) is GGM, f"a PRF oracle needs a GGM key, got {type(prf).__name__}")
        self._prf = prf

    @property
    def n(self) -> int:
        return self._prf.n

    @property
    def prg(self) -> str:
        return self._prf.prg

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._prf.evaluate(x)

    def key(self) -> tuple:
        digest = hashlib.sha256(self._prf.key).hexdigest()
        return ("PRFOracle", self.n, self.prg, digest)

    def __repr__(self) -> str:
        return f"PRFOracle(n={self.n}, prg={self.prg!r})"


class PuncturedPRFOracle(Function):
    """x -> F_K(x) for x != x*, ``bit`` at x*: evaluated from the punctured key K{x*}.

    With ``bit = 1 - F_K(x*)`` this is the backdoor f* = f XOR [x = x*] of the
    ``prf-flip`` attacker. The punctured key (which shows x* in the clear) is held
    privately (``_key``); ``repr`` shows neither it nor x*. Public attributes: ``n``,
    ``prg``. Batch ``(size, n)`` of 0/1 rows to ``(size,)`` uint8.
    """

    def __init__(self, punctured: PuncturedKey, bit: int):
        check(type(punctured) is PuncturedKey, f"a punctured PRF oracle needs a PuncturedKey, "
                                               f"got {type(punctured).__name__}")
        check(bit in (0, 1) and not isinstance(bit, bool), f"the bit at x* must be 0 or 1, got {bit!r}")
        self._key, self._bit = punctured, int(bit)

    @property
    def n(self) -> int:
        return self._key.n

    @property
    def prg(self) -> str:
        return self._key.prg

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = as_points(x, self.n)
        at_star = np.all(x == self._key.point()[None, :], axis=1)
        out = np.full(len(x), self._bit, dtype=np.uint8)
        if not at_star.all():
            out[~at_star] = self._key.evaluate(x[~at_star])
        return out

    def key(self) -> tuple:
        k = self._key
        h = hashlib.sha256(k.seeds.tobytes() + k.point().tobytes())
        return ("PuncturedPRFOracle", self.n, self.prg, self._bit, h.hexdigest())

    def __repr__(self) -> str:
        return f"PuncturedPRFOracle(n={self.n}, prg={self.prg!r})"


@register("classes", "prf-oracles")
class PRFOracles(CubeDomain, FunctionClass):
    """GGM PRF oracles on {0,1}^n and their one-point flips (black-box access only).

    Members: :class:`PRFOracle` (F_K, any 128-bit key, any PRG of
    :data:`defendability.crypto.ggm.PRGS`) and :class:`PuncturedPRFOracle` (F_K off a
    point, a chosen bit there). Default distribution: uniform on {0,1}^n.

    ``exact_distance`` under the uniform cube: 0 for two oracles of one key (or one
    punctured key with one bit), 2^-n when one is the other's puncturing with the bit at
    x* flipped (checked by recomputing the puncturing from the key), else ``None`` (the
    referee estimates). There is no known shattered set and no way to realise a
    prescribed labelling, so ``shattered_set`` and ``realise`` raise
    :class:`IncompatibleError` (the shattering attackers do not apply);
    ``random_member`` draws a key with the AES PRG.

    ``vc_dimension`` = 128 + n is the counting bound floor(log2 |F_0|) of the family the
    game plays, F_0 = the 2^128 functions F_K of one PRG and their 2^n one-point flips
    F_K XOR [x = x*] (each flip from K's own puncturing): an upper bound on the VC
    dimension of F_0, reported as the class's d (the eps*d axis of sweeps and reports,
    THEORY.md §2) because no shattered set, hence no lower bound, is known. It is *not*
    an upper bound for the class ``contains`` accepts, which is larger: a punctured key
    there may hold any n sibling seeds, not only a key's puncturing, and any of the
    PRGs, so its counting bound is about 129 n + 3 (2^(128 n) seed tuples, 2^n points,
    two bits); its true VC dimension is not known.
    """

    test_spec = "prf-oracles:n=8"

    KEY_BITS = 8 * SEED_BYTES

    def __init__(self, n: int = 32):
        check(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_N,
              f"prf-oracles: n must be an integer in [1, {MAX_N}], got n={n!r}")
        self.n = n

    @property
    def vc_dimension(self) -> int:
        # |F_0| = 2^128 (2^n + 1) for the keys and their one-point flips (class doc):
        # floor(log2 |F_0|) = 128 + n, not a bound for every member contains accepts
        return self.KEY_BITS + self.n

    def shattered_set(self) -> np.ndarray:
        raise IncompatibleError("prf-oracles: no shattered set is known (vc_dimension is only the counting bound); "
                                "the shattering attackers do not apply, use prf-flip")

    def realise(self, points: np.ndarray, labels: np.ndarray) -> Function:
        raise IncompatibleError("prf-oracles: a PRF cannot be made to take prescribed labels (that would break it); "
                                "use random_member or prf-flip")

    def contains(self, f: Function) -> bool:
        """A :class:`PRFOracle` of a :class:`GGM` with this n, or a
        :class:`PuncturedPRFOracle` of a :class:`PuncturedKey` with this n and a 0/1 bit
        (exact types; a ``Counted`` view is unwrapped).

        The nested key is checked as it stands: its exact type, no instance attribute
        hiding one of its methods (``prf.evaluate = ...``), and stored fields of the
        stated types (a GGM key of 16 bytes; a punctured key's read-only uint8 prefixes,
        seeds and point, the point the one its prefixes branch off: a rebound ``_x_star``
        would evaluate a function the prefixes do not describe).
        """
        g = exact_member(f, PRFOracle)
        if g is not None:
            return self._is_ggm(vars(g).get("_prf"))
        g = exact_member(f, PuncturedPRFOracle)
        if g is not None:
            bit = vars(g).get("_bit")
            return type(bit) is int and bit in (0, 1) and self._is_punctured_key(vars(g).get("_key"))
        return False

    def _is_ggm(self, prf: object) -> bool:
        if type(prf) is not GGM or shadows_behaviour(prf):
            return False
        key, n, prg = (vars(prf).get(k) for k in ("key", "n", "prg"))
        return (type(key) is bytes and len(key) == SEED_BYTES and type(n) is int and n == self.n
                and type(prg) is str and prg in PRGS)

    def _is_punctured_key(self, key: object) -> bool:
        if type(key) is not PuncturedKey or shadows_behaviour(key):
            return False
        n, prg, prefixes, seeds, point = (vars(key).get(k) for k in ("n", "prg", "prefixes", "seeds", "_x_star"))
        if not (type(n) is int and n == self.n and type(prg) is str and prg in PRGS):
            return False
        if type(prefixes) is not tuple or len(prefixes) != n:
            return False
        arrays = [*zip(prefixes, [(i + 1,) for i in range(n)]), (seeds, (n, SEED_BYTES)), (point, (n,))]
        if not all(is_array(a, shape, np.uint8) and not a.flags.writeable for a, shape in arrays):
            return False
        return prefix_error(list(prefixes)) is None and np.array_equal(point, prefix_point(list(prefixes)))

    def rebuild(self, f: Function) -> PRFOracle | PuncturedPRFOracle:
        """A fresh member from ``f``'s checked key material: ``PRFOracle(GGM(key bytes))``,
        or ``PuncturedPRFOracle(PuncturedKey(prefixes, seeds))`` with its bit (the
        constructors copy the arrays and derive x* from the prefixes again)."""
        g = unwrap(f)
        if type(g) is PRFOracle:
            prf = g._prf
            return PRFOracle(GGM(prf.key, self.n, prf.prg))
        key = g._key
        return PuncturedPRFOracle(PuncturedKey(list(key.prefixes), key.seeds, key.prg), g._bit)

    def random_member(self, rng: np.random.Generator) -> PRFOracle:
        return PRFOracle(GGM(rng.bytes(SEED_BYTES), self.n, "aes"))

    def exact_distance(self, f: Function, g: Function, dist: Distribution) -> float | None:
        if not self._is_cube(dist):
            return None
        f, g = unwrap(f), unwrap(g)
        if not (self.contains(f) and self.contains(g)):
            return None
        if isinstance(f, PRFOracle) and isinstance(g, PRFOracle):
            return 0.0 if f._prf == g._prf else None
        if isinstance(f, PuncturedPRFOracle) and isinstance(g, PuncturedPRFOracle):
            if f._key != g._key:
                return None
            return 0.0 if f._bit == g._bit else 2.0 ** -self.n
        full, punctured = (f, g) if isinstance(f, PRFOracle) else (g, f)
        x_star = punctured._key.point()
        # the referee trusts no claim: the punctured key must be the key's own puncturing
        if full._prf.prg != punctured.prg or full._prf.puncture(x_star) != punctured._key:
            return None
        true_bit = int(full._prf.evaluate(x_star[None])[0])
        return 2.0 ** -self.n if punctured._bit != true_bit else 0.0
