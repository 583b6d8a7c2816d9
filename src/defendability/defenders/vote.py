"""Distillation and ensembling (THEORY.md §2, §3, §4.4): ``vote``, ``distill``, ``pool-vote``.

The three defenders share one machinery: learn copies of the given function g from
samples of D labelled by g, and score an input x by the fraction of copies (voters)
whose prediction at x disagrees with g(x). They differ only in how the voters'
training batches are drawn: independent batches (``vote``), one batch (``distill``),
or subsets of one shared pool (``pool-vote``).
"""

from __future__ import annotations

import copy
import math

import numpy as np

from ..batches import Batches
from ..budget import ROUNDING_SLACK, floor_inverse
from ..classes.base import Function, FunctionClass
from ..errors import ParameterError, check
from ..learners.base import Learner, natural_learner
from ..registry import Match, build, register
from ..spaces import Sampler
from .base import Defender, Detector

# Random keys drawn at once when pool-vote picks its subsets (bounds the memory to
# about 64 MiB whatever the pool size).
_KEYS_PER_CHUNK = 1 << 23


#: Most voters a vote defender may have (each holds a batch in memory).
MAX_VOTERS = 1_000_000


def default_voters(delta: float) -> int:
    """N = ceil(32 ln(2/delta)): Hoeffding over voters costs exp(-N/32) <= delta/2."""
    return math.ceil(32.0 * math.log(2.0 / delta))


def default_batch(eps: float) -> int:
    """k = floor(1/(4 eps)), at least 1: a batch then meets {f != f*} with probability
    at most k*eps <= 1/4 (for eps > 1/4 the single example gives no such guarantee)."""
    return max(1, floor_inverse(eps, 0.25))


class VoteDetector(Detector):
    """Scores x by the fraction of voters whose prediction at x disagrees with g(x).

    ``batches``: the V training batches; ``labels``: g's labels of ``batches.points``.
    The voters are the learner's ``fit_batches`` (trained once, here); ``score(x)`` for
    ``x`` of shape ``(Q, *point_shape)`` asks them all about every query at once, calls
    g once on ``x``, and returns ``(Q,)`` floats in [0, 1]; REJECT iff score >
    ``threshold``.
    """

    def __init__(self, cls: FunctionClass, learner: Learner, g: Function, batches: Batches, labels: np.ndarray,
                 threshold: float):
        self.cls, self.learner, self.g = cls, learner, g
        self.batches, self.labels = batches, labels
        self.threshold = threshold
        self._predict = learner.fit_batches(cls, batches, labels)  # the voters, trained once

    @property
    def voters(self) -> int:
        return self.batches.V

    @property
    def X(self) -> np.ndarray:
        """The training batches, ``(V, k, *point_shape)``."""
        return self.batches.points[self.batches.indices()]

    @property
    def Y(self) -> np.ndarray:
        """Their labels by g, ``(V, k)``."""
        return self.labels[self.batches.indices()]

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if len(x) == 0:
            return np.zeros(0, dtype=float)
        predictions = self._predict(x)
        return np.mean(predictions != np.asarray(self.g(x))[None, :], axis=0, dtype=float)


@register("defenders", "vote")
class Vote(Defender):
    """Distillation plus ensembling: N voters on independent batches of k samples labelled by g.

    Parameters: ``learner`` (a learner SPEC; by default the class's natural learner,
    :func:`~defendability.learners.base.natural_learner`: ``closure`` on an
    intersection-closed class, ``span`` on parities, else ``erm``, else ``estimator``;
    the referee resolves it per class, so results name it), ``k`` (batch size;
    default floor(1/(4 eps)), or m_A(eta) = ``learner.sample_size(cls, eta)`` when
    ``eta`` is given: the efficient PAC defender of THEORY.md §3, whose k does not
    depend on eps), ``voters`` (N; default ceil(32 ln(2/delta))), ``delta`` (0.05),
    ``threshold`` (tau, 0.5: REJECT iff more than a fraction tau of voters disagree
    with g(x)), ``eta`` (target error of the learner; give ``k`` or ``eta``, not both).
    A learner with its own ensemble size (``students`` on networks: 16 students of
    3,000 examples) sets N and k where they are not given.

    fit: N independent batches of k samples (``Sampler.batches``), and one call of g on
    the distinct points drawn. score(x): fraction of voters whose prediction at x
    disagrees with g(x), ``(Q,)`` floats in [0, 1]. Cost per fitted function: N*k
    samples and at most N*k evaluations of g (one per distinct point drawn: on a finite
    support, far fewer), plus one evaluation of g per scored input.

    Guarantee (derived, THEORY.md §2.1 and §3), with e = ``learner.expected_error(cls, k)``:
    alpha <= (8/3) e + exp(-N/32) and beta <= 8 e + exp(-N/32), provided tau = 1/2 and
    k*eps <= 1/4; ``guarantee`` returns ``None`` otherwise or when e is unknown.
    Follows CHLX Theorem 4.1's defender: voters on independent batches. (The subset
    voting scheme of Hanneke et al. (2022), one pool split into voters, is ``pool-vote``.)
    """

    @property
    def graded(self) -> bool:  # type: ignore[override]
        """Scores are graded (AUROC meaningful) only with more than one voter."""
        return self.voter_count() > 1

    test_spec = "vote:voters=11"
    test_match = Match(cls="subsets:N=12,d=3", attacker="mixture", eps=0.1)

    def __init__(self, learner: str | Learner | None = None, k: int | None = None, voters: int | None = None,
                 delta: float = 0.05, threshold: float = 0.5, eta: float | None = None):
        check(k is None or (isinstance(k, int) and k >= 1), f"k must be an integer >= 1, got {k}")
        check(voters is None or (isinstance(voters, int) and 1 <= voters <= MAX_VOTERS),
              f"voters must be an integer in [1, {MAX_VOTERS:,}], got {voters}")
        check(0.0 < delta < 1.0, f"delta must be in (0, 1), got {delta}")
        check(0.0 <= threshold < 1.0, f"threshold must be in [0, 1), got {threshold}")
        check(eta is None or 0.0 < eta < 1.0, f"eta must be in (0, 1), got {eta}")
        check(k is None or eta is None, f"give k or eta, not both (got k={k}, eta={eta})")
        #: The learner, or ``None``: the class's natural learner, chosen per class
        #: (:meth:`learner_for`, :meth:`resolved`).
        self.learner: Learner | None = None if learner is None else build("learners", learner)
        check(self.learner is None or isinstance(self.learner, Learner),
              f"learner must be a learner SPEC, got {learner!r}")
        self.k, self.voters, self.delta, self.threshold, self.eta = k, voters, delta, threshold, eta

    # -- the learner -----------------------------------------------------------------
    def learner_for(self, cls: FunctionClass) -> Learner:
        """The learner that plays on ``cls``: as given, else the class's natural one."""
        return self.learner if self.learner is not None else natural_learner(cls)

    def resolved(self, cls: FunctionClass) -> "Vote":
        """This defender with its learner chosen for ``cls`` (itself when it has one)."""
        if self.learner is not None:
            return self
        out = copy.copy(self)
        out.learner = natural_learner(cls)
        return out

    def check_class(self, cls: FunctionClass) -> None:
        """``IncompatibleError`` when the learner cannot play on ``cls`` (it decides: the
        closure learner needs an intersection-closed class, ...), or no learner can;
        ``ParameterError`` in eta mode when the learner gives no sample size for ``cls``."""
        learner = self.learner_for(cls)
        learner.check_class(cls)
        if self.eta is not None:
            self._pac_size(learner, cls)

    def _pac_size(self, learner: Learner, cls: FunctionClass) -> int:
        k = learner.sample_size(cls, self.eta)
        if k is None:
            raise ParameterError(f"learner {learner!r} gives no PAC sample size for class {cls!r}; "
                                 "give k instead of eta")
        return max(1, int(k))

    # -- sizes -----------------------------------------------------------------------
    def batch_size(self, cls: FunctionClass, eps: float) -> int:
        """k: as given, else m_A(eta) in eta mode, else floor(1/(4 eps)) (at least 1)."""
        if self.k is not None:
            return self.k
        if self.eta is not None:
            return self._pac_size(self.learner_for(cls), cls)
        own = self.learner_for(cls).ensemble_size(cls, eps)
        return own[1] if own is not None else default_batch(eps)

    def voter_count(self, cls: FunctionClass | None = None, eps: float | None = None) -> int:
        """N: as given, else the learner's own ensemble size on ``cls`` (students), else
        ceil(32 ln(2/delta))."""
        if self.voters is not None:
            return self.voters
        own = None if cls is None or eps is None else self.learner_for(cls).ensemble_size(cls, eps)
        return own[0] if own is not None else default_voters(self.delta)

    # -- fitting ---------------------------------------------------------------------
    def training_sets(self, g: Function, sampler: Sampler, voters: int, k: int,
                      rng: np.random.Generator) -> tuple[Batches, np.ndarray]:
        """Independent batches, and g's labels of their points (``(u,)`` uint8)."""
        batches = sampler.batches(voters, k)
        return batches, np.asarray(g(batches.points), dtype=np.uint8)

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> VoteDetector:
        check(0.0 < eps < 1.0, f"eps must be in (0, 1), got {eps}")
        batches, labels = self.training_sets(g, sampler, self.voter_count(cls, eps), self.batch_size(cls, eps), rng)
        return VoteDetector(cls, self.learner_for(cls), g, batches, labels, self.threshold)

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        k = self.batch_size(cls, eps)
        e = self.learner_for(cls).expected_error(cls, k)
        if e is None or self.threshold != 0.5 or k * eps > 0.25 * (1.0 + ROUNDING_SLACK):
            return None
        tail = math.exp(-self.voter_count(cls, eps) / 32.0)
        return {"alpha": min(1.0, 8.0 / 3.0 * e + tail), "beta": min(1.0, 8.0 * e + tail)}


@register("defenders", "distill")
class Distill(Vote):
    """Plain distillation: one voter trained on k samples labelled by g (no ensemble).

    Parameters: ``learner`` (default: the class's natural learner, as for ``vote``),
    ``k`` (default floor(1/(4 eps)), or
    m_A(eta) when ``eta`` is given), ``eta``. It is ``vote`` with N = 1, so ``voters``
    and ``delta`` (which only sets N) are not parameters, nor is ``threshold``: the
    score is 0 or 1 (``graded = False``) and any threshold in [0, 1) gives the same
    decisions, REJECT iff the copy disagrees with g at x.

    Cost: k samples and k evaluations of g, plus one per scored input.

    Guarantee (derived here from the argument of THEORY.md §2.1; not a constant of
    THEORY): alpha <= e(k) (a clean x is rejected exactly when the copy errs at x) and
    beta <= k*eps + e(k) (the batch meets {f != f*} with probability at most k*eps,
    otherwise it is an f-labelled batch and the copy must err at x*). With k of order
    1/eps this is weak, as THEORY.md §2.1 expects of a single voter (about sqrt(d eps)
    at best for poison-sensitive learners); ``None`` when e(k) is unknown.
    """

    graded = False
    test_spec = "distill"
    test_match = Match(cls="subsets:N=12,d=3", attacker="mixture", eps=0.1)

    def __init__(self, learner: str | Learner | None = None, k: int | None = None, eta: float | None = None):
        super().__init__(learner=learner, k=k, voters=1, eta=eta)

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        k = self.batch_size(cls, eps)
        e = self.learner_for(cls).expected_error(cls, k)
        if e is None:
            return None
        return {"alpha": min(1.0, e), "beta": min(1.0, k * eps + e)}


@register("defenders", "pool-vote")
class PoolVote(Vote):
    """Hanneke-style voting: N voters on random size-k subsets of one pool labelled by g.

    Parameters: as ``vote`` (``learner``, ``k``, ``voters``, ``delta``, ``threshold``,
    ``eta``), plus ``pool``: the pool size m (default 4k, our choice: large enough that
    voters' subsets overlap little, small enough that the pool costs 4x fewer samples
    than ``vote`` would with 119 voters). Each voter's subset is drawn without
    replacement within the voter and independently across voters; must have pool >= k.

    Cost: m samples and m evaluations of g per fitted function, plus one evaluation per
    scored input (against N*k for ``vote``). The score and the decision are those of
    ``vote``. Follows the subset-voting learner of Hanneke, Karbasi, Mahmoody, Mehalel
    and Moran (2022), "On Optimal Learning Under Targeted Data Poisoning"; the voters
    share samples, so ``vote``'s independent-voter bound does not apply and
    ``guarantee`` is ``None``.
    """

    test_spec = "pool-vote:voters=11"
    test_match = Match(cls="subsets:N=12,d=3", attacker="mixture", eps=0.1)

    def __init__(self, learner: str | Learner | None = None, k: int | None = None, voters: int | None = None,
                 delta: float = 0.05, threshold: float = 0.5, eta: float | None = None,
                 pool: int | None = None):
        super().__init__(learner=learner, k=k, voters=voters, delta=delta, threshold=threshold, eta=eta)
        check(pool is None or (isinstance(pool, int) and pool >= 1), f"pool must be an integer >= 1, got {pool}")
        check(pool is None or k is None or pool >= k, f"pool must be >= k, got pool={pool}, k={k}")
        self.pool = pool

    def pool_size(self, k: int) -> int:
        """m: as given, else 4k."""
        return self.pool if self.pool is not None else 4 * k

    def training_sets(self, g: Function, sampler: Sampler, voters: int, k: int,
                      rng: np.random.Generator) -> tuple[Batches, np.ndarray]:
        """Subsets of one pool, as batches indexing the pool, and the pool's labels."""
        m = self.pool_size(k)
        if m < k:
            raise ParameterError(f"pool must be >= k, got pool={m}, k={k}")
        points = sampler(m)
        labels = np.asarray(g(points), dtype=np.uint8)
        # The k smallest of m i.i.d. uniform keys are a uniform k-subset of the pool.
        rows = max(1, _KEYS_PER_CHUNK // m)
        index = np.concatenate([np.argpartition(rng.random((min(rows, voters - start), m)), k - 1, axis=1)[:, :k]
                                for start in range(0, voters, rows)])
        return Batches(points, index=index), labels

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        return None
