"""The weight-test defender: a static test of a model's first-layer weights against the
clean sampler's law, run without the key (THEORY.md §6.2; docs/static-detection.md)."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.classifiers import Classifiers, ReLUModel, RFFModel
from ..errors import IncompatibleError, check
from ..registry import Match, register
from ..spaces import Sampler
from ..static import WEIGHT_TESTS
from .base import Defender
from .model_evidence import EvidenceDetector, check_alpha_level

#: Member types whose first-layer weights have the public clean law i.i.d. N(0, 1) that
#: every test of :data:`~defendability.static.WEIGHT_TESTS` takes as its null (the clean
#: RFF sampler's frequencies and the clean random-ReLU network's hidden weights).
WEIGHTED = (RFFModel, ReLUModel)


@register("defenders", "weight-test")
class WeightTest(Defender):
    """White-box: REJECT iff the p-value of a test of g's weights W ``(m, d)`` against
    "i.i.d. N(0, 1) entries" (the clean RFF sampler's law) is at most ``alpha_level``.

    Parameters: ``test`` (one of :data:`~defendability.static.WEIGHT_TESTS`:
    ``coordinate-ks``, ``norm-ks`` (default), ``energy``, ``top-eigenvalue``,
    ``diagonal``; null laws and what each sees in docs/static-detection.md),
    ``alpha_level`` (default 0.01). Plays ``classifiers``; the member must carry weights
    (an :class:`~defendability.classes.classifiers.RFFModel` or
    :class:`~defendability.classes.classifiers.ReLUModel`): ``fit`` refuses any other
    member with ``IncompatibleError``.

    score(x): 1 - p for every input (the model is tested, not the input), graded; the
    decision is the same for every input. Cost: no evaluations of g, no samples (the
    weights are read). Guarantee: alpha <= ``alpha_level`` whenever the clean side's
    weights have the null law (the clean RFF sampler's), exactly for the derived nulls
    (coordinate-KS, norm-KS, energy, diagonal; reported as ``{"alpha": alpha_level,
    "beta": 1}``) and approximately for the top-eigenvalue test (its Tracy–Widom tail is
    cited, not exact; no guarantee reported).
    """

    test_match = Match(cls="classifiers:data=gaussian,d=4,train=40,test=40", attacker="rff-clwe:features=20", mode="static", eps=0.5)

    graded = True

    def __init__(self, test: str = "norm-ks", alpha_level: float = 0.01):
        check(test in WEIGHT_TESTS, f"weight-test: test must be one of {', '.join(WEIGHT_TESTS)}, got {test!r}")
        self.test = test
        self.alpha_level = check_alpha_level(alpha_level, "weight-test")

    def check_class(self, cls: FunctionClass) -> None:
        if not isinstance(cls, Classifiers):
            raise IncompatibleError(f"weight-test: needs trained classifiers with weights (classifiers:...), "
                                    f"not {cls.name!r}")

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> EvidenceDetector:
        self.check_class(cls)
        model = unwrap(g)  # white-box: the representation, read without evaluating g
        if type(model) not in WEIGHTED:
            raise IncompatibleError(f"weight-test: the member {type(model).__name__} has no first-layer weights "
                                    f"to test; it reads RFF and random-ReLU models (the rff-clwe and "
                                    f"relu-sparse-pca attackers')")
        return EvidenceDetector(WEIGHT_TESTS[self.test](model.weights), self.alpha_level)

    def guarantee(self, cls: FunctionClass, eps: float) -> dict[str, float] | None:
        # the clean RFF sampler draws W with i.i.d. N(0, 1) entries: the tests' null law
        # (the top-eigenvalue tail is approximate, so no bound is claimed for it); beta
        # has no bound but the trivial one
        return None if self.test == "top-eigenvalue" else {"alpha": self.alpha_level, "beta": 1.0}
