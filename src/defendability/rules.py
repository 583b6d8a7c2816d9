"""The rules of a match, as one frozen value shared by every entry point.

``Rules`` holds everything the referee enforces besides the players: the closeness budget
eps, what happens to rounds without a valid backdoor, the game mode and its perturbation
budget, trace access, the sample size of estimated distances, and whether players run in
processes of their own. ``Game`` and ``play`` take it (or its fields as keywords), the
command line builds it from its options (``defendability play``), and every cell of a
sweep carries one (``Cell.rules``), so a new rule is added here once and is reachable from
Python, the CLI and configs alike.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

from .errors import check

INVALID_POLICIES = ("defender_wins", "void")

#: What the defender is shown on the backdoor side (THEORY.md §1, §6): the random trigger
#: x* (the paper's game), an input the attacker perturbed within a budget, or an ordinary
#: input (static: only the model can tell).
MODES = ("random-trigger", "perturbation", "static")

#: Smallest eps the referee accepts: below it, 1/eps and the float slack of exact sums
#: stop being meaningful.
MIN_EPS = 1e-12

#: Fewest fresh samples an estimated distance may use.
MIN_DISTANCE_SAMPLES = 100


def checked_budget(value: object) -> tuple[float, float]:
    """A perturbation budget (l_inf, l2) as two floats; a one-line error unless it is a
    pair of finite numbers >= 0."""
    ok = isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 <= v < math.inf for v in value)
    check(ok, f"the perturbation budget must be (l_inf, l2), two finite numbers >= 0, got {value!r}")
    return float(value[0]), float(value[1])  # type: ignore[index]


@dataclass(frozen=True)
class Rules:
    """The referee's rules for one match (validated on construction; immutable).

    - ``eps``: the closeness budget, in [1e-12, 1).
    - ``invalid_policy``: ``"defender_wins"`` (the paper's rule: a round without a valid
      backdoor is won by the defender) or ``"void"`` (dropped and counted).
    - ``mode``: one of :data:`MODES`.
    - ``budget``: the perturbation budget (l_inf, l2) for an attacker that activates
      inputs (modes perturbation and static); ``None``: the attacker's declared budget.
    - ``trace``: trace access (defenders with ``uses_trace`` receive the attacker's trace).
    - ``distance_samples``: fresh samples for an estimated distance (``None``: the
      referee's default, max(10,000, 30/eps)).
    - ``isolate``: players in processes of their own (``docs/referee.md``); changes no
      outcome, only what a hostile player can reach.
    """

    eps: float
    invalid_policy: str = "defender_wins"
    mode: str = "random-trigger"
    budget: tuple[float, float] | None = None
    trace: bool = False
    distance_samples: int | None = None
    isolate: bool = False

    def __post_init__(self) -> None:
        eps = self.eps
        check(isinstance(eps, numbers.Real) and not isinstance(eps, bool) and 0.0 < eps < 1.0,
              f"eps must be in (0, 1), got {eps}")
        check(eps >= MIN_EPS, f"eps must be >= {MIN_EPS:g} (float resolution), got {eps}")
        object.__setattr__(self, "eps", float(eps))
        check(self.invalid_policy in INVALID_POLICIES,
              f"invalid_policy must be one of {', '.join(INVALID_POLICIES)}, got {self.invalid_policy!r}")
        check(self.mode in MODES, f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        check(self.budget is None or self.mode != "random-trigger",
              "a perturbation budget is for modes perturbation and static, not random-trigger")
        if self.budget is not None:
            object.__setattr__(self, "budget", checked_budget(self.budget))
        check(isinstance(self.trace, bool), f"trace must be true or false, got {self.trace!r}")
        samples = self.distance_samples
        check(samples is None or (isinstance(samples, int) and not isinstance(samples, bool)
                                  and samples >= MIN_DISTANCE_SAMPLES),
              f"distance_samples must be an integer >= {MIN_DISTANCE_SAMPLES}, got {samples!r}")
        check(isinstance(self.isolate, bool), f"isolate must be true or false, got {self.isolate!r}")

    def replace(self, **changes: Any) -> "Rules":
        """These rules with some fields changed (validated again)."""
        return Rules(**{**asdict(self), **changes})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the budget as a list)."""
        out = asdict(self)
        out["budget"] = None if self.budget is None else list(self.budget)
        return out


#: The names of the rules, in order (the keywords ``Game`` and ``play`` accept).
RULE_FIELDS = tuple(f for f in Rules.__dataclass_fields__ if f != "eps")
