"""The rules of a match, as one frozen value shared by every entry point.

``Rules`` holds everything the referee enforces besides the players: the closeness budget
eps, what happens to rounds without a valid backdoor, the game mode and its parameters
(the perturbation budget; the predicate a chosen trigger must satisfy; the training set
and poisoning fraction of a learned original), trace access, a cap on the attacker's
resources, the sample size of estimated distances, and whether players run in processes
of their own. ``Game`` and ``play`` take it (or its fields as keywords), the
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

#: How the trigger and the backdoored function come about (THEORY.md §1, §6 and
#: ``docs/variants.md``): the random trigger x* (the paper's game), an input the attacker
#: perturbed within a budget, an ordinary input (static: only the model can tell), a
#: trigger the attacker chooses subject to an expensive predicate, or an original learned
#: by the referee from a sample that the attacker then poisons.
MODES = ("random-trigger", "perturbation", "static", "predicate", "poisoning")

#: Defaults of the variants' parameters when their mode is played without them.
DEFAULT_PREDICATE_ITERATIONS = 1000
DEFAULT_PREDICATE_BITS = 6
DEFAULT_TRAIN_SIZE = 1000
DEFAULT_POISON = 0.05

#: The largest predicate the referee accepts: 2^24 hash applications per check, 30 zero bits.
MAX_PREDICATE_ITERATIONS = 1 << 24
MAX_PREDICATE_BITS = 30

#: The caps of the attacker's resources (``Rules.attacker_*``), with the unit of each.
ATTACKER_CAPS = {"attacker_evaluations": "evaluations of f", "attacker_samples": "samples of D",
                 "attacker_seconds": "seconds"}

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


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


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
    - ``predicate_iterations`` (T) and ``predicate_bits`` (z), mode ``predicate`` only:
      the trigger must have z leading zero bits after T iterations of SHA-256 on a salt
      the referee draws after setup (:mod:`.predicate`). ``None``: 1000 and 6.
    - ``train_size`` (m) and ``poison`` (eta), mode ``poisoning`` only: the referee
      trains f on m samples of D, and the attacker may replace floor(eta*m) of them.
      ``None``: 1000 and 0.05.
    - ``attacker_evaluations``, ``attacker_samples``, ``attacker_seconds``: caps on what
      the attacker spends in a round (evaluations of f and samples of D through the
      views the referee hands it, and wall-clock seconds of all its calls); a round over
      a cap is invalid (``over_budget``). ``None``: no cap.
    """

    eps: float
    invalid_policy: str = "defender_wins"
    mode: str = "random-trigger"
    budget: tuple[float, float] | None = None
    trace: bool = False
    distance_samples: int | None = None
    isolate: bool = False
    predicate_iterations: int | None = None
    predicate_bits: int | None = None
    train_size: int | None = None
    poison: float | None = None
    attacker_evaluations: int | None = None
    attacker_samples: int | None = None
    attacker_seconds: float | None = None

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
        self._check_variants()

    def _check_variants(self) -> None:
        """The variants' parameters: in range, and given only in their own mode."""
        for name, mode in (("predicate_iterations", "predicate"), ("predicate_bits", "predicate"),
                           ("train_size", "poisoning"), ("poison", "poisoning")):
            check(getattr(self, name) is None or self.mode == mode,
                  f"{name} is a rule of mode {mode}, not {self.mode}")
        T, z = self.predicate_iterations, self.predicate_bits
        check(T is None or (_is_int(T) and 1 <= T <= MAX_PREDICATE_ITERATIONS),
              f"predicate_iterations must be an integer in [1, {MAX_PREDICATE_ITERATIONS}], got {T!r}")
        check(z is None or (_is_int(z) and 0 <= z <= MAX_PREDICATE_BITS),
              f"predicate_bits must be an integer in [0, {MAX_PREDICATE_BITS}], got {z!r}")
        m, eta = self.train_size, self.poison
        check(m is None or (_is_int(m) and m >= 1), f"train_size must be an integer >= 1, got {m!r}")
        check(eta is None or (_is_real(eta) and 0.0 <= eta <= 1.0), f"poison must be in [0, 1], got {eta!r}")
        if eta is not None:
            object.__setattr__(self, "poison", float(eta))
        for name, unit in ATTACKER_CAPS.items():
            cap = getattr(self, name)
            ok = cap is None or (_is_int(cap) and cap >= 0 if name != "attacker_seconds"
                                 else _is_real(cap) and 0.0 < cap < math.inf)
            check(ok, f"{name} must be {'a number > 0' if name == 'attacker_seconds' else 'an integer >= 0'} "
                      f"({unit}), got {cap!r}")
            if name == "attacker_seconds" and cap is not None:
                object.__setattr__(self, name, float(cap))

    @property
    def predicate(self) -> tuple[int, int]:
        """(T, z) of mode ``predicate``, defaults filled in."""
        return (DEFAULT_PREDICATE_ITERATIONS if self.predicate_iterations is None else self.predicate_iterations,
                DEFAULT_PREDICATE_BITS if self.predicate_bits is None else self.predicate_bits)

    @property
    def poisoning(self) -> tuple[int, float]:
        """(m, eta) of mode ``poisoning``, defaults filled in."""
        return (DEFAULT_TRAIN_SIZE if self.train_size is None else self.train_size,
                DEFAULT_POISON if self.poison is None else self.poison)

    @property
    def attacker_caps(self) -> dict[str, float]:
        """The caps on the attacker's resources that are set (name -> cap)."""
        return {name: getattr(self, name) for name in ATTACKER_CAPS if getattr(self, name) is not None}

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

#: The rules of the game's variants (``docs/variants.md``), all ``None`` unless set.
VARIANT_RULES = ("predicate_iterations", "predicate_bits", "train_size", "poison", *ATTACKER_CAPS)

#: Each rule's default (what a match that does not mention it plays with).
RULE_DEFAULTS = {name: field.default for name, field in Rules.__dataclass_fields__.items() if name != "eps"}
