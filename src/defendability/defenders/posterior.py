"""posterior: an ensemble of noisy fine-tunes around g, the network analogue of Boltzmann."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.networks import Networks
from ..errors import IncompatibleError, check
from ..networks.backend import generator, seed_from, torch_module
from ..networks.training import TrainingSettings, fit_stacked, stacked_labels
from ..registry import Match, register
from ..spaces import Sampler
from .base import Defender, Detector


class PosteriorDetector(Detector):
    """Score of x: the fraction of the ensemble whose predicted class differs from g's.
    ``(Q,)`` floats in [0, 1] (multiples of 1/members)."""

    def __init__(self, g: Function, arch, stacked, threshold: float):  # noqa: ANN001 - torch types
        self.g, self.arch, self.stacked, self.threshold = g, arch, stacked, threshold

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if len(x) == 0:
            return np.zeros(0)
        return np.mean(stacked_labels(self.arch, self.stacked, x) != self.g(x)[None, :], axis=0, dtype=float)


@register("defenders", "posterior")
class Posterior(Defender):
    """An ensemble around g (THEORY.md §9): ``members`` networks, each started at g's
    weights plus Gaussian noise and fine-tuned on ``samples`` fresh draws of D labelled by
    g. The noise moves each member to a nearby network; the fine-tune pulls it back to
    agree with g where D has mass, not where it has none. The network analogue of the
    Boltzmann posterior (``boltzmann``): a spread of networks that fit g's behaviour on D,
    around g rather than from scratch.

    The noise added to each parameter tensor has standard deviation ``noise`` times that
    tensor's own standard deviation in g (so every layer is moved in proportion to its
    scale). Fine-tuning: ``epochs`` epochs of Adam (``lr``) with minibatches of 64,
    all members at once with stacked weights. Score: the fraction of members that
    disagree with g at x; REJECT iff it exceeds ``threshold``.

    Parameters: ``members`` (16), ``noise`` (1.0), ``samples`` (2000), ``epochs`` (5),
    ``lr`` (0.005), ``threshold`` (0.5). Cost per fit: ``members`` x ``samples`` draws
    and as many evaluations of g; per scored input, one evaluation of g and one forward
    pass of each member. Plays on networks (it reads g's weights: white box).

    Ours, not a paper's: SGLD from g is the textbook sampler; noisy restarts followed by
    fine-tuning are its cheap stand-in, and no guarantee of THEORY §2.1 carries over.
    """

    test_spec = "posterior:members=3,samples=64,epochs=1"
    test_match = Match(cls="networks:data=synthetic,hidden=8,epochs=3", attacker="head-edit:samples=128", eps=0.2)

    def __init__(self, members: int = 16, noise: float = 1.0, samples: int = 2000, epochs: int = 5,
                 lr: float = 0.005, threshold: float = 0.5):
        check(type(members) is int and 1 <= members <= 4096,
              f"members must be an integer in [1, 4096], got {members!r}")
        check(isinstance(noise, (int, float)) and 0.0 <= noise <= 100.0, f"noise must be in [0, 100], got {noise!r}")
        check(type(samples) is int and 1 <= samples <= 1 << 20,
              f"samples must be an integer in [1, 2**20], got {samples!r}")
        check(type(epochs) is int and 1 <= epochs <= 1000, f"epochs must be an integer in [1, 1000], got {epochs!r}")
        check(isinstance(lr, float) and 0.0 < lr <= 10.0, f"lr must be in (0, 10], got {lr!r}")
        check(isinstance(threshold, float) and 0.0 <= threshold < 1.0,
              f"threshold must be in [0, 1), got {threshold!r}")
        self.members, self.noise, self.samples, self.epochs, self.lr = members, noise, samples, epochs, lr
        self.threshold = threshold

    def check_class(self, cls: FunctionClass) -> None:
        if not isinstance(cls, Networks):
            raise IncompatibleError(f"posterior: fine-tunes g's weights (networks:...), not {cls.name!r}")

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float,
            rng: np.random.Generator) -> PosteriorDetector:
        torch = torch_module()
        self.check_class(cls)
        net = unwrap(g)
        arch = net.architecture
        X = np.asarray(sampler(self.members * self.samples)).reshape(self.members, self.samples, *arch.input_shape)
        y = np.asarray(g(X.reshape(-1, *arch.input_shape))).reshape(self.members, self.samples)
        gen = generator(seed_from(rng))
        init = {}
        for name, tensor in net.tensors().items():
            scale = float(tensor.std()) if tensor.numel() > 1 else float(tensor.abs().mean())
            init[name] = tensor[None] + self.noise * scale * torch.randn((self.members, *tensor.shape), generator=gen)
        seeds = [seed_from(rng) for _ in range(self.members)]
        stacked = fit_stacked(arch, X, y, TrainingSettings(epochs=self.epochs, lr=self.lr), seeds, init=init)
        return PosteriorDetector(g, arch, stacked, self.threshold)
