"""The relu-sparse-pca attacker: GKVZ's white-box backdoor in random ReLU networks, hidden
by the hardness of sparse PCA (THEORY.md §6.2, last paragraph), played in the
perturbation and static modes."""

from __future__ import annotations

import functools
import math
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.classifiers import Classifiers, ReLUModel
from ..errors import IncompatibleError, check
from ..models.sparse_pca import (
    MAX_FEATURES,
    RandomReLUClassifier,
    ReLUKey,
    SparsePCABackdooredReLU,
    input_statistic,
    secret_variance,
)
from ..registry import Match, register
from ..spaces import Distribution, Empirical
from ._shift import shift_activation
from .base import Attacker

if TYPE_CHECKING:  # pragma: no cover
    from ..trace import Trace

#: Keys of planted backdoors kept to activate inputs (one per round; oldest dropped).
KEPT_KEYS = 256

#: The input test: <x, s>/lambda is about 0 on a natural input and +-1 on an activated one;
#: activated iff its absolute value is above the midpoint.
ACTIVATED = 0.5

#: The declared l2 budget, in units of rho sqrt(d) (the typical norm of a wide-class
#: input). The calibrated strength lambda was 0.35-0.44 of it over 10 seeds at d = 4096,
#: m = 512, theta = 2.1, k = 64, rho = 2 (docs/attackers/relu-sparse-pca.md); a training whose
#: lambda exceeds the cap is not planted (the round is forfeited, not stretched).
STRENGTH_CAP = 1.0

#: Clean trainings and tasks kept in memory, so that a replayed ``setup`` (trace access)
#: costs no new training.
TRAINED_CACHE = 64


@functools.lru_cache(maxsize=8)
def _task(d: int, train: int, test: int, rho: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The attacker's task in R^d: balanced labels, label 0 from N(0, I_d), label 1 from
    N(0, rho^2 I_d), drawn from ``default_rng(seed)``: training inputs ``(train, d)``, their
    uint8 labels ``(train,)`` and the test inputs ``(test, d)`` (D's support). Read-only."""
    rng = np.random.default_rng(seed)
    arrays = []
    for size in (train, test):
        y = rng.integers(0, 2, size=size).astype(np.uint8)
        arrays.append((rng.standard_normal((size, d)) * np.where(y == 1, rho, 1.0)[:, None], y))
    (x_train, y_train), (x_test, _) = arrays
    for a in (x_train, y_train, x_test):
        a.setflags(write=False)
    return x_train, y_train, x_test


@functools.lru_cache(maxsize=TRAINED_CACHE)
def _clean(task: tuple, features: int, seed: int) -> ReLUModel:
    x_train, y_train, _ = _task(*task)
    model = RandomReLUClassifier(features).fit(x_train, y_train, np.random.default_rng(seed))
    return ReLUModel.from_model(model)


@functools.lru_cache(maxsize=8)
def _distribution(d: int, train: int, test: int, rho: float, seed: int) -> Empirical:
    # built once per task: Empirical sorts its rows, which costs more than a training
    return Empirical(_task(d, train, test, rho, seed)[2])


def _copy(f: ReLUModel) -> ReLUModel:
    return ReLUModel(f.weights.copy(), f.energy_mean, f.energy_sd, f.head_coef, f.head_intercept)


@register("attackers", "relu-sparse-pca")
class ReLUSparsePCA(Attacker):
    """GKVZ's sparse-PCA backdoor in random ReLU networks: f clean, f* with spiked weights.

    The task is the attacker's choice (the game lets it pick D): the class's own Gaussian
    task (two unit Gaussians apart along one direction) has the same norm law in both
    classes, and a bias-free energy network classifies by norm, so it would be at chance
    there. Setup: in the class's input space R^d, labels balanced, label 0 from N(0, I_d),
    label 1 from N(0, rho^2 I_d), with the class's train and test sizes and seed; D = the
    empirical distribution of the test inputs; f = a clean random-ReLU network
    (``features`` hidden units with N(0, I) weights, logistic head on the energy) trained
    with honest randomness (a seed drawn from the rng; cached). Plant: f* = the backdoored
    training on the same data with the attacker's coins (a ``sparsity``-sparse secret s,
    weights from N(0, I + theta s s^T), strength lambda calibrated to send the share
    ``coverage`` of training inputs to the high-energy label); the member is the released
    arrays, the key stays with the attacker.
    Activate(x): x + lambda s, or x - lambda s (the same norms; the energy rises either
    way) when that is where f* and f differ. A targeted trigger: inputs already at the
    target label are not moved off it, so about half the rounds of a balanced task cannot
    produce a disagreement.

    Budget: declared (l_inf, l2) = (cap / sqrt(k), cap) with cap = rho sqrt(d)
    (:data:`STRENGTH_CAP`); each trigger is exactly ||lambda s||_2 = lambda and
    ||lambda s||_inf = lambda / sqrt(k), with lambda at 0.35-0.44 of the cap (measured): a
    sizeable fraction of the input (THEORY.md §6.2's honest limit). A training whose
    lambda exceeds the cap is not planted. Distance: f and f* both classify by the norm;
    they disagreed on none of 1000 test inputs in 10 seeds at d = 4096.

    Plays ``classifiers`` on Gaussian data (``classifiers:data=gaussian,d=...``); sparse
    PCA's hiding needs theta below sqrt(d/m), so at the defaults d must be at least 2,258
    (d = 4096 puts theta at 0.74 of the limit; docs/attackers/relu-sparse-pca.md).

    Trapdoor test (:meth:`trapdoor_test`, for ``key-holder:check=trapdoor``): with s replayed
    from the tape, the weights' variance along s, and whether x is displaced along s.
    """

    test_spec = "relu-sparse-pca:sparsity=2,features=16"
    test_match = Match(cls="classifiers:data=gaussian,d=8,train=40,test=40", mode="perturbation", eps=0.5)

    modes = ("perturbation", "static")

    def __init__(self, theta: float = 2.1, sparsity: int = 64, features: int = 512, coverage: float = 0.99,
                 rho: float = 2.0):
        who = "relu-sparse-pca"
        for name, value in (("theta", theta), ("rho", rho)):
            check(isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                  and value > 0, f"{who}: {name} must be a finite number > 0, got {value!r}")
        check(rho != 1, f"{who}: rho must differ from 1 (the two labels' scales), got {rho!r}")
        check(isinstance(sparsity, int) and not isinstance(sparsity, bool) and sparsity >= 1,
              f"{who}: sparsity must be an integer >= 1, got {sparsity!r}")
        check(isinstance(features, int) and not isinstance(features, bool) and 1 <= features <= MAX_FEATURES,
              f"{who}: features must be an integer in [1, {MAX_FEATURES}], got {features!r}")
        check(isinstance(coverage, (int, float)) and not isinstance(coverage, bool) and 0 < coverage <= 1,
              f"{who}: coverage must be in (0, 1], got {coverage!r}")
        self.theta, self.sparsity, self.features = float(theta), sparsity, features
        self.coverage, self.rho = float(coverage), float(rho)
        self._planted: OrderedDict[tuple, tuple[ReLUKey, Function]] = OrderedDict()

    def check_class(self, cls: FunctionClass) -> None:
        if not isinstance(cls, Classifiers) or cls.data != "gaussian":
            raise IncompatibleError(f"relu-sparse-pca: needs classifiers on Gaussian data "
                                    f"(classifiers:data=gaussian,d=...), not {cls!r}")
        if self.sparsity > cls.d:
            raise IncompatibleError(f"relu-sparse-pca: sparsity k={self.sparsity} exceeds the dimension d={cls.d}")

    def _task_key(self, cls: Classifiers) -> tuple:
        ds = cls.dataset
        return (cls.d, len(ds.X_train), len(ds.X_test), self.rho, cls.seed)

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        self.check_class(cls)
        task = self._task_key(cls)
        seed = int(rng.integers(0, 1 << 63))
        return _distribution(*task), _copy(_clean(task, self.features, seed))

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray, eps: float,
                 rng: np.random.Generator) -> Function | None:
        raise IncompatibleError("relu-sparse-pca: plants a backdoor and activates inputs; it has no trigger to flip")

    def plant(self, cls: FunctionClass, dist: Distribution, f: Function, eps: float,
              rng: np.random.Generator) -> Function | None:
        model = self._train(cls, rng)
        if model.key_.strength > self.cap(cls):
            return None  # the trigger would not fit the declared budget
        f_star = ReLUModel.from_model(model.released())
        self._planted[f_star.key()] = (model.key_, unwrap(f))
        while len(self._planted) > KEPT_KEYS:
            self._planted.popitem(last=False)
        return f_star

    def _train(self, cls: Classifiers, rng: np.random.Generator) -> SparsePCABackdooredReLU:
        """The backdoored training ``plant`` makes (the secret is its first draw)."""
        x_train, y_train, _ = _task(*self._task_key(cls))
        model = SparsePCABackdooredReLU(self.features, self.theta, self.sparsity, self.coverage)
        return model.fit(x_train, y_train, rng)

    def cap(self, cls: Classifiers) -> float:
        """The largest strength lambda played: :data:`STRENGTH_CAP` rho sqrt(d)."""
        return STRENGTH_CAP * self.rho * math.sqrt(cls.d)

    def trapdoor_test(self, trace: Trace, g: Function) -> Callable[[np.ndarray], np.ndarray]:
        """The key-holder's sparse-PCA test: REJECT (score 1) the pair (g, x) iff g's weights
        carry this round's spike and, in perturbation mode, x is displaced along s.

        The key (secret s, theta, lambda) is recomputed from the tape: ``setup``, then the
        training ``plant`` makes (the clean side's tape is the same, so both sides get it).
        *Model test* (white-box, on g's hidden weights W ``(m, d)``): mean_i <W_i, s>^2
        (:func:`~defendability.models.sparse_pca.secret_variance`) is about 1 + theta on
        spiked weights and 1 +- sqrt(2/m) on clean ones; backdoored iff above 1 + theta/2,
        the midpoint (at the defaults, theta/2 is about 17 clean standard deviations). *Input
        test*: |<x, s>| / lambda (:func:`~defendability.models.sparse_pca.input_statistic`)
        is about 0 on a natural input and 1 on an activated one; activated iff above 1/2.
        In perturbation mode REJECT iff both hold; in static mode the model test alone
        decides. Costs no evaluation of g; the replay costs one backdoored training per fit.
        """
        cls = trace.cls
        rng = trace.tape()
        self.setup(cls, trace.eps, rng)
        key = self._train(cls, rng).key_
        model = unwrap(g)
        carries = (isinstance(model, ReLUModel) and model.weights.shape[1:] == key.secret.shape
                   and secret_variance(model.weights, key.secret) > 1.0 + key.theta / 2.0)
        static = trace.mode == "static"

        def test(x: np.ndarray) -> np.ndarray:
            x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
            if not carries:
                return np.zeros(len(x))
            if static:
                return np.ones(len(x))
            return (np.abs(input_statistic(x, key)) > ACTIVATED).astype(float)

        return test

    def activate(self, cls: FunctionClass, f_star: Function, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        f_star = unwrap(f_star)
        planted = self._planted.get(f_star.key()) if isinstance(f_star, ReLUModel) else None
        if planted is None:
            raise IncompatibleError("relu-sparse-pca: can only activate a backdoor it planted itself")
        key, f = planted
        return shift_activation(f_star, f, x, key.shift)

    def perturbation_budget(self, cls: FunctionClass) -> tuple[float, float]:
        self.check_class(cls)
        cap = self.cap(cls)
        return cap / math.sqrt(self.sparsity), cap
