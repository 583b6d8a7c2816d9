"""Training networks: one, or k at once with stacked weights.

Both go through :func:`fit_stacked`: k networks of one architecture, each on its own
training set, trained as one model. Their weights are stacked along a leading axis and
the forward pass is ``torch.func.vmap`` of :meth:`Architecture.forward`, so one optimiser
step updates all k with a handful of batched tensor operations instead of k Python-level
passes (``benchmarks/bench_networks.py`` measures the difference). The loss is the sum of
the k networks' mean cross-entropies and Adam's update is elementwise, so the k networks
train exactly as they would alone: no network's data or gradient reaches another's
weights.

Deterministic: the initial weights and the order of examples come from one seeded
``torch.Generator``, and PyTorch runs with deterministic algorithms (:func:`~.backend.
deterministic`). On the CPU the result is a function of the seed, the data and the
thread count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import check
from .architecture import Architecture
from .backend import DTYPE, deterministic, generator, torch_module

#: Largest inputs evaluated at once (bounds the memory of a forward pass).
EVAL_CHUNK = 4096


@dataclass(frozen=True)
class TrainingSettings:
    """How to train: ``epochs`` passes over each training set in ``batch``-sized
    minibatches (the last one smaller), Adam with learning rate ``lr`` and decoupled
    ``weight_decay``."""

    epochs: int = 30
    batch: int = 64
    lr: float = 0.005
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        check(type(self.epochs) is int and 1 <= self.epochs <= 10_000,
              f"training: epochs must be an integer in [1, 10000], got {self.epochs!r}")
        check(type(self.batch) is int and 1 <= self.batch <= 1 << 20,
              f"training: batch must be an integer in [1, 2**20], got {self.batch!r}")
        check(isinstance(self.lr, float) and 0.0 < self.lr <= 10.0, f"training: lr must be in (0, 10], got {self.lr!r}")
        check(isinstance(self.weight_decay, float) and 0.0 <= self.weight_decay <= 1.0,
              f"training: weight_decay must be in [0, 1], got {self.weight_decay!r}")


def stacked_forward(arch: Architecture) -> Any:
    """``f(weights, x)`` for stacked weights ``(k, ...)`` and inputs ``(k, n, C, H, W)``:
    logits ``(k, n, classes)``. An MLP is one batched matrix product per layer
    (``torch.baddbmm``, the same arithmetic as :meth:`Architecture.forward`, tested);
    a CNN is ``torch.func.vmap`` of :meth:`Architecture.forward`."""
    torch = torch_module()
    if arch.channels:
        from torch.func import vmap

        return vmap(arch.forward, in_dims=(0, 0))

    def forward(weights: dict[str, Any], x: Any) -> Any:
        h = x.flatten(2)
        for i in range(len(arch.hidden)):
            w, b = weights[f"hidden.{i}.weight"], weights[f"hidden.{i}.bias"]
            h = torch.relu(torch.baddbmm(b[:, None, :], h, w.transpose(1, 2)))
        return torch.baddbmm(weights["logits.bias"][:, None, :], h, weights["logits.weight"].transpose(1, 2))

    return forward


def fit_stacked(arch: Architecture, X: np.ndarray, y: np.ndarray, settings: TrainingSettings,
                seeds: list[int], init: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train k networks at once.

    ``X``: ``(k, m, C, H, W)`` float32 inputs, network j trains on ``X[j]``; ``y``:
    ``(k, m)`` integer labels in [0, classes); ``seeds``: one per network, which draws
    its initial weights and the order of its examples, so that network j trains exactly
    as it would alone (up to float rounding of the batched operations). ``init``:
    stacked starting weights (fresh ones when ``None``). Returns the stacked weights
    (tensors ``(k, ...)``, detached).
    """
    torch = torch_module()
    import torch.nn.functional as F

    X, y = np.asarray(X, dtype=DTYPE), np.asarray(y)
    k, m = y.shape
    check(X.shape[:2] == (k, m) and X.shape[2:] == arch.input_shape,
          f"training: X must have shape ({k}, {m}, *{arch.input_shape}), got {X.shape}")
    check(len(seeds) == k, f"training: one seed per network, got {len(seeds)} for {k}")
    check(m >= 1, "training: every network needs at least one example")
    check(bool(np.all((y >= 0) & (y < arch.classes))), f"training: labels must be in [0, {arch.classes})")
    with deterministic(), torch.enable_grad():
        gens = [generator(seed) for seed in seeds]
        if init is None:
            fresh = [arch.initial(int(torch.randint(0, 1 << 62, (1,), generator=gen))) for gen in gens]
            weights = {n: torch.stack([w[n] for w in fresh]) for n in arch.shapes()}
        else:
            weights = {n: t.clone() for n, t in init.items()}
        for t in weights.values():
            t.requires_grad_(True)
        opt = torch.optim.AdamW(list(weights.values()), lr=settings.lr, weight_decay=settings.weight_decay)
        Xt, yt = torch.from_numpy(np.array(X, dtype=DTYPE)), torch.from_numpy(y.astype(np.int64))
        rows = torch.arange(k)[:, None]
        forward = stacked_forward(arch)
        steps = math.ceil(m / settings.batch)
        for _ in range(settings.epochs):
            order = torch.stack([torch.randperm(m, generator=gen) for gen in gens])
            for s in range(steps):
                idx = order[:, s * settings.batch:(s + 1) * settings.batch]
                logits = forward(weights, Xt[rows, idx])
                loss = F.cross_entropy(logits.reshape(-1, arch.classes), yt[rows, idx].reshape(-1)) * k
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    return {n: t.detach() for n, t in weights.items()}


def fit_network(arch: Architecture, X: np.ndarray, y: np.ndarray, settings: TrainingSettings,
                seed: int) -> dict[str, np.ndarray]:
    """One network trained on ``X`` ``(m, C, H, W)`` with labels ``y`` ``(m,)``: its
    weights as float32 arrays (:func:`fit_stacked` with k = 1)."""
    stacked = fit_stacked(arch, np.asarray(X)[None], np.asarray(y)[None], settings, [seed])
    return {n: np.ascontiguousarray(t[0].numpy(), dtype=DTYPE) for n, t in stacked.items()}


def stacked_labels(arch: Architecture, stacked: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """Every stacked network's predicted class at each input: ``(k, n)`` uint8 for ``x``
    ``(n, C, H, W)``."""
    torch = torch_module()
    from torch.func import vmap

    k = next(iter(stacked.values())).shape[0]
    out = np.empty((k, len(x)), dtype=np.uint8)
    forward = vmap(arch.forward, in_dims=(0, None))
    with torch.no_grad():
        for start in range(0, len(x), EVAL_CHUNK):
            xt = torch.from_numpy(np.array(x[start:start + EVAL_CHUNK], dtype=DTYPE))
            out[:, start:start + EVAL_CHUNK] = forward(stacked, xt).argmax(dim=2).numpy()
    return out
