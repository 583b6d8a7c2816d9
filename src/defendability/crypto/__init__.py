"""crypto: keyed primitives built from standard ones (THEORY.md §5.1)."""

from .ggm import GGM, PRGS, PuncturedKey, PuncturedPointError

__all__ = ["GGM", "PRGS", "PuncturedKey", "PuncturedPointError"]
