"""Exact distance between two circuits under the uniform distribution on {0,1}^n.

Pr_{x uniform}[c1(x) != c2(x)] is counted, not sampled: every one of the 2^n inputs is
evaluated, bit-sliced. The packed words of the whole cube are generated directly, a block
at a time (no ``(2^n, n)`` array of points is ever built), both circuits are evaluated on
the block, and the disagreements are counted with a popcount of the XOR of their outputs.

Input j of the enumeration is the point whose bit i is ``(j >> i) & 1`` (the order of
:meth:`defendability.spaces.UniformCube.support`), and inputs are packed 64 to a word as
in :func:`~defendability.circuits.netlist.pack_bits`: input j is bit ``j % 64`` of word
``j // 64``. So, inside a word, input bit i < 6 follows a fixed pattern (0xAAAA... for
i = 0, 0xCCCC... for i = 1, ...), and input bit i >= 6 is constant over the word: all
ones when bit ``i - 6`` of the word's index is set.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .netlist import Circuit

#: Largest n whose cube is enumerated (2^24 inputs: 262,144 words per wire).
MAX_EXACT_N = 24

#: Words of the cube evaluated at once (2^20 inputs per block).
BLOCK_WORDS = 1 << 14

# the bits of a word where input bit i (i < 6) is 1: bit t is set iff (t >> i) & 1
_LOW_PATTERNS = np.array(
    [sum(1 << t for t in range(64) if (t >> i) & 1) for i in range(6)], dtype=np.uint64)
_ALL_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)


def cube_words(n: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Packed inputs of the cube {0,1}^n, words ``start .. stop - 1``: ``(n, stop - start)``
    uint64. The cube has ``ceil(2^n / 64)`` words; for n < 6 its single word holds the
    2^n inputs in its low bits and the bits above repeat them (mask them off when counting)."""
    total = cube_word_count(n)
    stop = total if stop is None else stop
    if not 0 <= start <= stop <= total:
        raise ParameterError(f"cube words [{start}, {stop}) out of range [0, {total}] for n={n}")
    index = np.arange(start, stop, dtype=np.uint64)
    words = np.empty((n, stop - start), dtype=np.uint64)
    for i in range(n):
        if i < 6:
            words[i] = _LOW_PATTERNS[i]
        else:
            # 0 - 1 wraps to all ones: a word is all ones where the index bit is set
            np.negative((index >> np.uint64(i - 6)) & np.uint64(1), out=words[i])
    return words


def cube_word_count(n: int) -> int:
    """Words that hold the 2^n inputs of the cube: ``ceil(2^n / 64)``."""
    return -(-(1 << n) // 64)


def _valid_mask(n: int) -> np.uint64:
    """Bits of the cube's words that are real inputs (all, unless n < 6)."""
    return _ALL_ONES if n >= 6 else np.uint64((1 << (1 << n)) - 1)


def check_comparable(c1: Circuit, c2: Circuit) -> None:
    """Raise ``ParameterError`` unless both circuits have the same inputs and outputs."""
    if c1.n_inputs != c2.n_inputs:
        raise ParameterError(f"circuits have different inputs: n_inputs={c1.n_inputs} and n_inputs={c2.n_inputs}")
    if c1.n_outputs != c2.n_outputs:
        raise ParameterError(f"circuits have different outputs: n_outputs={c1.n_outputs} and n_outputs={c2.n_outputs}")


def disagreement_blocks(c1: Circuit, c2: Circuit, block_words: int = BLOCK_WORDS):
    """Yield ``(start_word, diff)`` over the cube, block by block: ``diff`` ``(W,)`` uint64
    has bit t of word k set iff input ``64 (start_word + k) + t`` is a real input on which
    some output of c1 differs from c2's."""
    check_comparable(c1, c2)
    n = c1.n_inputs
    if n > MAX_EXACT_N:
        raise ParameterError(f"exact enumeration needs n_inputs <= {MAX_EXACT_N}, got n_inputs={n} "
                             f"(2^{n} inputs); estimate the distance by sampling instead")
    if block_words < 1:
        raise ParameterError(f"block_words must be >= 1, got block_words={block_words}")
    total = cube_word_count(n)
    mask = _valid_mask(n)
    for start in range(0, total, block_words):
        words = cube_words(n, start, min(total, start + block_words))
        out = np.bitwise_xor(c1.evaluate_packed(words), c2.evaluate_packed(words))
        diff = np.bitwise_or.reduce(out, axis=0) if len(out) > 1 else out[0]
        diff &= mask
        yield start, diff


def disagreements(c1: Circuit, c2: Circuit) -> int:
    """Number of the 2^n inputs on which c1 and c2 differ (in any output); n <= 24."""
    return sum(int(np.bitwise_count(diff).sum(dtype=np.int64)) for _, diff in disagreement_blocks(c1, c2))


def exact_distance(c1: Circuit, c2: Circuit) -> float:
    """Pr_{x uniform on {0,1}^n}[c1(x) != c2(x)], exactly (a count over 2^n; the division
    by a power of two is exact in float64). Circuits with several outputs differ on x when
    any output differs. ``ParameterError`` for n > 24 or mismatched circuits."""
    check_comparable(c1, c2)
    return disagreements(c1, c2) / float(1 << c1.n_inputs)


def first_disagreement(c1: Circuit, c2: Circuit) -> np.ndarray | None:
    """The first input (in enumeration order) on which c1 and c2 differ, as a ``(n,)``
    uint8 point, or ``None`` when they agree on the whole cube; n <= 24."""
    for start, diff in disagreement_blocks(c1, c2):
        hit = np.flatnonzero(diff)
        if len(hit):
            k = int(hit[0])
            word = int(diff[k])
            bit = (word & -word).bit_length() - 1
            j = 64 * (start + k) + bit
            return ((j >> np.arange(c1.n_inputs)) & 1).astype(np.uint8)
    return None
