"""One cell of a sweep: a fully specified match, the unit a results store records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..rules import RULE_DEFAULTS, RULE_FIELDS, Rules


@dataclass(frozen=True)
class Cell:
    """A match to play: SPECs, rounds, seed and the rules (every field of
    :class:`~defendability.rules.Rules`, one attribute each: :attr:`rules`), plus the
    grid values that produced it (``params``, for reports). ``cell_id`` is a stable hash
    of everything that determines the outcome, so a re-run recognises finished cells."""

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
    predicate_iterations: int | None = None
    predicate_bits: int | None = None
    train_size: int | None = None
    poison: float | None = None
    attacker_evaluations: int | None = None
    attacker_samples: int | None = None
    attacker_seconds: float | None = None
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def rules(self) -> Rules:
        """The match's rules (validated)."""
        return Rules(self.eps, **{name: getattr(self, name) for name in RULE_FIELDS})

    @property
    def cell_id(self) -> str:
        # rules other than the policy enter the hash only when not at their default, so
        # cells that do not use the rules added later keep the ids they had before (their
        # runs still resume); isolation changes no outcome, so it never enters
        key = {k: v for k, v in asdict(self).items()
               if k not in ("params", "isolate")
               and not (k in RULE_DEFAULTS and k != "invalid_policy" and v == RULE_DEFAULTS[k])}
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``class`` for ``cls``)."""
        out = asdict(self)
        out["class"] = out.pop("cls")
        return out
