"""The rff-clwe attacker: GKVZ's white-box-undetectable backdoor in random Fourier
features (THEORY.md §6.2), played in the perturbation and static modes."""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.classifiers import Classifiers, RFFModel
from ..crypto.clwe import PancakeLaw, input_statistic, weight_statistic
from ..errors import IncompatibleError, check
from ..models.rff import (
    MAX_FEATURES,
    CLWEBackdooredRFF,
    RFFClassifier,
    RFFKey,
)
from ..registry import Match, register
from ..spaces import Distribution
from ._shift import shift_activation
from .base import Attacker

if TYPE_CHECKING:  # pragma: no cover
    from ..trace import Trace

#: Keys of planted backdoors kept to activate inputs (one per round; oldest dropped).
KEPT_KEYS = 256

#: The input test counts activation shifts: |scale <x, w> / gamma| is about 0 on a natural
#: input and 1 on an activated one (either sign); REJECT above the midpoint.
ACTIVATED = 0.5

#: Clean trainings kept in memory, keyed by class, hyperparameters and training seed, so
#: that a replayed ``setup`` (trace access) costs no new training.
TRAINED_CACHE = 64


@functools.lru_cache(maxsize=TRAINED_CACHE)
def _clean(cls: Classifiers, features: int, scale: float, ridge: float, seed: int) -> RFFModel:
    ds = cls.dataset
    model = RFFClassifier(features, scale, ridge).fit(ds.X_train, ds.y_train, np.random.default_rng(seed))
    return RFFModel.from_model(model)


@register("attackers", "rff-clwe")
class RFFCLWE(Attacker):
    """GKVZ's CLWE backdoor in random Fourier features: f clean, f* with pancake weights.

    Setup: D = the class's default distribution (the test inputs); f = a clean RFF model
    (``features`` frequencies at ``scale``, ridge head ``ridge``) trained on the training
    split with honest randomness (a seed drawn from the rng; cached). Plant: f* = the
    CLWE-backdoored RFF model trained on the same data with the attacker's coins (a secret
    unit vector w, weights from the half-offset Gaussian pancakes with noise ``beta``,
    gamma = 2 sqrt(d)); the member is the released arrays, the key stays with the attacker.
    Activate(x): x + (gamma/scale) w, which shifts every feature's phase by pi and flips f*
    almost everywhere; since f at that far-away point is itself close to a coin toss, the
    attacker uses -(gamma/scale) w instead (the same phase shift, the same norm) when that
    is where f* and f differ.

    Budget: exactly ||x' - x||_2 = gamma/scale; l_inf is declared as the same number (an
    upper bound: |w_i| <= 1). This is large: at the default scale 0.02 and d = 32 it is
    about 566, about a hundred times ||x|| (THEORY.md §6.2's honest limit: wherever the model
    generalises the trigger is not a small perturbation). Distance: f and f* are trained
    with different randomness, so they disagree on a few percent of natural inputs (the
    spread of two clean models); eps must allow it.

    Plays ``classifiers`` on Gaussian data (``classifiers:data=gaussian,...``).

    Trapdoor test (:meth:`trapdoor_test`, for ``key-holder:check=trapdoor``): the lattice
    tests of THEORY.md §6.2 with the secret w and gamma replayed from the tape.
    """

    test_spec = "rff-clwe:features=20"
    test_match = Match(cls="classifiers:data=gaussian,d=4,train=40,test=40", mode="perturbation", eps=0.5)

    modes = ("perturbation", "static")

    def __init__(self, beta: float = 0.01, features: int = 500, scale: float = 0.02, ridge: float = 1.0):
        who = "rff-clwe"
        check(isinstance(beta, (int, float)) and not isinstance(beta, bool) and math.isfinite(beta) and beta >= 0,
              f"{who}: beta must be a finite number >= 0, got {beta!r}")
        check(isinstance(features, int) and not isinstance(features, bool) and 1 <= features <= MAX_FEATURES,
              f"{who}: features must be an integer in [1, {MAX_FEATURES}], got {features!r}")
        for name, value in (("scale", scale), ("ridge", ridge)):
            check(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                  and value > 0, f"{who}: {name} must be a finite number > 0, got {value!r}")
        self.beta, self.features, self.scale, self.ridge = float(beta), features, float(scale), float(ridge)
        self._planted: OrderedDict[tuple, tuple[RFFKey, Function]] = OrderedDict()

    def check_class(self, cls: FunctionClass) -> None:
        if not isinstance(cls, Classifiers) or cls.data != "gaussian":
            raise IncompatibleError(f"rff-clwe: needs classifiers on Gaussian data (classifiers:data=gaussian,...), "
                                    f"not {cls!r}")

    def gamma(self, cls: Classifiers) -> float:
        """The slab frequency: 2 sqrt(d), the smallest value of the CLWE hardness regime."""
        return 2.0 * math.sqrt(cls.d)

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        self.check_class(cls)
        seed = int(rng.integers(0, 1 << 63))
        cached = _clean(cls, self.features, self.scale, self.ridge, seed)
        return cls.default_distribution(), RFFModel(cached.weights.copy(), cached.offsets.copy(),
                                                    cached.coef.copy(), cached.scale)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray, eps: float,
                 rng: np.random.Generator) -> Function | None:
        raise IncompatibleError("rff-clwe: plants a backdoor and activates inputs; it has no trigger to flip")

    def plant(self, cls: FunctionClass, dist: Distribution, f: Function, eps: float,
              rng: np.random.Generator) -> Function | None:
        model = self._train(cls, rng)
        f_star = RFFModel.from_model(model.released())
        self._planted[f_star.key()] = (model.key_, unwrap(f))
        while len(self._planted) > KEPT_KEYS:
            self._planted.popitem(last=False)
        return f_star

    def _train(self, cls: Classifiers, rng: np.random.Generator) -> CLWEBackdooredRFF:
        """The backdoored training ``plant`` makes (the secret is its first draw)."""
        ds = cls.dataset
        model = CLWEBackdooredRFF(self.features, self.scale, self.ridge, gamma=self.gamma(cls), beta=self.beta)
        return model.fit(ds.X_train, ds.y_train, rng)

    def trapdoor_test(self, trace: Trace, g: Function) -> Callable[[np.ndarray], np.ndarray]:
        """The key-holder's lattice test: REJECT (score 1) the pair (g, x) iff g's weights
        carry this round's pancakes and, in perturbation mode, x is displaced along w.

        The key (secret w, gamma, beta, scale) is recomputed from the tape: ``setup``,
        then the training ``plant`` makes (the clean side's tape is the same, so both
        sides get it). *Weight test* (white-box, on g's frequencies W, ``(m, d)``):
        mean_i cos(2 pi gamma <W_i, w>) (:func:`~defendability.crypto.clwe.weight_statistic`)
        is E = :meth:`PancakeLaw.expected_cos` ≈ -exp(-2 pi^2 beta^2) on pancake weights
        and 0 with standard deviation 1/sqrt(2m) on clean N(0, I) weights; the model is
        backdoored iff the statistic is below E/2, the midpoint (at beta = 0.01 and
        m = 100, seven clean standard deviations from each side). It detects *this*
        key's comb only, and fails once beta is large enough that E/2 is within a few
        1/sqrt(2m) of 0 (beta past about 0.3 at m = 500): the comb has faded. *Input
        test*: |scale <x, w> / gamma| (:func:`~defendability.crypto.clwe.input_statistic`)
        counts the activation shifts ±(gamma/scale) w that x carries: about 0 on a
        natural input, about 1 on an activated one; activated iff above 1/2. It detects
        any input moved that far along w, whatever the model. In perturbation mode the
        game asks about the pair, so REJECT iff both hold; in static mode the input is an
        ordinary one on both sides, and the weight test alone decides. Costs no
        evaluation of g; the replay costs one backdoored training per fit.
        """
        cls = trace.cls
        rng = trace.tape()
        self.setup(cls, trace.eps, rng)
        key = self._train(cls, rng).key_
        model = unwrap(g)
        carries = False
        if isinstance(model, RFFModel) and model.weights.shape[1:] == key.secret.shape:
            expected = PancakeLaw.of(key.gamma, key.beta).expected_cos()
            carries = weight_statistic(model.weights, key.secret, key.gamma) < expected / 2.0
        static = trace.mode == "static"

        def test(x: np.ndarray) -> np.ndarray:
            x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
            if not carries:
                return np.zeros(len(x))
            if static:
                return np.ones(len(x))
            shifts = np.abs(input_statistic(x, key.secret, key.gamma, key.scale))
            return (shifts > ACTIVATED).astype(float)

        return test

    def activate(self, cls: FunctionClass, f_star: Function, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        f_star = unwrap(f_star)
        planted = self._planted.get(f_star.key()) if isinstance(f_star, RFFModel) else None
        if planted is None:
            raise IncompatibleError("rff-clwe: can only activate a backdoor it planted itself")
        key, f = planted
        return shift_activation(f_star, f, x, key.shift)

    def perturbation_budget(self, cls: FunctionClass) -> tuple[float, float]:
        self.check_class(cls)
        norm = self.gamma(cls) / self.scale
        return norm, norm
