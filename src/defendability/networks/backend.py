"""PyTorch, imported on first use, and the settings every network computation shares.

The ``torch`` extra is optional (``pip install 'defendability[torch]'``): the modules of
the library that use it import it through :func:`torch_module`, so that ``import
defendability`` and every toy class work without it, and a network component used
without it fails with one line saying what to install.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import IncompatibleError

#: The dtype of every network input, weight and activation.
DTYPE = np.float32


def torch_module() -> Any:
    """The ``torch`` module, or ``IncompatibleError`` (one line) when it is not installed."""
    try:
        import torch
    except ImportError:  # pragma: no cover - the test environment has the extra
        raise IncompatibleError("networks need PyTorch: pip install 'defendability[torch]'") from None
    return torch


def generator(seed: int) -> Any:
    """A CPU ``torch.Generator`` seeded with ``seed`` (an integer in [0, 2**63)): every
    random choice of a network computation draws from one, never from torch's global
    generator, so that two computations with the same seed agree whatever ran between."""
    torch = torch_module()
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(seed))
    return gen


def seed_from(rng: np.random.Generator) -> int:
    """A torch seed drawn from a numpy generator (the library's streams)."""
    return int(rng.integers(0, 1 << 63))


@contextlib.contextmanager
def deterministic() -> Iterator[None]:
    """Deterministic algorithms only, for the duration (restored afterwards): on the CPU
    a training run is then a function of its seed, its data and the thread count."""
    torch = torch_module()
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before)


def tensor(array: np.ndarray) -> Any:
    """A float32 CPU tensor holding a copy of ``array`` (read-only arrays included)."""
    torch = torch_module()
    return torch.tensor(np.asarray(array, dtype=DTYPE))
