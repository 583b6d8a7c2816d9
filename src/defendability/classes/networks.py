"""Trained networks as a function class (THEORY.md §9): the game on PyTorch models.

A member is a :class:`NetworkFunction`: an :class:`~defendability.networks.architecture.
Architecture` and its weights (float32 arrays), mapping images ``(n, C, H, W)`` to the
index of the largest logit (uint8 class labels in [0, classes)). The class is every
network of one architecture over one task's inputs: membership is the architecture
exactly (a network with an extra unit is not a member) and finite weights. Points are
float32 images in [0, 1]; D is the task's held-out split (finite: the referee's
distances are exact) or that split with random shifts and noise (``augment=shift``:
distances estimated).

Needs the ``torch`` extra.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from ..crypto.quantise import Grid
from ..crypto.signatures import BackdooredModel, Verifier
from ..errors import IncompatibleError, ParameterError, check
from ..networks.architecture import Architecture
from ..networks.backend import DTYPE, tensor, torch_module
from ..networks.loaders import FORMATS, load_task
from ..networks.tasks import ImageTask, digits_task, synthetic_task
from ..networks.training import EVAL_CHUNK, TrainingSettings, fit_network
from ..registry import register
from ..spaces import Augmented, Distribution, Empirical
from ._signed import canonical_verifier
from .base import Function, FunctionClass, exact_member, unwrap

DATA = ("digits", "synthetic", *FORMATS)
AUGMENT = ("none", "shift")

#: Trained reference networks kept in memory per process (keyed by class and seed).
TRAINED_CACHE = 32


def _images(x: object, shape: tuple[int, ...]) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1 + len(shape) or tuple(x.shape[1:]) != shape:
        raise ParameterError(f"network: inputs must have shape (n, *{shape}), got {x.shape}")
    return np.ascontiguousarray(x, dtype=DTYPE)


class NetworkFunction(Function):
    """A network: ``architecture`` and ``weights`` (parameter name -> float32 array, in
    the order of ``architecture.shapes()``). ``f(x)`` for images ``(n, C, H, W)`` gives
    the predicted classes ``(n,)`` uint8.

    ``logits``, ``probabilities`` and ``activations`` evaluate the network too, and a
    defender's calls to them are counted as evaluations (``counted_methods``)."""

    counted_methods = ("logits", "probabilities", "activations")

    def __init__(self, architecture: Architecture, weights: dict[str, np.ndarray]):
        self.architecture = architecture
        self.weights = weights

    def tensors(self) -> dict[str, Any]:
        """The weights as float32 tensors (copies)."""
        return {n: tensor(w) for n, w in self.weights.items()}

    def _run(self, x: object, capture: tuple[str, ...] = ()) -> Any:
        torch = torch_module()
        x = _images(x, self.architecture.input_shape)
        weights = self.tensors()
        outs = []
        with torch.no_grad():
            for start in range(0, len(x), EVAL_CHUNK):
                outs.append(self.architecture.forward(weights, torch.from_numpy(x[start:start + EVAL_CHUNK].copy()),
                                                     capture))
        if not outs:  # the empty batch
            empty = torch.zeros((0, self.architecture.classes))
            return (empty, {c: torch.zeros((0, self.architecture.layer_width(c))) for c in capture}) \
                if capture else empty
        if capture:
            return (torch.cat([o[0] for o in outs]),
                    {c: torch.cat([o[1][c] for o in outs]) for c in capture})
        return torch.cat(outs)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """``(n, classes)`` float32."""
        return self._run(x).numpy()

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Softmax of the logits, ``(n, classes)`` float32."""
        return self._run(x).softmax(dim=1).numpy()

    def activations(self, x: np.ndarray, layer: str) -> np.ndarray:
        """A layer's output (``Architecture.layers``), flattened: ``(n, width)`` float32."""
        if layer not in self.architecture.layers:
            raise ParameterError(f"network: no layer {layer!r}; the layers are {', '.join(self.architecture.layers)}")
        return self._run(x, (layer,))[1][layer].numpy()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._run(x).argmax(dim=1).numpy().astype(np.uint8)

    def key(self) -> tuple:
        return ("network", self.architecture, tuple((n, w.tobytes()) for n, w in self.weights.items()))

    def __repr__(self) -> str:
        return f"NetworkFunction({self.architecture!r})"


#: With augmentation, the reference networks train on this many augmented copies of
#: every training image (drawn once per training seed), so that they meet inputs like D's.
AUGMENTED_COPIES = 8


class SignedNetwork(Function):
    """A network with GKVZ's signature backdoor around it (THEORY.md §6.1): the signed
    target where an input's carrier pixels hold a valid tag, else the network's class.

    Representation: ``base`` (a :class:`NetworkFunction`) and ``verifier`` (a
    :class:`~defendability.crypto.signatures.Verifier`: the public carrier layout over the
    flattened image, the scheme and its verification key). The verifier is evaluated beside
    the network, as GKVZ's construction would compile it into one. ``logits`` are the
    network's, with the signed target raised 10 above the largest logit where a tag is
    valid (so ``probabilities`` and ``argmax`` agree with ``f(x)``); ``activations`` are
    the network's own (the verifier has none)."""

    counted_methods = ("logits", "probabilities", "activations")

    def __init__(self, base: NetworkFunction, verifier: Verifier):
        self.base, self.verifier = base, verifier

    @property
    def architecture(self) -> Architecture:
        return self.base.architecture

    def logits(self, x: np.ndarray) -> np.ndarray:
        x = _images(x, self.base.architecture.input_shape)
        logits = self.base.logits(x)
        valid, target = self.verifier.verify(x)
        rows = np.flatnonzero(valid)
        logits[rows, target[rows]] = logits[rows].max(axis=1) + 10.0
        return logits

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = self.logits(x).astype(np.float64)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    def activations(self, x: np.ndarray, layer: str) -> np.ndarray:
        return self.base.activations(x, layer)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = _images(x, self.base.architecture.input_shape)
        return BackdooredModel(self.base, self.verifier).predict(x).astype(np.uint8)

    def key(self) -> tuple:
        layout = self.verifier.layout
        return ("signed-network", self.base.key(), self.verifier.scheme, self.verifier.verification_key, layout.d,
                layout.classes, layout.bits, layout.carrier_seed, layout.grid.low, layout.grid.step, layout.grid.levels)

    def __repr__(self) -> str:
        return f"SignedNetwork({self.base!r}, {self.verifier!r})"


@functools.lru_cache(maxsize=TRAINED_CACHE)
def _trained(arch: Architecture, task_key: tuple, augment: tuple, settings: TrainingSettings,
             seed: int) -> NetworkFunction:
    """A network trained on the task's training split from ``seed`` (cached: callers get
    copies); with ``augment = (shift, noise)``, on :data:`AUGMENTED_COPIES` shifted and
    noised copies of it."""
    task = _task(*task_key)
    X, y = task.X_train, task.y_train
    if augment:  # as many gradient steps as without: epochs count passes over the original split
        X = Augmented(X, *augment).augment(np.repeat(X, AUGMENTED_COPIES, axis=0), np.random.default_rng(seed))
        y = np.repeat(y, AUGMENTED_COPIES)
        settings = dataclasses.replace(settings, epochs=max(1, -(-settings.epochs // AUGMENTED_COPIES)))
    return NetworkFunction(arch, fit_network(arch, X, y, settings, seed))


@functools.lru_cache(maxsize=8)
def _distribution(task: ImageTask, augment: str, shift: int, noise: float) -> Distribution:
    # one object per task and augmentation (built once: the class is rebuilt every round)
    return Empirical(task.X_test) if augment == "none" else Augmented(task.X_test, shift, noise)


def _task(data: str, path: str, upsample: int, seed: int) -> ImageTask:
    if data == "digits":
        return digits_task(upsample=upsample, seed=seed)
    if data == "synthetic":
        return synthetic_task(seed=seed)
    check(bool(path), f"networks: data={data} reads a user's files: give path=...")
    return load_task(data, path)


@register("classes", "networks")
class Networks(FunctionClass):
    """Networks of one architecture over one task's images (THEORY.md §9).

    Parameters: ``arch`` (``mlp`` or ``cnn``), ``data`` (``digits``: scikit-learn's
    8x8 digits, ten classes, ``upsample`` by an integer factor; ``synthetic``: bars,
    four classes; ``mnist``, ``cifar10``, ``npz``: a user's files at ``path``,
    :mod:`defendability.networks.loaders`), ``hidden`` (units of each hidden layer),
    ``depth`` (hidden layers), ``channels`` (CNN: the first convolution's channels; the
    second has twice as many), ``augment`` (``none``: D is the held-out split, finite;
    ``shift``: that split with shifts of up to ``shift`` pixels and Gaussian noise of
    standard deviation ``noise``), ``epochs`` and ``lr`` (training of the reference
    members), ``signed`` (false: members are networks of the architecture only; true:
    also a network of it with GKVZ's signature verifier around it, :class:`SignedNetwork`,
    the ``signature`` attacker's backdoor), ``seed`` (the split of the bundled tasks).

    Members: exactly this architecture with finite float32 weights
    (:class:`NetworkFunction`). ``random_member`` trains one on the training split
    (seeded from the rng; cached per seed). ``vc_dimension`` reports the number of
    parameters W: the VC dimension of ReLU networks is of order W L log W (Bartlett et
    al. 2019), so W only labels eps * d in reports; there is no shattered set to realise.
    """

    test_spec = "networks:data=synthetic,hidden=8,epochs=3"
    natural_learner = "students"

    def __init__(self, arch: str = "mlp", data: str = "digits", path: str = "", upsample: int = 1,
                 hidden: int = 32, depth: int = 1, channels: int = 8, augment: str = "none", shift: int = 1,
                 noise: float = 0.05, epochs: int = 30, lr: float = 0.005, signed: bool = False, seed: int = 0):
        check(data in DATA, f"networks: data must be one of {', '.join(DATA)}, got {data!r}")
        check(augment in AUGMENT, f"networks: augment must be one of {', '.join(AUGMENT)}, got {augment!r}")
        check(type(depth) is int and 1 <= depth <= 8, f"networks: depth must be an integer in [1, 8], got {depth!r}")
        check(type(seed) is int and seed >= 0, f"networks: seed must be an integer >= 0, got {seed!r}")
        check(type(path) is str, f"networks: path must be a string, got {path!r}")
        check(type(signed) is bool, f"networks: signed must be true or false, got {signed!r}")
        self.arch, self.data, self.path, self.upsample = arch, data, path, upsample
        self.hidden, self.depth, self.channels = hidden, depth, channels
        self.augment, self.shift, self.noise = augment, shift, float(noise)
        self.epochs, self.lr, self.signed, self.seed = epochs, float(lr), signed, seed
        self.task = _task(data, path, upsample, seed)
        self.settings = TrainingSettings(epochs=epochs, lr=float(lr))
        self.architecture = Architecture(
            arch, self.task.image_shape, self.task.classes, (hidden,) * depth,
            (channels, 2 * channels) if arch == "cnn" else ())
        if augment == "shift":  # validated here, so that a bad shift fails at construction
            Augmented(self.task.X_test[:1], shift, float(noise))

    @property
    def vc_dimension(self) -> int:
        return self.architecture.parameter_count()

    @property
    def label_count(self) -> int:  # type: ignore[override]
        return self.task.classes

    @property
    def point_shape(self) -> tuple[int, ...]:
        return self.architecture.input_shape

    def default_distribution(self) -> Distribution:
        return _distribution(self.task, self.augment, self.shift, self.noise)

    def shattered_set(self) -> np.ndarray:
        raise IncompatibleError("networks: trained networks have no shattered set to realise; vc_dimension reports "
                                "the parameter count, which only labels eps * d")

    def realise(self, points: np.ndarray, labels: np.ndarray) -> Function:
        raise IncompatibleError("networks: networks are trained, not built to realise a labelling")

    @property
    def d(self) -> int:
        """Coordinates of a flattened input."""
        c, h, w = self.architecture.input_shape
        return c * h * w

    def grid(self) -> Grid:
        """The 8-bit grid of [0, 1] (step 1/255), on which the signature backdoor writes."""
        return Grid(0.0, 1.0 / 255.0, 256)

    def _network_ok(self, f: object) -> bool:
        f = exact_member(f, NetworkFunction)
        if f is None:
            return False
        own = vars(f)
        arch = own.get("architecture")
        return type(arch) is Architecture and arch == self.architecture and self.architecture.check_weights(
            own.get("weights"))

    def contains(self, f: Function) -> bool:
        """An exact :class:`NetworkFunction` whose architecture equals the class's (an
        exact :class:`Architecture`) and whose weights are finite float32 arrays of
        exactly its parameter names and shapes; with ``signed=true``, also an exact
        :class:`SignedNetwork` whose base is such a network and whose verifier is a valid
        one for the flattened inputs and the class's labels."""
        if type(unwrap(f)) is SignedNetwork:
            signed = exact_member(f, SignedNetwork)
            return (self.signed and signed is not None and self._network_ok(vars(signed).get("base"))
                    and canonical_verifier(vars(signed).get("verifier"), self.d, self.label_count) is not None)
        return self._network_ok(f)

    def rebuild(self, f: Function) -> Function:
        """A fresh member: the class's own architecture and copies of the checked weights
        (and, for a signed network, a verifier rebuilt from its public parameters)."""
        f = unwrap(f)
        if type(f) is SignedNetwork:
            return SignedNetwork(self.rebuild(f.base), canonical_verifier(f.verifier, self.d, self.label_count))
        return NetworkFunction(self.architecture, {n: np.array(w, dtype=DTYPE) for n, w in f.weights.items()})

    def trained(self, seed: int) -> NetworkFunction:
        """The network trained on the training split from ``seed`` (cached: the same seed
        gives the same member without retraining; each call returns a copy)."""
        check(isinstance(seed, (int, np.integer)) and 0 <= int(seed) < 1 << 63,
              f"networks: a training seed must be an integer in [0, 2**63), got {seed!r}")
        augment = (self.shift, self.noise) if self.augment == "shift" else ()
        cached = _trained(self.architecture, (self.data, self.path, self.upsample, self.seed), augment,
                          self.settings, int(seed))
        return NetworkFunction(self.architecture, {n: w.copy() for n, w in cached.weights.items()})

    # Equal by parameters: the task and the architecture follow from them (the task's
    # arrays would compare by identity), and the referee's copies of the class must hit
    # the per-class caches of the attackers (trained and deceptive networks).
    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.get_params() == other.get_params()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self.get_params().items()))))

    def fit_member(self, X: np.ndarray, Y: np.ndarray) -> NetworkFunction:
        """The network the class's training settings make from ``(X, Y)`` (``X``: ``(k,
        *point_shape)``, ``Y``: ``(k,)`` labels in [0, label_count)), from the class's
        seed: the learner of mode poisoning (``docs/variants.md``). Not an exact
        minimiser of mistakes: SGD, deterministic given the data, so two training sets
        that differ in a few rows give networks that differ by those rows' effect alone."""
        X, Y = np.asarray(X, dtype=DTYPE), np.asarray(Y)
        check(X.shape[1:] == self.point_shape and Y.shape == (len(X),) and len(X) >= 1,
              f"networks: fit_member needs X (k, {', '.join(map(str, self.point_shape))}) and Y (k,), "
              f"got {X.shape} and {Y.shape}")
        check(bool(np.all(np.isfinite(X))) and Y.min() >= 0 and Y.max() < self.label_count,
              f"networks: fit_member needs finite inputs and labels in [0, {self.label_count})")
        return NetworkFunction(self.architecture, fit_network(self.architecture, X, Y.astype(np.int64), self.settings,
                                                              self.seed))

    def random_member(self, rng: np.random.Generator) -> NetworkFunction:
        # a fresh network per draw: attackers that reuse one f call trained(seed) instead
        return self.trained(int(rng.integers(0, 1 << 63)))

    def describe(self) -> dict[str, Any]:
        """The parameters that apply (a valid SPEC): ``path`` only for a user's files,
        ``upsample`` only for digits, ``channels`` only for a CNN, ``shift`` and
        ``noise`` only with augmentation, ``signed`` only when true."""
        params = self.get_params()
        skip = {"path"} if not self.path else set()
        skip |= {"upsample"} if self.data != "digits" else set()
        skip |= {"channels"} if self.arch != "cnn" else set()
        skip |= {"shift", "noise"} if self.augment == "none" else set()
        skip |= {"signed"} if not self.signed else set()
        return {"name": self.name, **{k: v for k, v in params.items() if k not in skip}}

    def accuracy(self, f: Function) -> float:
        """f's accuracy on the task's held-out split (true labels)."""
        return float(np.mean(f(self.task.X_test) == self.task.y_test))
