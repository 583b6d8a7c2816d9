"""Targeted data poisoning: the attacker of mode ``poisoning`` (docs/variants.md)."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass
from ..errors import IncompatibleError, check
from ..registry import Match, build, register
from ..spaces import Distribution
from .base import Attacker, split_setup


@register("attackers", "label-poison")
class LabelPoison(Attacker):
    """Targeted poisoning of the training set: copies of the trigger with another label.

    The attack of "On Optimal Learning Under Targeted Data Poisoning" (the reference of
    CHLX's distillation defence), in the library's mode ``poisoning``: the referee
    learns f from m samples of D with the class's minimiser (``fit_member``), then the
    attacker, seeing x*, may replace floor(eta*m) rows.

    Setup: ``base``'s (default ``shatter``: D uniform on a shattered set, a random
    labelling) gives D and the labelling f of the training sample. Poison: the attacker
    learns the original itself (it knows the minimiser) and aims at a label t other than
    the learned f(x*) (for two labels the other one; for more, the next one, (f(x*)+1)
    mod labels). It relabels every copy of x* already in S to t, then replaces rows
    chosen uniformly among the others by (x*, t), up to ``copies`` (default: every row
    the budget leaves). ``None`` when the budget allows no row, or when S already has
    more copies of x* than the budget (it cannot relabel them all; a partial relabelling
    would leave the minimiser's majority at x* where it was for the classes that vote).

    What it shows (``docs/variants.md``): for a minimiser that needs one example
    (the closure of ``subsets`` at a label-0 trigger) any eta with one row flips f;
    at a label-1 trigger it must erase every copy of x*, about m*D(x*) rows; so the
    fraction of rounds with a valid backdoor grows with eta, and the attacker of the
    random-trigger game, which writes f* directly, is the limit eta = 1.
    """

    modes = ("poisoning",)
    test_match = Match(cls="subsets:N=12,d=4", eps=0.25, mode="poisoning")

    def __init__(self, base: str = "shatter", copies: int | None = None):
        self.base = build("attackers", base)
        check(isinstance(self.base, Attacker), f"base must be an attacker SPEC, got {base!r}")
        check(copies is None or (type(copies) is int and copies >= 0),
              f"copies must be an integer >= 0 (or unset: every row the budget allows), got {copies!r}")
        self.copies = copies

    def check_class(self, cls: FunctionClass) -> None:
        self.base.check_class(cls)
        if not cls.has_erm():
            raise IncompatibleError(f"label-poison: class {cls!r} learns no members (fit_member)")

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        dist, f, _ = split_setup(self.base.setup(cls, eps, rng))
        return dist, f

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray,
                 eps: float, rng: np.random.Generator) -> Function | None:
        raise IncompatibleError("label-poison plays mode poisoning only: it poisons a training set")

    def poison(self, cls: FunctionClass, dist: Distribution, f: Function, X: np.ndarray, y: np.ndarray,
               x_star: np.ndarray, rows: int, eps: float, rng: np.random.Generator,
               state: object = None) -> tuple[np.ndarray, np.ndarray] | None:
        learned = cls.fit_member(X, y.astype(np.uint8))
        current = int(np.asarray(learned(x_star[None]))[0])
        target = 1 - current if cls.label_count == 2 else (current + 1) % cls.label_count
        flat = X.reshape(len(X), -1)
        at_trigger = np.all(flat == np.asarray(x_star).reshape(1, -1), axis=1)
        if rows == 0:
            return None
        # relabel the copies of x* first (as many as the budget allows), then add copies
        wrong = rng.permutation(np.flatnonzero(at_trigger & (y != target)))[:rows]
        X2, y2 = X.copy(), y.copy()
        y2[wrong] = target
        others = np.flatnonzero(~at_trigger)
        extra = rows - len(wrong)
        if self.copies is not None:
            extra = min(extra, self.copies)
        chosen = _spare_rows(flat, others, extra, rng)
        X2[chosen] = x_star
        y2[chosen] = target
        return X2, y2


def _spare_rows(flat: np.ndarray, candidates: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` rows among ``candidates`` (or all of them), in random order, preferring
    rows whose point keeps another copy in the sample once they are replaced."""
    order = rng.permutation(candidates)
    _, inverse, counts = np.unique(flat[order], axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    left = counts.copy()
    spare, rest = [], []
    for row, point in zip(order, inverse):
        if left[point] > 1:
            left[point] -= 1
            spare.append(row)
        else:
            rest.append(row)
    return np.array((spare + rest)[:count], dtype=np.int64)
