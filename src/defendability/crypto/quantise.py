"""A uniform quantisation grid: the values low + k * step, k = 0..levels-1.

Inputs that carry bits in their least significant digits (the signature backdoor,
THEORY.md §6.1) must be read the same way by the party that writes the bits and by the
one that reads them: both map a real value to its *code* k on this grid (nearest grid
point, clipped to the range) and back. 8-bit images on [0, 1] are ``Grid.unit()``
(step 1/255), pixel values 0..255 are ``Grid.integers()`` (step 1), real data uses a
grid of step q over a range that covers it (``Grid(low=-8, step=1/64, levels=1024)``).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError, check

#: Most levels a grid may have (codes are written as at most 4 bytes).
MAX_LEVELS = 1 << 32


class Grid:
    """The grid low + k * step for the codes k = 0..levels-1 (``high`` is its top value).

    ``codes(x)``: real values, any shape, to ``int64`` codes of the same shape (nearest
    grid point; values outside [low, high] go to the end codes). ``values(codes)``: back
    to ``float64``. A value on the grid round-trips exactly: ``codes(values(k)) == k``.
    """

    def __init__(self, low: float = 0.0, step: float = 1.0 / 255.0, levels: int = 256):
        check(isinstance(low, (int, float, np.integer, np.floating)) and not isinstance(low, bool)
              and math.isfinite(float(low)), f"grid: low must be a finite number, got {low!r}")
        check(isinstance(step, (int, float, np.integer, np.floating)) and not isinstance(step, bool)
              and math.isfinite(float(step)) and float(step) > 0, f"grid: step must be a positive number, got {step!r}")
        check(isinstance(levels, (int, np.integer)) and not isinstance(levels, bool) and 2 <= levels <= MAX_LEVELS,
              f"grid: levels must be an integer in [2, 2**32], got {levels!r}")
        self.low, self.step, self.levels = float(low), float(step), int(levels)

    @classmethod
    def unit(cls, bits: int = 8) -> Grid:
        """The 2**bits values k / (2**bits - 1) of [0, 1] (8-bit images scaled to [0, 1])."""
        check(isinstance(bits, int) and 1 <= bits <= 32, f"grid: bits must be an integer in [1, 32], got {bits!r}")
        return cls(0.0, 1.0 / ((1 << bits) - 1), 1 << bits)

    @classmethod
    def integers(cls, bits: int = 8) -> Grid:
        """The integers 0..2**bits - 1 (pixel values 0..255 for ``bits=8``)."""
        check(isinstance(bits, int) and 1 <= bits <= 32, f"grid: bits must be an integer in [1, 32], got {bits!r}")
        return cls(0.0, 1.0, 1 << bits)

    @property
    def high(self) -> float:
        """The top grid value, low + (levels - 1) * step."""
        return self.low + (self.levels - 1) * self.step

    @property
    def integral(self) -> bool:
        """Whether every grid value is an integer (so integer arrays can hold them)."""
        return self.low.is_integer() and self.step.is_integer()

    @property
    def code_dtype(self) -> np.dtype:
        """The big-endian unsigned type that holds a code in the fewest bytes (1, 2 or 4):
        the byte form of codes inside signed messages."""
        if self.levels <= 1 << 8:
            return np.dtype(np.uint8)
        return np.dtype(">u2") if self.levels <= 1 << 16 else np.dtype(">u4")

    def codes(self, x: np.ndarray) -> np.ndarray:
        """Codes of real values: ``int64``, the shape of ``x`` (``ParameterError`` on a
        value that is not finite)."""
        u = (np.asarray(x, dtype=np.float64) - self.low) / self.step
        if not bool(np.isfinite(u).all()):
            raise ParameterError("grid: inputs must be finite numbers")
        # clip before the cast: far-out values must not wrap around in int64
        return np.clip(np.rint(u), 0, self.levels - 1).astype(np.int64)

    def values(self, codes: np.ndarray) -> np.ndarray:
        """Grid values of codes: ``float64``, the shape of ``codes``."""
        return self.low + np.asarray(codes, dtype=np.float64) * self.step

    def __eq__(self, other: object) -> bool:
        return (type(other) is Grid and (self.low, self.step, self.levels)
                == (other.low, other.step, other.levels))  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.low, self.step, self.levels))

    def __repr__(self) -> str:
        return f"Grid(low={self.low!r}, step={self.step!r}, levels={self.levels})"
