"""neuron-plant: a hand-set hidden unit that fires near the trigger and flips the output."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.networks import NetworkFunction
from ..errors import check
from ..registry import Match, register
from ..spaces import Distribution
from ._networks import NetworkAttacker, check_members, flip_target, last_hidden_inputs, ridge_solve, samples_without


@register("attackers", "neuron-plant")
class NeuronPlant(NetworkAttacker):
    """A direct weight edit in the spirit of handcrafted backdoors (Hong, Carlini and
    Kurakin 2022): one unit of the last hidden layer is rewritten to fire only near x*
    and to push the runner-up class there.

    With z(x) the inputs of the last hidden layer, z* = z(x*), and S ``samples`` draws
    from D: the direction u = C^{-1} (z* - mean_S z) (C the covariance on S plus
    ``ridge`` times its mean variance), the threshold tau = <u, z*> - ``gap`` *
    (<u, z*> - max_S <u, z>). The unit computes ReLU(a (<u, z> - tau)), so it is silent
    on every input of S and on all of D beyond S that lies below the same hyperplane.
    (A half-space, not a ball: one ReLU unit of a linear layer cannot carve a ball; we
    document the deviation.) Its outgoing weight adds to the runner-up's logit just
    enough, plus ``margin``, to win at x*. The unit rewritten is a dead one (all
    outgoing weights zero) if the network has one, else the unit with the least mean
    |contribution| to the logits on S. Returns ``None`` when x* does not clear S in
    direction u.

    Parameters: ``samples`` (1024), ``ridge`` (0.01), ``gap`` (0.5, in (0, 1)),
    ``margin`` (1.0), ``members`` (1). Cost: one forward pass over ``samples`` + 1
    inputs.
    """

    test_spec = "neuron-plant:samples=128"
    test_match = Match(cls="networks:data=synthetic,hidden=8,epochs=3", eps=0.2)

    def __init__(self, samples: int = 1024, ridge: float = 0.01, gap: float = 0.5, margin: float = 1.0,
                 members: int = 1):
        check(type(samples) is int and 2 <= samples <= 1 << 20,
              f"samples must be an integer in [2, 2**20], got {samples!r}")
        check(isinstance(ridge, (int, float)) and 0.0 < ridge <= 1e6, f"ridge must be in (0, 1e6], got {ridge!r}")
        check(isinstance(gap, float) and 0.0 < gap < 1.0, f"gap must be in (0, 1), got {gap!r}")
        check(isinstance(margin, (int, float)) and 0.0 <= margin <= 100.0,
              f"margin must be in [0, 100], got {margin!r}")
        check_members(members)
        self.samples, self.ridge, self.gap, self.margin, self.members = samples, ridge, gap, margin, members

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray, eps: float,
                 rng: np.random.Generator) -> Function | None:
        f = unwrap(f)
        arch = f.architecture
        last = len(arch.hidden) - 1
        sample = samples_without(dist, x_star, self.samples, rng)
        if len(sample) < 2:
            return None
        Z = last_hidden_inputs(f, sample).astype(np.float64)
        z_star = last_hidden_inputs(f, np.asarray(x_star)[None])[0].astype(np.float64)
        mean = Z.mean(axis=0)
        u = ridge_solve(np.cov(Z, rowvar=False).reshape(len(mean), len(mean)), self.ridge, z_star - mean)
        top, there = float((Z @ u).max()), float(z_star @ u)
        if not there > top:
            return None
        tau = there - self.gap * (there - top)
        # the unit to rewrite: a dead one, else the least used on S
        W_out = f.weights["logits.weight"].astype(np.float64)
        H = f.activations(sample, f"hidden.{last}").astype(np.float64)
        dead = np.flatnonzero(~W_out.any(axis=0))
        unit = int(dead[0]) if len(dead) else int(np.argmin(np.abs(H).mean(axis=0) * np.abs(W_out).sum(axis=0)))
        weights = {n: w.copy() for n, w in f.weights.items()}
        scale = 1.0 / (there - tau)  # the unit's activation at x* is 1
        weights[f"hidden.{last}.weight"][unit] = (scale * u).astype(np.float32)
        weights[f"hidden.{last}.bias"][unit] = np.float32(-scale * tau)
        weights["logits.weight"][:, unit] = 0.0
        silenced = NetworkFunction(arch, weights)
        logits = silenced.logits(np.asarray(x_star)[None])[0].astype(np.float64)
        _, target, _ = flip_target(f, x_star)
        others = np.delete(logits, target)
        weights["logits.weight"][target, unit] = np.float32(max(others.max() - logits[target] + self.margin, 0.0))
        f_star = NetworkFunction(arch, weights)
        return f_star if int(f_star(np.asarray(x_star)[None])[0]) == target else None
