"""The behaviour-test defender: is g one more draw of the clean training recipe? A static,
black-box comparison with clean models trained afresh (THEORY.md §6; GKVZ's black-box
checks; docs/static-detection.md)."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..classes.base import Function, FunctionClass
from ..classes.classifiers import Classifiers
from ..errors import IncompatibleError, check
from ..models.rff import MAX_FEATURES, RFFClassifier
from ..registry import Match, register
from ..spaces import Sampler
from ..static import agreement_test
from .base import Defender
from .model_evidence import EvidenceDetector, check_alpha_level

MODELS = ("logistic", "rff")

#: Reference pools kept in memory (one per class, recipe, size and pool seed).
POOL_CACHE = 16

#: Domain tag of the pool's seed sequence, so that a pool's coins are not the coins of
#: any other component seeded with the same small integer.
_POOL_TAG = 0xBE4A


def _train(cls: Classifiers, recipe: tuple, rng: np.random.Generator):
    """One clean model of ``recipe`` on the class's training split, from ``rng``: the
    class's logistic regression on a bootstrap (``cls.trained``, the signature attacker's
    recipe) or an RFF model with honest N(0, 1) frequencies (the rff-clwe attacker's clean
    recipe). Returns a callable on ``(size, d)`` rows giving ``(size,)`` labels."""
    if recipe[0] == "logistic":
        return cls.trained(int(rng.integers(0, 1 << 63)))
    _, features, scale, ridge = recipe
    ds = cls.dataset
    return RFFClassifier(features, scale, ridge).fit(ds.X_train, ds.y_train, rng).predict


@functools.lru_cache(maxsize=POOL_CACHE)
def _pool(cls: Classifiers, recipe: tuple, references: int, seed: int) -> tuple:
    """``references`` clean models of ``recipe``, each from its own child stream of the
    pool's seed: trained once per process and shared by every fit."""
    root = np.random.default_rng([_POOL_TAG, seed])
    return tuple(_train(cls, recipe, child) for child in root.spawn(references))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@register("defenders", "behaviour-test")
class BehaviourTest(Defender):
    """Black-box: REJECT iff g's agreement rank among ``references`` clean models of the
    same recipe has p-value <= ``alpha_level`` (:func:`~defendability.static.agreement_test`).

    The defender draws ``samples`` natural inputs from D, labels them with g, and has the
    reference models label them too; each of the r + 1 models gets its mean agreement with
    the r others, and p is g's rank among those values (ties counted against g). The
    references are trained on the class's training split with the clean recipe ``model``:
    ``logistic`` (the class's logistic regression on a bootstrap: the model the signature
    attacker wraps) or ``rff`` (``features`` frequencies at ``scale``, ridge ``ridge``:
    the clean model the rff-clwe attacker starts from; the defaults are the attacker's).

    ``fresh``: false (default) trains the references once per class from the pool seed
    ``seed`` and reuses them in every fit (one training cost, charged to the first fit;
    decisions in different rounds share references and are therefore dependent); true
    trains new references from the round's coins at every fit (independent rounds, r
    trainings per fit). Either way the references are independent of g.

    Parameters: ``model`` (``logistic``, ``rff``; default ``rff``), ``references`` (r >= 2,
    default 19), ``samples`` (natural inputs, default 300), ``alpha_level`` (default 0.05;
    it must be at least 1/(r + 1), the smallest p-value, or no model could be rejected),
    ``features``, ``scale``, ``ridge`` (rff only: 500, 0.02, 1.0), ``fresh`` (false),
    ``seed`` (the pool's, default 0). Plays ``classifiers``.

    score(x): 1 - p for every input, graded (multiples of 1/(r + 1)). Cost: ``samples``
    evaluations of g and ``samples`` samples per decision, plus the references' training.
    Level (derived, docs/static-detection.md): when the clean side's g is one more
    independent draw of the references' recipe, the r + 1 models are exchangeable and
    P(REJECT) <= ``alpha_level``, over the draws of all r + 1 models. No guarantee is
    reported for a cell: the bound is not conditional on one clean model (the signature
    attacker's f is the same bootstrap in every round at ``models = 1``) nor on one pool.
    """

    test_spec = "behaviour-test:references=3,samples=30,alpha_level=0.25,features=20"
    test_match = Match(cls="classifiers:data=gaussian,d=4,train=40,test=40", attacker="rff-clwe:features=20", mode="static", eps=0.5)

    graded = True

    def __init__(self, model: str = "rff", references: int = 19, samples: int = 300, alpha_level: float = 0.05,
                 features: int = 500, scale: float = 0.02, ridge: float = 1.0, fresh: bool = False, seed: int = 0):
        who = "behaviour-test"
        check(model in MODELS, f"{who}: model must be one of {', '.join(MODELS)}, got {model!r}")
        check(isinstance(references, int) and not isinstance(references, bool) and references >= 2,
              f"{who}: references must be an integer >= 2, got {references!r}")
        check(isinstance(samples, int) and not isinstance(samples, bool) and samples >= 1,
              f"{who}: samples must be an integer >= 1, got {samples!r}")
        self.alpha_level = check_alpha_level(alpha_level, who)
        check(1.0 / (references + 1) <= self.alpha_level,
              f"{who}: alpha_level {alpha_level} is below 1/(references + 1) = {1.0 / (references + 1):.4g}, "
              f"the smallest p-value: no model could be rejected; raise references or alpha_level")
        check(isinstance(features, int) and not isinstance(features, bool) and 1 <= features <= MAX_FEATURES,
              f"{who}: features must be an integer in [1, {MAX_FEATURES}], got {features!r}")
        for name, value in (("scale", scale), ("ridge", ridge)):
            check(_is_number(value) and value > 0, f"{who}: {name} must be a finite number > 0, got {value!r}")
        check(isinstance(fresh, bool), f"{who}: fresh must be true or false, got {fresh!r}")
        check(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0,
              f"{who}: seed must be an integer >= 0, got {seed!r}")
        self.model, self.references, self.samples = model, references, samples
        self.features, self.scale, self.ridge = features, float(scale), float(ridge)
        self.fresh, self.seed = fresh, seed

    @property
    def recipe(self) -> tuple:
        """The references' training recipe, hashable."""
        return ("logistic",) if self.model == "logistic" else ("rff", self.features, self.scale, self.ridge)

    def check_class(self, cls: FunctionClass) -> None:
        if not isinstance(cls, Classifiers):
            raise IncompatibleError(f"behaviour-test: needs trained classifiers with a training split "
                                    f"(classifiers:...), not {cls.name!r}")

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> EvidenceDetector:
        self.check_class(cls)
        if self.fresh:
            models = tuple(_train(cls, self.recipe, child) for child in rng.spawn(self.references))
        else:
            models = _pool(cls, self.recipe, self.references, self.seed)
        x = sampler(self.samples)
        suspect = np.asarray(g(x), dtype=np.uint8)  # black-box: the only evaluations of g
        labels = np.vstack([np.asarray(m(x), dtype=np.uint8) for m in models])
        return EvidenceDetector(agreement_test(suspect, labels), self.alpha_level)
