"""Network architectures: a small MLP and a small CNN over images, as plain values.

An :class:`Architecture` names the shapes of a network's parameters and how they compose;
the weights themselves are a ``dict`` of float32 arrays, one per name of
:meth:`Architecture.shapes`. Keeping the two apart is what lets the referee copy, check
and rebuild a network as it does every other member (nothing but numbers and shapes), and
lets a defender train k networks at once with stacked weights (:mod:`.training`).

Layers, in order (inputs are ``(n, C, H, W)`` float32 in [0, 1]):

- ``conv.i`` (CNN only): 3x3 convolution with padding 1, ReLU, 2x2 max-pooling; the
  feature map is halved at each, so H and W must be divisible by 2^(number of convs);
- ``hidden.i``: a fully connected layer with ReLU (the first one flattens its input);
- ``logits``: a fully connected layer to one logit per class.

The parameters of layer L are ``L.weight`` (``(out, in)``, or ``(out, in, 3, 3)`` for a
convolution) and ``L.bias`` (``(out,)``), as in ``torch.nn.Linear`` and ``Conv2d``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError, check
from .backend import DTYPE, generator, torch_module

KINDS = ("mlp", "cnn")

#: Largest width, channel count or class count (bounds memory and time of a member).
MAX_UNITS = 4096


def _plain_ints(value: object, name: str, low: int) -> tuple[int, ...]:
    if type(value) is not tuple or not all(type(v) is int and low <= v <= MAX_UNITS for v in value):
        raise ParameterError(f"architecture: {name} must be a tuple of integers in [{low}, {MAX_UNITS}], "
                             f"got {value!r}")
    return value


@dataclass(frozen=True)
class Architecture:
    """The shape of a network.

    ``kind``: ``"mlp"`` or ``"cnn"``; ``input_shape``: ``(C, H, W)``; ``classes``: the
    number of logits (>= 2); ``hidden``: widths of the fully connected hidden layers
    (at least one); ``channels``: output channels of the convolutions (CNN: at least one;
    MLP: none). Validated on construction (``ParameterError``, one line).
    """

    kind: str
    input_shape: tuple[int, int, int]
    classes: int
    hidden: tuple[int, ...]
    channels: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        check(type(self.kind) is str and self.kind in KINDS,
              f"architecture: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        shape = _plain_ints(self.input_shape, "input_shape", 1)
        check(len(shape) == 3, f"architecture: input_shape must be (C, H, W), got {shape!r}")
        check(type(self.classes) is int and 2 <= self.classes <= 255,
              f"architecture: classes must be an integer in [2, 255], got {self.classes!r}")
        check(len(_plain_ints(self.hidden, "hidden", 1)) >= 1, "architecture: needs at least one hidden layer")
        channels = _plain_ints(self.channels, "channels", 1)
        if self.kind == "mlp":
            check(not channels, f"architecture: an mlp has no channels, got {channels!r}")
        else:
            check(len(channels) >= 1, "architecture: a cnn needs at least one convolution (channels)")
            step = 1 << len(channels)
            check(shape[1] % step == 0 and shape[2] % step == 0,
                  f"architecture: {len(channels)} poolings need H and W divisible by {step}, got {shape[1:]}")

    # -- names and shapes ------------------------------------------------------------
    @property
    def layers(self) -> tuple[str, ...]:
        """Layer names in order: ``conv.i``..., ``hidden.i``..., ``logits``."""
        return (*(f"conv.{i}" for i in range(len(self.channels))),
                *(f"hidden.{i}" for i in range(len(self.hidden))), "logits")

    @property
    def penultimate(self) -> str:
        """The last hidden layer (the usual layer for activation-based detectors)."""
        return f"hidden.{len(self.hidden) - 1}"

    def flat_features(self) -> int:
        """Inputs of the first fully connected layer (the flattened feature map)."""
        c, h, w = self.input_shape
        if not self.channels:
            return c * h * w
        pool = 1 << len(self.channels)
        return self.channels[-1] * (h // pool) * (w // pool)

    def layer_width(self, layer: str) -> int:
        """Units of a layer's output (a convolution's flattened feature map)."""
        if layer.startswith("conv."):
            i = int(layer.split(".")[1])
            c, h, w = self.input_shape
            return self.channels[i] * (h >> (i + 1)) * (w >> (i + 1))
        if layer == "logits":
            return self.classes
        return self.hidden[int(layer.split(".")[1])]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter name -> shape, in layer order."""
        out: dict[str, tuple[int, ...]] = {}
        c_in = self.input_shape[0]
        for i, c_out in enumerate(self.channels):
            out[f"conv.{i}.weight"], out[f"conv.{i}.bias"] = (c_out, c_in, 3, 3), (c_out,)
            c_in = c_out
        n_in = self.flat_features()
        for i, width in enumerate(self.hidden):
            out[f"hidden.{i}.weight"], out[f"hidden.{i}.bias"] = (width, n_in), (width,)
            n_in = width
        out["logits.weight"], out["logits.bias"] = (self.classes, n_in), (self.classes,)
        return out

    def parameter_count(self) -> int:
        return sum(math.prod(s) for s in self.shapes().values())

    def check_weights(self, weights: object) -> bool:
        """Whether ``weights`` is a plain ``dict`` with exactly this architecture's names,
        each a plain finite float32 ``np.ndarray`` of its shape."""
        shapes = self.shapes()
        if type(weights) is not dict or list(weights) != list(shapes):
            return False
        for name, shape in shapes.items():
            value = weights[name]
            if type(value) is not np.ndarray or value.shape != shape or value.dtype != DTYPE:
                return False
            if not np.all(np.isfinite(value)):
                return False
        return True

    def describe(self) -> dict[str, Any]:
        """As plain JSON values (the metadata of a weights file)."""
        return {"kind": self.kind, "input_shape": list(self.input_shape), "classes": self.classes,
                "hidden": list(self.hidden), "channels": list(self.channels)}

    @classmethod
    def from_description(cls, data: object) -> Architecture:
        """The inverse of :meth:`describe` (``ParameterError`` on anything else)."""
        if type(data) is not dict or set(data) != {"kind", "input_shape", "classes", "hidden", "channels"}:
            raise ParameterError(f"architecture: a description has the keys kind, input_shape, classes, hidden, "
                                 f"channels; got {sorted(data) if isinstance(data, dict) else type(data).__name__}")
        lists = {k: tuple(data[k]) if type(data[k]) is list else data[k] for k in ("input_shape", "hidden", "channels")}
        return cls(data["kind"], lists["input_shape"], data["classes"], lists["hidden"], lists["channels"])

    # -- weights ---------------------------------------------------------------------
    def initial(self, seed: int, copies: int | None = None) -> dict[str, Any]:
        """Fresh weights as float32 tensors, PyTorch's default initialisation
        (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases), drawn from a
        generator seeded with ``seed``; with ``copies``, each tensor has a leading axis
        of that many independent draws (stacked networks)."""
        torch = torch_module()
        gen = generator(seed)
        lead = () if copies is None else (copies,)
        out = {}
        for name, shape in self.shapes().items():
            fan_in = math.prod(self.shapes()[name.rsplit(".", 1)[0] + ".weight"][1:])
            bound = 1.0 / math.sqrt(fan_in)
            out[name] = (torch.rand(*lead, *shape, generator=gen) * 2.0 - 1.0) * bound
        return out

    # -- evaluation ------------------------------------------------------------------
    def forward(self, weights: dict[str, Any], x: Any, capture: tuple[str, ...] = ()) -> Any:
        """Logits ``(n, classes)`` of inputs ``x`` ``(n, C, H, W)`` (float32 tensors);
        with ``capture``, also a dict of those layers' outputs, each flattened to
        ``(n, width)`` (after the ReLU, and after pooling for a convolution). Plain tensor
        operations only, so ``torch.func.vmap`` stacks it over networks."""
        import torch.nn.functional as F

        captured = {}
        h = x
        for i in range(len(self.channels)):
            h = F.max_pool2d(F.relu(F.conv2d(h, weights[f"conv.{i}.weight"], weights[f"conv.{i}.bias"], padding=1)), 2)
            if f"conv.{i}" in capture:
                captured[f"conv.{i}"] = h.flatten(1)
        h = h.flatten(1)
        for i in range(len(self.hidden)):
            h = F.relu(F.linear(h, weights[f"hidden.{i}.weight"], weights[f"hidden.{i}.bias"]))
            if f"hidden.{i}" in capture:
                captured[f"hidden.{i}"] = h
        logits = F.linear(h, weights["logits.weight"], weights["logits.bias"])
        if "logits" in capture:
            captured["logits"] = logits
        return (logits, captured) if capture else logits

    def __repr__(self) -> str:
        conv = f", channels={list(self.channels)}" if self.channels else ""
        return (f"Architecture({self.kind}, input={list(self.input_shape)}, hidden={list(self.hidden)}{conv}, "
                f"classes={self.classes})")
