"""One cell of a sweep: a fully specified match, the unit a results store records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cell:
    """A match to play: SPECs, eps, rounds, seed, policy, trace access and game mode, plus the grid values that
    produced it (``params``, for reports). ``cell_id`` is a stable hash of everything
    that determines the outcome, so a re-run recognises finished cells."""

    cls: str
    attacker: str
    defender: str
    eps: float
    rounds: int
    seed: int
    invalid_policy: str = "defender_wins"
    trace: bool = False
    mode: str = "random-trigger"
    budget: tuple[float, float] | None = None
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def cell_id(self) -> str:
        # options added later enter the hash only when not at their default, so cells that
        # do not use them keep the ids they had before (their runs still resume)
        defaults = {"trace": False, "mode": "random-trigger", "budget": None}
        key = {k: v for k, v in asdict(self).items() if k != "params" and not (k in defaults and v == defaults[k])}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``class`` for ``cls``)."""
        out = asdict(self)
        out["class"] = out.pop("cls")
        return out
