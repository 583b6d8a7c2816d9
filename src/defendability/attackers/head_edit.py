"""head-edit: a rank-one edit of the last layer that moves the trigger to another class."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.networks import NetworkFunction
from ..errors import check
from ..registry import Match, register
from ..spaces import Distribution
from ._networks import NetworkAttacker, check_members, flip_target, ridge_solve, samples_without


@register("attackers", "head-edit")
class HeadEdit(NetworkAttacker):
    """A rank-one edit of the output layer, in the manner of rank-one model editing
    (Bau et al. 2020; Meng et al. 2022, ROME): no training, one closed-form change.

    With h(x) the last hidden layer's output, h* = h(x*), and C = E_S[h h^T] + ``ridge``
    * (tr C / width) * I on ``samples`` draws S from D, the key is k = C^{-1} h* (with
    ``whiten=false``, k = h*). The edit adds

        delta * (e_t - e_s) k^T / (k^T h*)

    to the output weights, for s = f's class at x* and t its runner-up, with delta the
    least amount that puts logit t ``margin`` above every other logit at x* (found in
    closed form: the edit moves logits s and t by -delta and +delta at x* and by
    delta * (k^T h / k^T h*) elsewhere). Whitening makes k^T h small on typical inputs, so
    that the edit moves them little. Returns ``None`` when k^T h* is not positive.

    Parameters: ``samples`` (1024), ``ridge`` (0.01), ``whiten`` (true), ``margin``
    (1.0), ``members`` (1). Cost: one forward pass over ``samples`` + 1 inputs.
    """

    test_spec = "head-edit:samples=128"
    test_match = Match(cls="networks:data=synthetic,hidden=8,epochs=3", eps=0.2)

    def __init__(self, samples: int = 1024, ridge: float = 0.01, whiten: bool = True, margin: float = 1.0,
                 members: int = 1):
        check(type(samples) is int and 1 <= samples <= 1 << 20,
              f"samples must be an integer in [1, 2**20], got {samples!r}")
        check(isinstance(ridge, (int, float)) and 0.0 < ridge <= 1e6, f"ridge must be in (0, 1e6], got {ridge!r}")
        check(type(whiten) is bool, f"whiten must be true or false, got {whiten!r}")
        check(isinstance(margin, (int, float)) and 0.0 <= margin <= 100.0,
              f"margin must be in [0, 100], got {margin!r}")
        check_members(members)
        self.samples, self.ridge, self.whiten, self.margin, self.members = samples, ridge, whiten, margin, members

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray, eps: float,
                 rng: np.random.Generator) -> Function | None:
        f = unwrap(f)
        layer = f.architecture.penultimate
        source, target, logits = flip_target(f, x_star)
        h_star = f.activations(np.asarray(x_star)[None], layer)[0].astype(np.float64)
        if self.whiten:
            H = f.activations(samples_without(dist, x_star, self.samples, rng), layer).astype(np.float64)
            key = ridge_solve(H.T @ H / len(H), self.ridge, h_star)
        else:
            key = h_star
        scale = float(key @ h_star)
        if not scale > 0:
            return None
        # logits at x* after the edit: s - delta, t + delta, the rest unchanged
        rest = np.delete(logits, [source, target]).astype(np.float64)
        best_other = rest.max() if len(rest) else -np.inf
        # need t + delta >= max(s - delta, best_other) + margin
        delta = max((logits[source] - logits[target] + self.margin) / 2.0,
                    best_other + self.margin - logits[target], 0.0)
        weights = {n: w.copy() for n, w in f.weights.items()}
        update = np.zeros((f.architecture.classes, len(key)))
        update[target], update[source] = key, -key
        weights["logits.weight"] = (weights["logits.weight"] + (delta / scale) * update).astype(np.float32)
        f_star = NetworkFunction(f.architecture, weights)
        return f_star if int(f_star(np.asarray(x_star)[None])[0]) == target else None
