"""The rare-wire defender (THEORY.md §4.4, §5.3): white-box surprisal of a circuit's wires.

A backdoor that fires on one input x* must compute, somewhere inside g, a signal that is
on at x* and (almost) never on a typical input: the "still on x*'s path" flag of a
punctured PRF circuit, the last AND of a planted pattern. ``rare-wire`` reads every
wire's value, learns from clean samples how often each wire takes each value, and
scores an input by the most surprising wire value it produces. It is the white-box
defender THEORY.md §5.3 measures the heuristic stand-ins against (§8 P12: without any
stand-in it separates (f*, x*) from (f, x)).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from ..circuits.netlist import Circuit, pack_bits
from ..classes.base import Function, FunctionClass, unwrap
from ..classes.circuits import CircuitFunction, Circuits
from ..classes.threshold_networks import ThresholdNetworks
from ..errors import IncompatibleError, check
from ..registry import Match, register
from ..spaces import Sampler
from .base import Defender, Detector

#: Bytes of wire values (one byte per wire and input unpacked, one bit packed) held at
#: once: larger batches are evaluated and scored in consecutive chunks of inputs.
MAX_CHUNK_BYTES = 1 << 25

#: Ones in each byte value, where numpy (< 2) has no ``bitwise_count``.
_POPCOUNT = np.array([v.bit_count() for v in range(256)], dtype=np.uint8)

_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


def has_wire_values(g: Function) -> bool:
    """Whether ``g`` exposes its wires: a ``wire_values(x) -> (size, n_wires)`` method."""
    return callable(getattr(g, "wire_values", None))


def _check_wires(cls: FunctionClass, g: Function) -> None:
    """``IncompatibleError`` unless ``g`` (a member of ``cls``) exposes its wires."""
    if not has_wire_values(g):
        raise IncompatibleError(f"rare-wire needs white-box wire values: class {cls.name!r} has members "
                                f"({type(unwrap(g)).__name__}) without wire_values(x); "
                                "use the circuits or threshold-networks class")


def netlist_of(g: Function) -> Circuit | None:
    """The netlist behind ``g`` when g is a member of the circuits class, whose wires are
    exactly its netlist's. Only that exact type: another member holding a netlist (say,
    the source of a compiled network) may expose different wires."""
    f = unwrap(g)
    if type(f) is CircuitFunction and isinstance(f.circuit, Circuit):
        return f.circuit
    return None


def _mask_padding(words: np.ndarray, size: int) -> np.ndarray:
    """Zero the bits past ``size`` in the last word of packed ``(n_wires, W)`` rows."""
    if size % 64:
        words[:, -1] &= np.uint64((1 << (size % 64)) - 1)
    return words


def packed_wire_chunks(g: Function, x: np.ndarray, extra_row_bytes: int = 0) -> Iterator[tuple[np.ndarray, int]]:
    """Every wire's value at the rows of ``x``, packed along the batch, chunk by chunk.

    Yields ``(words, rows)`` for consecutive chunks of ``rows`` rows of ``x``
    (``(size, *point_shape)``): ``words`` is ``(n_wires, ceil(rows / 64))`` little-endian
    uint64, bit ``j % 64`` of word ``j // 64`` of row w is wire w at the chunk's input j
    (the layout of :func:`~defendability.circuits.netlist.pack_bits`); bits past the
    chunk are 0. A member of the circuits class is evaluated bit-sliced and its words
    used as they are (the values ``CircuitFunction.wire_values`` would unpack); any
    other member through ``g.wire_values``, packed here. Chunks hold at
    most about ``MAX_CHUNK_BYTES``, counting ``extra_row_bytes`` per input that the
    caller needs.
    """
    x = np.asarray(x)
    circuit = netlist_of(g)
    start, rows = 0, 64  # a first small chunk tells the wire count of an opaque member
    if circuit is not None:
        rows = _chunk_rows(-(-circuit.n_wires // 8) + extra_row_bytes)
        if x.dtype not in (np.uint8, np.bool_) and not bool(np.all((x == 0) | (x == 1))):
            raise ValueError("rare-wire: inputs of a circuit must be 0/1 rows")
    while start < len(x):
        part = x[start:start + rows]
        if circuit is not None:
            words = circuit.evaluate_packed(pack_bits(part), all_wires=True)  # (n_wires, W)
            words = np.ascontiguousarray(words, dtype="<u8")
        else:
            values = np.asarray(g.wire_values(part))
            if values.ndim != 2 or len(values) != len(part):
                raise ValueError(f"rare-wire: wire_values must return (size, n_wires), got shape {values.shape} "
                                 f"for {len(part)} inputs")
            rows = _chunk_rows(values.shape[1] + extra_row_bytes)
            packed = np.zeros((8 * -(-len(part) // 64), values.shape[1]), dtype=np.uint8)
            packed[: -(-len(part) // 8)] = np.packbits(values, axis=0, bitorder="little")
            words = np.ascontiguousarray(packed.T).view("<u8")
        yield _mask_padding(words, len(part)), len(part)
        start += len(part)


def _chunk_rows(row_bytes: int) -> int:
    """Inputs per chunk: a multiple of 64 (whole words), at least 64."""
    return max(64, MAX_CHUNK_BYTES // max(1, row_bytes) // 64 * 64)


def count_ones(words: np.ndarray) -> np.ndarray:
    """Set bits in each row of ``(n_wires, W)`` uint64 words, ``(n_wires,)`` int64."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    return _POPCOUNT[words.view(np.uint8)].sum(axis=1, dtype=np.int64)


class RareWireDetector(Detector):
    """Scores x by the largest surprisal -log2 P(wire = its value at x) over g's wires.

    ``ones``: ``(n_wires,)`` int64, how many of the ``m`` calibration inputs set each wire
    to 1; P(wire = 1) = (ones + 1) / (m + 2) (add-one smoothing). ``score(x)`` for ``x`` of
    shape ``(Q, *point_shape)`` evaluates every wire at x (white-box, not through g's
    evaluation counter) and returns ``(Q,)`` floats in bits, between 0 and
    log2(m + 2); REJECT iff score > ``threshold``. ``wire_evaluations`` counts the inputs
    evaluated white-box (fit and scoring).
    """

    def __init__(self, g: Function, ones: np.ndarray, m: int):
        self.g, self.ones, self.m = g, np.asarray(ones, dtype=np.int64), int(m)
        self.threshold = math.inf
        self.wire_evaluations = 0
        # Each wire's rarer value and how often calibration saw it (c <= m/2). Scores
        # only depend on c, so wires are grouped by c: the score of x is the surprisal of
        # the smallest c among the wires at their rarer value, a first-hit search over
        # (at most m/2 + 1) levels instead of a float matrix over every wire and input.
        rare_is_one = self.ones < self.m - self.ones
        rare_seen = np.minimum(self.ones, self.m - self.ones)
        levels, level_of = np.unique(rare_seen, return_inverse=True)
        self.order = np.argsort(level_of.reshape(-1), kind="stable")
        self.starts = np.searchsorted(level_of.reshape(-1)[self.order], np.arange(len(levels)))
        self.level_bits = np.log2((self.m + 2) / (levels + 1.0))  # surprisal of the rarer value
        # Every wire at its common value: the largest surprisal is the wire whose
        # common value is least common, the one with the largest c.
        self.common_bits = float(np.log2((self.m + 2) / (self.m - levels[-1] + 1.0)))
        # XOR with all ones turns "wire = 0" into a set bit where 0 is the rarer value.
        self.flip = np.where(rare_is_one, np.uint64(0), _ALL_ONES).astype(np.uint64)[self.order]

    @property
    def n_wires(self) -> int:
        return len(self.ones)

    @property
    def p_one(self) -> np.ndarray:
        """P(wire = 1) for each wire, ``(n_wires,)``, add-one smoothed."""
        return (self.ones + 1.0) / (self.m + 2.0)

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        self.wire_evaluations += len(x)
        # extra bytes per input: its column of flags over the levels, unpacked
        chunks = [self._score(bits, rows)
                  for bits, rows in packed_wire_chunks(self.g, x, extra_row_bytes=len(self.starts))]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=float)

    def _score(self, words: np.ndarray, rows: int) -> np.ndarray:
        if words.shape[0] != self.n_wires:
            raise ValueError(f"rare-wire: the function has {words.shape[0]} wires, but {self.n_wires} when fitted")
        hits = words[self.order] ^ self.flip[:, None]  # 1: wire at its rarer value (padding: cut below)
        per_level = np.bitwise_or.reduceat(hits, self.starts, axis=0)  # (levels, W): any wire of the level
        # After an OR down the levels, the number of levels where an input's bit is still
        # 0 is the index of its first (rarest) level hit: a sum down contiguous rows,
        # which numpy vectorises (an argmax down axis 0 it does not).
        seen = np.bitwise_or.accumulate(per_level, axis=0).astype("<u8", copy=False)
        flags = np.unpackbits(seen.view(np.uint8), axis=1, bitorder="little")[:, :rows]  # (levels, rows)
        first = len(flags) - flags.sum(axis=0, dtype=np.int64)
        hit = first < len(flags)
        return np.where(hit, self.level_bits[np.minimum(first, len(flags) - 1)], self.common_bits)


@register("defenders", "rare-wire")
class RareWire(Defender):
    """REJECT x when some wire of g takes at x a value that clean samples of D almost never give it.

    Parameters: ``calibration`` (m, samples of D used to estimate each wire's
    P(wire = 1), default 4096), ``holdout`` (clean samples the threshold is calibrated on,
    a second draw disjoint from the first; default m), ``fpr`` (target false-positive
    rate, default 0.01).

    White-box: g must expose ``wire_values(x) -> (size, n_wires)`` uint8 (the circuits
    and threshold-networks classes do), else ``IncompatibleError`` (before any round,
    from ``check_class``). fit: P(wire = 1) =
    (ones + 1) / (m + 2) over the m calibration inputs (add-one smoothing, so no wire
    has probability 0 or 1); score(x) = max over wires of -log2 P(wire = its value at x),
    ``(Q,)`` floats in bits, at most log2(m + 2) (a wire never seen at a value scores
    that much); graded. The threshold is the (1 - fpr) quantile of the holdout inputs'
    scores (``numpy.quantile(..., method="higher")``, the smallest holdout score exceeded
    by at most a fraction fpr of them, as ``stats.tpr_at_fpr`` calibrates); REJECT iff
    score > threshold.

    Cost: m + holdout samples of D (counted by the sampler). Wire values are white-box
    evaluations and bypass g's evaluation counter: the fit evaluates every wire at the
    m + holdout sampled inputs and each scored input once more
    (``RareWireDetector.wire_evaluations`` counts them). Members of the circuits class
    are evaluated bit-sliced and the wire values kept packed, 64 inputs per word.

    No guarantee: THEORY.md §4.4 states the rule with no bound.
    """

    test_spec = "rare-wire:calibration=64"
    test_match = Match(cls="circuits:n=8", attacker="prf-flip:lam=16", eps=0.01)

    graded = True

    def __init__(self, calibration: int = 4096, holdout: int | None = None, fpr: float = 0.01):
        check(isinstance(calibration, int) and not isinstance(calibration, bool) and calibration >= 1,
              f"calibration must be an integer >= 1, got {calibration!r}")
        check(holdout is None or (isinstance(holdout, int) and not isinstance(holdout, bool) and holdout >= 1),
              f"holdout must be an integer >= 1, got {holdout!r}")
        check(isinstance(fpr, (int, float)) and not isinstance(fpr, bool) and 0.0 < fpr < 1.0,
              f"fpr must be in (0, 1), got {fpr!r}")
        self.calibration, self.holdout, self.fpr = calibration, holdout, float(fpr)

    def holdout_size(self) -> int:
        """Clean samples the threshold is calibrated on: as given, else ``calibration``."""
        return self.holdout if self.holdout is not None else self.calibration

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` when the class's members do not expose their wires. The
        members of the circuits and threshold-networks classes do; of any other class,
        one member (``random_member`` with a fixed seed) is asked."""
        if isinstance(cls, (Circuits, ThresholdNetworks)):
            return
        _check_wires(cls, cls.random_member(np.random.default_rng(0)))

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> RareWireDetector:
        check(0.0 < eps < 1.0, f"eps must be in (0, 1), got {eps}")
        _check_wires(cls, g)
        x = sampler(self.calibration)
        ones = sum(count_ones(words) for words, _ in packed_wire_chunks(g, x))
        if np.ndim(ones) != 1 or len(ones) == 0:
            raise ValueError("rare-wire: the function reports no wires")
        detector = RareWireDetector(g, ones, self.calibration)
        detector.wire_evaluations = self.calibration
        # A second, disjoint clean draw: scores of the calibration inputs themselves are
        # biased low (each one's own wire values were counted into P).
        clean = detector.score(sampler(self.holdout_size()))
        detector.threshold = float(np.quantile(clean, 1.0 - self.fpr, method="higher"))
        return detector
