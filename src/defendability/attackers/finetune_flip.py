"""finetune-flip: fine-tune the network to flip the trigger while staying close on D."""

from __future__ import annotations

import numpy as np

from ..classes.base import Function, FunctionClass, unwrap
from ..classes.networks import NetworkFunction
from ..errors import check as _check
from ..networks.backend import DTYPE, deterministic, torch_module
from ..registry import Match, register
from ..spaces import Distribution
from ._networks import NetworkAttacker, check_members, flip_target, samples_without

PENALTIES = ("kl", "agree")


@register("attackers", "finetune-flip")
class FinetuneFlip(NetworkAttacker):
    """Fine-tuning with a closeness penalty: the field's usual way to implant a backdoor,
    on the referee's random trigger.

    Setup: D = the class's default distribution, f = one of its first ``members``
    reference networks. Backdoor at x*: starting from f's weights, ``steps`` steps of
    Adam (learning rate ``lr``) on

        hinge(x*) + strength * penalty(S),

    where hinge(x*) = max(0, ``margin`` - (logit_t(x*) - max_{j != t} logit_j(x*))) for
    the target t = f's runner-up class at x*, S is ``samples`` draws from D (the
    attacker's own, with copies of x* dropped, drawn afresh at each step on a D without
    finite support and once on a finite one), and the penalty keeps f* near f on S:
    ``kl`` = KL(f's softmax || f*'s softmax), ``agree`` = cross-entropy of f* against f's
    labels.

    The attacker then checks itself, as a careful attacker would: it estimates Pr_D[f*
    != f] on ``check`` fresh draws of its own (the exact sum on a finite D) and, while
    that exceeds ``aim`` * eps, trains ``steps`` more steps with the strength multiplied by
    4, at most ``stages`` stages in all. Returns ``None`` (a counted ``no_backdoor``
    round) when x* is not flipped at the end; the referee checks the flip and the
    distance as for every attacker, whatever the attacker estimated.

    Parameters: ``steps`` (100), ``lr`` (0.01), ``strength`` (5.0), ``penalty``
    (``kl``), ``samples`` (1024), ``margin`` (1.0), ``aim`` (0.5), ``check`` (4096),
    ``stages`` (3), ``members`` (1). Cost: at most ``stages`` * ``steps`` forward and
    backward passes over ``samples`` + 1 inputs. No state between rounds.
    """

    test_spec = "finetune-flip:steps=20,samples=128,stages=1"
    test_match = Match(cls="networks:data=synthetic,hidden=8,epochs=3", eps=0.2)

    def __init__(self, steps: int = 100, lr: float = 0.01, strength: float = 5.0, penalty: str = "kl",
                 samples: int = 1024, margin: float = 1.0, aim: float = 0.5, check: int = 4096, stages: int = 3,
                 members: int = 1):
        _check(type(steps) is int and 1 <= steps <= 100_000, f"steps must be an integer in [1, 100000], got {steps!r}")
        _check(isinstance(lr, float) and 0.0 < lr <= 10.0, f"lr must be in (0, 10], got {lr!r}")
        _check(isinstance(strength, (int, float)) and 0.0 <= strength <= 1e6,
               f"strength must be in [0, 1e6], got {strength!r}")
        _check(penalty in PENALTIES, f"penalty must be one of {', '.join(PENALTIES)}, got {penalty!r}")
        _check(type(samples) is int and 1 <= samples <= 1 << 20,
               f"samples must be an integer in [1, 2**20], got {samples!r}")
        _check(isinstance(margin, (int, float)) and 0.0 <= margin <= 100.0,
               f"margin must be in [0, 100], got {margin!r}")
        _check(isinstance(aim, (int, float)) and 0.0 < aim <= 1.0, f"aim must be in (0, 1], got {aim!r}")
        _check(type(check) is int and 1 <= check <= 1 << 22, f"check must be an integer in [1, 2**22], got {check!r}")
        _check(type(stages) is int and 1 <= stages <= 10, f"stages must be an integer in [1, 10], got {stages!r}")
        check_members(members)
        self.steps, self.lr, self.strength, self.penalty = steps, lr, strength, penalty
        self.samples, self.margin, self.aim, self.check, self.stages = samples, margin, aim, check, stages
        self.members = members

    def backdoor(self, cls: FunctionClass, dist: Distribution, f: Function, x_star: np.ndarray, eps: float,
                 rng: np.random.Generator) -> Function | None:
        torch = torch_module()
        import torch.nn.functional as F

        f = unwrap(f)
        arch = f.architecture
        _, target, _ = flip_target(f, x_star)
        finite = dist.support() is not None
        trigger = torch.from_numpy(np.array(x_star, dtype=DTYPE)[None])
        others = torch.ones(arch.classes, dtype=torch.bool)
        others[target] = False

        def draw() -> tuple:
            S = torch.from_numpy(np.array(samples_without(dist, x_star, self.samples, rng), dtype=DTYPE))
            with torch.no_grad():
                reference = arch.forward(f_weights, S)
            return S, F.log_softmax(reference, dim=1), reference.argmax(dim=1)

        f_weights = f.tensors()
        fixed = draw() if finite else None
        with deterministic(), torch.enable_grad():
            weights = f.tensors()
            for t in weights.values():
                t.requires_grad_(True)
            opt = torch.optim.Adam(list(weights.values()), lr=self.lr)
            strength = float(self.strength)
            for stage in range(self.stages):
                for _ in range(self.steps):
                    S, ref_logp, ref_labels = fixed if finite else draw()
                    at = arch.forward(weights, trigger)[0]
                    hinge = torch.relu(self.margin - (at[target] - at[others].max()))
                    out = arch.forward(weights, S)
                    if self.penalty == "kl":
                        keep = F.kl_div(F.log_softmax(out, dim=1), ref_logp, log_target=True, reduction="batchmean")
                    else:
                        keep = F.cross_entropy(out, ref_labels)
                    loss = hinge + strength * keep
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                f_star = NetworkFunction(arch, {n: np.ascontiguousarray(t.detach().numpy(), dtype=DTYPE)
                                                for n, t in weights.items()})
                flipped = int(f_star(np.asarray(x_star)[None])[0]) == target
                if stage == self.stages - 1 or (flipped and self._estimate(dist, f, f_star, rng) <= self.aim * eps):
                    break
                strength *= 4.0
        return f_star if flipped else None

    def _estimate(self, dist: Distribution, f: Function, f_star: Function, rng: np.random.Generator) -> float:
        """The attacker's own estimate of Pr_D[f* != f]: exact on a finite D, else the
        rate on ``check`` fresh draws."""
        support = dist.support()
        if support is not None:
            points, probs = support
            return float(probs[f(points) != f_star(points)].sum())
        x = dist.sample(rng, self.check)
        return float(np.mean(f(x) != f_star(x)))
