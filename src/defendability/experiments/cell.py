"""One cell of a sweep: a fully specified match, the unit a results store records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..rules import Rules


@dataclass(frozen=True)
class Cell:
    """A match to play: SPECs, rounds, seed and the rules (eps, policy, game mode and budget, trace
    access, distance samples, isolation: :attr:`rules`), plus the grid values that produced it (``params``, for reports). ``cell_id`` is a stable hash of everything
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
    distance_samples: int | None = None
    isolate: bool = False
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def rules(self) -> Rules:
        """The match's rules (validated)."""
        return Rules(self.eps, invalid_policy=self.invalid_policy, mode=self.mode, budget=self.budget,
                     trace=self.trace, distance_samples=self.distance_samples, isolate=self.isolate)

    @property
    def cell_id(self) -> str:
        # options added later enter the hash only when not at their default, so cells that
        # do not use them keep the ids they had before (their runs still resume); isolation
        # changes no outcome, so it never enters
        defaults = {"trace": False, "mode": "random-trigger", "budget": None, "distance_samples": None}
        key = {k: v for k, v in asdict(self).items()
               if k not in ("params", "isolate") and not (k in defaults and v == defaults[k])}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``class`` for ``cls``)."""
        out = asdict(self)
        out["class"] = out.pop("cls")
        return out
