"""The signature attacker: GKVZ's black-box-undetectable backdoor in a trained classifier
(THEORY.md §6.1), played in the perturbation and static modes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.classifiers import Classifiers, SignedClassifier, TrainedClassifier
from ..classes.networks import NetworkFunction, Networks, SignedNetwork
from ..crypto.signatures import SCHEMES, TAG_BYTES, Layout, SignatureBackdoor, Verifier
from ..errors import IncompatibleError, ParameterError, check
from ..registry import Match, register
from ..spaces import Distribution
from .base import Attacker

if TYPE_CHECKING:  # pragma: no cover
    from ..trace import Trace

MODELS = ("logistic",)

#: Keys of planted backdoors the attacker keeps to activate inputs (one per round; the
#: oldest are dropped, a round activates only its own f*).
KEPT_KEYS = 256


@register("attackers", "signature")
class Signature(Attacker):
    """GKVZ's signature backdoor: f* answers the label an input's carrier bits sign.

    Setup: D = the class's default distribution (the test inputs), f = a logistic
    regression trained on a bootstrap of the training split (``cls.trained(seed)``, the
    seed drawn from the rng among ``models`` seeds, so trainings are cached and a replay
    of the round is cheap and exact). Plant: a keypair drawn from the rng
    (``SignatureBackdoor.generate``) and f* = :class:`SignedClassifier` (f and the
    verifier: for ``ed25519`` the public key only). Activate(x): the carriers of x rewritten
    with a valid signature of the target (f(x) + 1) mod C (1 - f(x) for two classes); if
    f itself takes that label at x' (the carriers moved), the next class is signed
    instead, so that f*(x') != f(x').

    Parameters: ``scheme`` (``ed25519``, ``hmac``, ``checksum``), ``bits`` (payload bits
    per carrier coordinate, 1 or 2), ``model`` (``logistic``), ``models`` (distinct
    training seeds, default 1). Budget: l_inf = (2**bits - 1) grid steps (plus half a step
    for inputs off the grid; plus 2**-23 for the float32 pixels of networks, the rounding
    of two grid values), l2 = that times sqrt(number of carriers). f* agrees with f
    on every input without a valid tag, so its distance to f on natural inputs is 0.

    Plays ``classifiers``, and ``networks`` with ``signed=true`` (f* is then a
    :class:`~defendability.classes.networks.SignedNetwork`: the network with the verifier
    around it, targets any of the classes), with at least as many coordinates as the
    carriers need (512 + ceil(log2 classes) at 1 bit for Ed25519: 513 for two labels, 516
    for ten, so ``classifiers:data=digits,upsample=3`` or
    ``networks:upsample=3,signed=true``). On networks, the inputs are taken to lie on the
    8-bit grid of [0, 1] (``Networks.grid``).

    Trapdoor test (:meth:`trapdoor_test`, for ``key-holder:check=trapdoor``): the
    verifier replayed from the tape, used with its *verification* key only (for Ed25519
    the public key).
    """

    test_match = Match(cls="classifiers:data=gaussian,d=520,train=40,test=40", mode="perturbation", eps=0.1)

    modes = ("perturbation", "static")

    def __init__(self, scheme: str = "ed25519", bits: int = 1, model: str = "logistic", models: int = 1):
        check(scheme in SCHEMES, f"signature: scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
        check(isinstance(bits, int) and not isinstance(bits, bool) and bits in (1, 2),
              f"signature: bits must be 1 or 2, got {bits!r}")
        check(model in MODELS, f"signature: model must be one of {', '.join(MODELS)}, got {model!r}")
        check(isinstance(models, int) and not isinstance(models, bool) and models >= 1,
              f"signature: models must be an integer >= 1, got {models!r}")
        self.scheme, self.bits, self.model, self.models = scheme, bits, model, models
        self._planted: OrderedDict[tuple, SignatureBackdoor] = OrderedDict()

    def _layout(self, cls: Classifiers | Networks) -> Layout:
        try:
            return Layout(cls.d, cls.label_count, TAG_BYTES[self.scheme], cls.grid(), self.bits)
        except ParameterError as err:
            raise IncompatibleError(f"signature: class {cls!r}: {err}".replace("signature backdoor: ", "")) from None

    def check_class(self, cls: FunctionClass) -> None:
        if isinstance(cls, Networks):
            if not cls.signed:
                raise IncompatibleError("signature: its backdoor is a verifier around the network, a member only "
                                        "where the class allows it: networks:...,signed=true")
        elif not isinstance(cls, Classifiers):
            raise IncompatibleError(f"signature: needs trained classifiers (classifiers:...) or networks with "
                                    f"signed=true, not {cls.name!r}")
        self._layout(cls)

    def setup(self, cls: FunctionClass, eps: float, rng: np.random.Generator) -> tuple[Distribution, Function]:
        self.check_class(cls)
        seed = int(rng.integers(0, self.models))
        return cls.default_distribution(), cls.trained(seed)

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray, eps: float,
                 rng: np.random.Generator) -> Function | None:
        raise IncompatibleError("signature: plants a backdoor and activates inputs; it has no trigger to flip")

    def plant(self, cls: FunctionClass, dist: Distribution, f: Function, eps: float,
              rng: np.random.Generator) -> Function | None:
        base = unwrap(f)
        check(type(base) in (TrainedClassifier, NetworkFunction),
              f"signature: f must be a TrainedClassifier or a NetworkFunction, got {type(base).__name__}")
        backdoor = self._generate(cls, rng)
        if type(base) is NetworkFunction:
            f_star: Function = SignedNetwork(NetworkFunction(base.architecture, {n: w.copy() for n, w in
                                                                                 base.weights.items()}),
                                             backdoor.verifier)
        else:
            f_star = SignedClassifier(TrainedClassifier(base.coef.copy(), base.intercept), backdoor.verifier)
        self._planted[f_star.key()] = backdoor
        while len(self._planted) > KEPT_KEYS:
            self._planted.popitem(last=False)
        return f_star

    def _generate(self, cls: Classifiers | Networks, rng: np.random.Generator) -> SignatureBackdoor:
        """The keypair of a planted backdoor: the first draw ``plant`` makes after ``setup``."""
        return SignatureBackdoor.generate(cls.d, cls.label_count, rng, scheme=self.scheme, grid=cls.grid(),
                                          bits_per_coordinate=self.bits)

    def trapdoor_test(self, trace: Trace, g: Function) -> Callable[[np.ndarray], np.ndarray]:
        """The key-holder's test: REJECT (score 1) the pair (g, x) iff g carries this
        round's backdoor and, in perturbation mode, x carries a valid tag.

        The round's verifier is recomputed from the tape (``setup``, then the keypair
        ``plant`` draws; the clean side's tape is the same, so both sides get it), and
        only its public part is used: the layout, the scheme and the verification key
        (for Ed25519 the public key). *Model test* (white-box): g's representation holds
        that verifier (a :class:`SignedClassifier` with the same scheme, key and layout);
        the clean f holds none. *Input test*: ``verify(x)`` under that key; a natural
        input carries a valid Ed25519 tag only by forgery (probability about 2**-128), an
        activated one always does. In perturbation mode the game asks about the pair, so
        both must hold; in static mode the input is an ordinary one on both sides and
        only the model test can tell. Costs no evaluation of g. For ``hmac`` the
        verification key is the secret key (it sits in the model anyway); ``checksum``
        has no key, so its model test matches every checksum-backdoored model.
        """
        cls = trace.cls
        rng = trace.tape()
        self.setup(cls, trace.eps, rng)
        verifier = self._generate(cls, rng).verifier
        model = unwrap(g)
        carries = isinstance(model, (SignedClassifier, SignedNetwork)) and _same_verifier(model.verifier, verifier)
        static = trace.mode == "static"

        def test(x: np.ndarray) -> np.ndarray:
            x = np.asarray(x, dtype=np.float64)
            if not carries:
                return np.zeros(len(x))
            if static:
                return np.ones(len(x))
            return verifier.verify(x)[0].astype(float)

        return test

    def activate(self, cls: FunctionClass, f_star: Function, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        f_star = unwrap(f_star)
        signed = isinstance(f_star, (SignedClassifier, SignedNetwork))
        backdoor = self._planted.get(f_star.key()) if signed else None
        if backdoor is None:
            raise IncompatibleError("signature: can only activate a backdoor it planted itself")
        base = f_star.base
        point = np.asarray(x, dtype=np.float32 if isinstance(f_star, SignedNetwork) else np.float64)[None]
        # targets other than f's class at x, nearest first: f*(x') = target must differ from
        # f(x') (the rewritten carriers may move f) for the flip the referee checks
        own = int(base(point)[0])
        classes = cls.label_count
        for target in [(own + step) % classes for step in range(1, classes)]:
            x_act = backdoor.activate(point, target)
            if int(base(x_act)[0]) != target:
                return x_act[0]
        return backdoor.activate(point, (own + 1) % classes)[0]  # f changes with every rewrite: no flip here

    def perturbation_budget(self, cls: FunctionClass) -> tuple[float, float]:
        self.check_class(cls)
        layout = self._layout(cls)
        on_grid = isinstance(cls, Networks) or cls.dataset.step is not None
        steps = (1 << self.bits) - 1 + (0.0 if on_grid else 0.5)
        linf = steps * layout.grid.step
        if isinstance(cls, Networks):  # float32 pixels: each of x and x' is k/255 rounded, within 2**-24 in [0, 1]
            linf += 2.0 ** -23
        return linf, linf * float(np.sqrt(layout.coordinates))


def _same_verifier(a: Verifier, b: Verifier) -> bool:
    """Whether two verifiers accept the same tags: same scheme, key and layout."""
    la, lb = a.layout, b.layout
    return (a.scheme, a.verification_key, la.d, la.classes, la.bits, la.carrier_seed,
            la.grid.low, la.grid.step, la.grid.levels) == \
        (b.scheme, b.verification_key, lb.d, lb.classes, lb.bits, lb.carrier_seed,
         lb.grid.low, lb.grid.step, lb.grid.levels)
