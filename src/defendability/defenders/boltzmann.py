"""The Boltzmann-posterior defender (derived form of CHLX Appendix A; THEORY.md §2.1, §4.4)."""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from ..budget import ceil_inverse
from ..classes.base import Function, FunctionClass
from ..errors import IncompatibleError, check
from ..registry import Match, register
from ..spaces import Sampler
from .base import Defender, Detector

# Hypotheses whose posterior weight is below this fraction of a uniform share are
# dropped after fitting: together they hold at most this much posterior mass, so scores
# move by at most 1e-12, while cover-mode scoring skips the members that cannot matter.
_NEGLIGIBLE_MASS = 1e-12

# Most cells (members x points) a member table keeps: 64 MiB of labels per class.
_MAX_TABLE_CELLS = 1 << 26

# Cells (members x points) handled at once when computing disagreement rates.
_CHUNK_CELLS = 1 << 22


class MemberTable:
    """The labels of every member of a finite class at the points seen so far.

    A memo of pure values: member h's label at point x never changes, so a game that
    fits the defender thousands of times on the same class (and, under a finite D, the
    same few points) evaluates each member at each point once; later fits and scores
    are matrix operations. ``labels(points)`` returns ``(M, len(points))`` uint8. At
    most ``_MAX_TABLE_CELLS`` labels are kept; points beyond are evaluated, not kept.
    Keys are the raw bytes of a point with its dtype, so the memo assumes that
    ``members()`` enumerates the same members in the same order every time.
    """

    def __init__(self, members: list[Function]):
        self.members = members
        self.index: dict[tuple[str, bytes], int] = {}
        self.columns = np.zeros((len(members), 0), dtype=np.uint8)

    def _evaluate(self, points: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(h(points), dtype=np.uint8) for h in self.members])

    def labels(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points)
        if len(points) == 0:
            return np.zeros((len(self.members), 0), dtype=np.uint8)
        distinct, inverse = np.unique(points, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        keys = [(distinct.dtype.str, row.tobytes()) for row in distinct.reshape(len(distinct), -1)]
        missing = [i for i, key in enumerate(keys) if key not in self.index]
        if missing:
            fresh = self._evaluate(distinct[missing])
            if len(self.members) * (len(self.index) + len(missing)) > _MAX_TABLE_CELLS:
                known = [i for i in range(len(keys)) if keys[i] in self.index]
                out = np.empty((len(self.members), len(distinct)), dtype=np.uint8)
                out[:, missing] = fresh
                out[:, known] = self.columns[:, [self.index[keys[i]] for i in known]]
                return out[:, inverse]
            self._append([keys[i] for i in missing], fresh)
        return self.columns[:, [self.index[key] for key in keys]][:, inverse]

    def _append(self, keys: list[tuple[str, bytes]], fresh: np.ndarray) -> None:
        used = len(self.index)
        if used + len(keys) > self.columns.shape[1]:  # grow by doubling: amortised O(1) per point
            grown = np.zeros((len(self.members), max(2 * self.columns.shape[1], used + len(keys), 16)),
                             dtype=np.uint8)
            grown[:, :used] = self.columns[:, :used]
            self.columns = grown
        self.columns[:, used:used + len(keys)] = fresh
        self.index.update((key, used + j) for j, key in enumerate(keys))


def table_disagreement(table: MemberTable, points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each member's disagreement rate with ``labels`` on ``points``, shape ``(M,)``.

    Repeated points (a finite D) count once with their multiplicity, and the distinct
    points go through the table in chunks so that no (M, n) matrix is ever built.
    """
    distinct, inverse, counts = np.unique(points, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    distinct_labels = np.empty(len(distinct), dtype=np.uint8)
    distinct_labels[inverse] = labels
    chunk = max(1, _CHUNK_CELLS // max(1, len(table.members)))
    mistakes = np.zeros(len(table.members), dtype=float)
    for start in range(0, len(distinct), chunk):
        part = slice(start, start + chunk)
        mistakes += (table.labels(distinct[part]) != distinct_labels[part][None, :]) @ counts[part]
    return mistakes / len(points)


# One table per class value (classes are equal by value, and the referee hands every
# decision its own copy of the class): the last few. Module-level rather than on the
# defender so that defenders stay picklable for parallel sweeps.
_TABLES: "OrderedDict[FunctionClass, MemberTable]" = OrderedDict()
KEPT_TABLES = 8


def member_table(cls: FunctionClass) -> MemberTable | None:
    """The memo of ``cls``'s member labels, or ``None`` for classes that cannot enumerate."""
    try:
        table = _TABLES.get(cls)
    except TypeError:  # a class that cannot be hashed: no memo
        table = None
    if table is not None:
        _TABLES.move_to_end(cls)
        return table
    members = cls.members()
    if members is None:
        return None
    table = MemberTable(list(members))
    with contextlib.suppress(TypeError):  # unremembered, but still usable for this fit
        _TABLES[cls] = table
        while len(_TABLES) > KEPT_TABLES:
            _TABLES.popitem(last=False)
    return table


class BoltzmannDetector(Detector):
    """Scores x by the posterior mass of the hypotheses that disagree with g at x.

    ``hypotheses``: the members kept after fitting; ``posterior``: their weights
    (shape ``(M,)``, summing to 1 up to the dropped negligible mass); ``evaluate``:
    their labels at a batch, ``(Q, *point_shape)`` -> ``(M, Q)`` uint8. ``score(x)``
    evaluates the hypotheses once on the whole batch and g once, and returns ``(Q,)``
    floats in [0, 1]; REJECT iff > 1/2.
    """

    threshold = 0.5

    def __init__(self, g: Function, hypotheses: list[Function], posterior: np.ndarray,
                 evaluate: Callable[[np.ndarray], np.ndarray]):
        self.g, self.hypotheses, self.posterior, self.evaluate = g, hypotheses, posterior, evaluate

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if len(x) == 0:
            return np.zeros(0, dtype=float)
        disagree = self.evaluate(x) != np.asarray(self.g(x))[None, :]
        return np.minimum(self.posterior @ disagree, 1.0)


@register("defenders", "boltzmann")
class Boltzmann(Defender):
    """Boltzmann posterior around g: REJECT iff posterior mass disagreeing with g(x) > 1/2.

    Parameters: ``lam`` (inverse temperature lambda; default 0.6/eps, the derived form
    of CHLX Appendix A in THEORY.md §2.1), ``samples`` (n, default ceil(40/eps)),
    ``cover`` (size of each half of the sampled cover for infinite classes, default 2000).

    Rule: pi_g(h) ∝ mu(h) exp(-lam * dhat(h, g)), dhat the disagreement rate of h and g
    on n samples of D labelled by one call of g; score(x) = pi_g{h : h(x) != g(x)},
    threshold 1/2. THEORY writes the exact distance d_D; with sample access only we use
    dhat. With the default n = ceil(40/eps), eps/40 is only the step of dhat (one
    sample in n); its precision is the standard error sqrt(d(1-d)/n), about
    sqrt(eps * eps/40) = eps/sqrt(40) ~ 0.16 eps at distance d = eps, so the exponent
    lam*dhat of a member at distance about eps is 0.6 +- 0.1 (one standard error) and
    its weight exp(-lam*dhat) is known to about 10%.

    Hypotheses: on a finite class (``cls.members()`` not None) every member, with the
    uniform prior over members (exact; weights by log-sum-exp). Member labels are
    memoised per class object (:class:`MemberTable`), so each member is evaluated at
    each distinct point once over all fits: under a finite D, later fits and scores are
    matrix operations. Otherwise a sampled cover (a documented deviation: the
    prior is uniform over the cover, not over F): ``cover`` draws of
    ``cls.random_member`` plus ``cover`` ERM fits (``cls.fit_member``) on bootstrap
    resamples of the g-labelled samples with 1 to 3 labels flipped at random, so that
    the cover holds hypotheses close to g that disagree with it at a few points;
    duplicates are merged (uniform over distinct members). Classes without an ERM
    (``fit_member`` raises ``IncompatibleError``) use the random half only; any other
    error of ``fit_member`` propagates. After fitting, members holding less than 1e-12 of posterior
    mass in total are dropped, so scores are exact to 1e-12.

    Cost per fitted function: n samples and n evaluations of g; on a finite class, |F|
    member evaluations per distinct point not seen before (memoised); in cover mode, up
    to 2*cover member evaluations on the samples plus ``cover`` ERM fits of n points
    each. Per scored batch: one evaluation of g, and of each kept member (cover mode) or
    of every member at the points not seen before (finite class).

    Guarantee: THEORY.md §2.1 gives alpha + beta ≲ 14.4 eps (ln|F| + ln(1/eps) + 1)
    (derived, approximate, for the exact distance), which is not a rigorous bound on
    alpha and beta separately, so ``guarantee`` returns ``None``.
    """

    test_spec = "boltzmann:samples=50,cover=20"
    test_match = Match(cls="subsets:N=12,d=3", attacker="mixture", eps=0.1)

    def __init__(self, lam: float | None = None, samples: int | None = None, cover: int = 2000):
        check(lam is None or (math.isfinite(lam) and lam > 0), f"lam must be > 0, got {lam}")
        check(samples is None or (isinstance(samples, int) and samples >= 1),
              f"samples must be an integer >= 1, got {samples}")
        check(isinstance(cover, int) and cover >= 1, f"cover must be an integer >= 1, got {cover}")
        self.lam, self.samples, self.cover = lam, samples, cover

    def inverse_temperature(self, eps: float) -> float:
        """lambda: as given, else 0.6/eps."""
        return self.lam if self.lam is not None else 0.6 / eps

    def sample_count(self, eps: float) -> int:
        """n: as given, else ceil(40/eps)."""
        if self.samples is not None:
            return self.samples
        return ceil_inverse(eps, 40.0)

    def cover_hypotheses(self, cls: FunctionClass, points: np.ndarray, labels: np.ndarray,
                         rng: np.random.Generator) -> list[Function]:
        """The sampled cover of a class that cannot enumerate (see the class docstring)."""
        cover = [cls.random_member(rng) for _ in range(self.cover)]
        n = len(points)
        for _ in range(self.cover):
            index = rng.integers(0, n, size=n)
            noisy = labels[index].copy()
            noisy[rng.choice(n, size=min(n, int(rng.integers(1, 4))), replace=False)] ^= 1
            try:
                cover.append(cls.fit_member(points[index], noisy))
            except IncompatibleError:  # no empirical-risk minimiser: random members only
                break
        return list(dict.fromkeys(cover))

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> BoltzmannDetector:
        check(0.0 < eps < 1.0, f"eps must be in (0, 1), got {eps}")
        points = sampler(self.sample_count(eps))
        labels = np.asarray(g(points), dtype=np.uint8)
        table = member_table(cls)
        if table is not None:
            hypotheses = table.members
            dhat = table_disagreement(table, points, labels)
        else:
            hypotheses = self.cover_hypotheses(cls, points, labels, rng)
            dhat = np.array([np.count_nonzero(np.asarray(h(points)) != labels) for h in hypotheses]) / len(points)
        log_w = -self.inverse_temperature(eps) * dhat
        posterior = np.exp(log_w - log_w.max())
        posterior /= posterior.sum()
        keep = np.flatnonzero(posterior > _NEGLIGIBLE_MASS / len(posterior))
        kept = [hypotheses[i] for i in keep]
        if table is not None:
            def evaluate(x: np.ndarray) -> np.ndarray:
                return table.labels(x)[keep]
        else:
            def evaluate(x: np.ndarray) -> np.ndarray:
                return np.stack([np.asarray(h(x), dtype=np.uint8) for h in kept])
        return BoltzmannDetector(g, kept, posterior[keep], evaluate)
