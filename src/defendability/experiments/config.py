"""Sweep configurations: a TOML file whose grid expands to cells (see docs/sweeps.md).

A configuration names a sweep, fixes its seed, rounds and invalid-round policy, and
gives SPEC templates for the class, attacker and defender whose ``{key}`` placeholders
are filled from a ``[grid]``::

    name = "theorem-4-1"
    seed = 1
    rounds = 2000
    class = "subsets:N=64,d={d}"
    attacker = "{attacker}"
    defender = "vote:learner=closure"

    [grid]
    d = [10, 20]
    attacker = ["mixture", "shatter"]
    eps_times_d = {start = 0.01, stop = 2.0, num = 8, scale = "log"}

Several grids share one name, seed and rounds as a list of ``[[sweep]]`` tables, each
with its own templates, eps and grid. :func:`load_config` and :func:`parse_config`
check everything before any work starts: the structure with pydantic (unknown keys
are errors at every level), then every cell, whose SPECs are built through the
registry. Every mistake is one :class:`ConfigError` whose message starts with the
file name and names the key (``theorem.toml: grid.eps_times_d: stop must be > start``).

Conventions:

* Cells are the cartesian product of the grid in the order its keys are written (the
  first key varies slowest), sweep after sweep.
* Every cell gets the config's seed: all cells play the same round seeds (common random
  numbers), so comparisons between cells, defenders in particular, are paired.
* ``config_hash`` is the sha256 of the canonical JSON of the validated config (defaults
  filled in, keys sorted): it ignores key order, comments and layout and changes with
  any value.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictBool, ValidationError, field_validator

from .. import registry
from ..errors import UserError
from ..game import Game
from ..rules import INVALID_POLICIES, MIN_DISTANCE_SAMPLES, MODES, VARIANT_RULES, Rules
from .cell import Cell

#: Keys whose value is a SPEC template (top level, a ``[[sweep]]`` table, or a grid key).
TEMPLATE_KEYS = ("class", "attacker", "defender")
#: Grid keys that set a cell's eps rather than fill a placeholder.
EPS_KEYS = ("eps", "eps_times_d")
#: Grid keys that set one of a cell's rules (a sweep axis over trace access, the game
#: mode or a variant's parameter) rather than fill a placeholder.
RULE_AXES = ("trace", "mode", *VARIANT_RULES)
#: Most cells one config may expand to, and most values one range may hold.
MAX_CELLS = 100_000
MAX_RANGE_NUM = 10_000
#: Largest seed: seeds are stored as SQLite integers (signed 64 bits).
MAX_SEED = 2**63 - 1
#: Largest number of rounds per cell.
MAX_ROUNDS = 10**9
#: Significant digits kept in float range values (so ranges read 0.03, not 0.030000000000000002).
RANGE_DIGITS = 12

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class ConfigError(UserError):
    """A sweep configuration that cannot be used: the message starts with the file name
    and names the key (``theorem.toml: grid.d: expected a non-empty list ...``)."""


# -- value types -----------------------------------------------------------------------
Scalar = int | float | bool | str


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: Any) -> int | float:
    if not _is_number(value):
        raise ValueError(f"expected a number, got {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


#: An int or a finite float (not a bool), kept as given.
Number = Annotated[Any, PlainValidator(_number)]


def _non_negative(value: Any) -> int | float:
    value = _number(value)
    if value < 0:
        raise ValueError(f"expected a number >= 0, got {value}")
    return value


#: A perturbation norm: a number >= 0.
NonNegative = Annotated[Any, PlainValidator(_non_negative)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, populate_by_name=False,
                              frozen=True)


class RangeModel(_Model):
    """``{start, stop, num, scale}``: ``num`` values from ``start`` to ``stop`` inclusive."""

    start: Number
    stop: Number
    num: int = Field(ge=1, le=MAX_RANGE_NUM)
    scale: Literal["linear", "log"] = "linear"

    def values(self) -> list[int | float]:
        """The range's values, in increasing order.

        Linear ranges whose start and stop are ints and whose step ``(stop - start) /
        (num - 1)`` is a whole number are ints; every other range (log ranges always)
        is floats, rounded to :data:`RANGE_DIGITS` significant digits, with both ends
        exactly ``start`` and ``stop``.
        """
        start, stop, num = self.start, self.stop, self.num
        if num == 1:
            return [start]
        if self.scale == "linear":
            if isinstance(start, int) and isinstance(stop, int) and (stop - start) % (num - 1) == 0:
                step = (stop - start) // (num - 1)
                return [start + i * step for i in range(num)]
            inner = [start + (stop - start) * i / (num - 1) for i in range(1, num - 1)]
        else:
            lo, hi = math.log(start), math.log(stop)
            inner = [math.exp(lo + (hi - lo) * i / (num - 1)) for i in range(1, num - 1)]
        return [float(start)] + [float(f"{v:.{RANGE_DIGITS}g}") for v in inner] + [float(stop)]


#: The rules a ``[[sweep]]`` table may set for its own cells (the top level sets them all).
SWEEP_RULES = ("trace", "mode", "budget", "distance_samples", "isolate", *VARIANT_RULES)


class _VariantModel(_Model):
    """The rules of the game's variants (``docs/variants.md``), at the top level or in a
    ``[[sweep]]``; unset unless given (the referee's checks of them are the Rules')."""

    predicate_iterations: int | None = None
    predicate_bits: int | None = None
    train_size: int | None = None
    poison: Number | None = None
    attacker_evaluations: int | None = None
    attacker_samples: int | None = None
    attacker_seconds: Number | None = None


class SweepModel(_VariantModel):
    """One grid with its templates and its source of eps (a ``[[sweep]]`` table)."""

    cls: str | None = Field(None, alias="class")
    attacker: str | None = None
    defender: str | None = None
    eps: Number | None = None
    trace: StrictBool | None = None
    mode: Literal[MODES] | None = None  # type: ignore[valid-type]
    budget: list[NonNegative] | None = Field(None, min_length=2, max_length=2)
    distance_samples: int | None = Field(None, ge=MIN_DISTANCE_SAMPLES)
    isolate: StrictBool | None = None
    grid: dict[str, Any] = Field(default_factory=dict)


class ConfigModel(_VariantModel):
    """The whole file: run settings, plus either one grid at the top level or ``[[sweep]]``."""

    name: str
    seed: int = Field(0, ge=0, le=MAX_SEED)
    rounds: int = Field(1000, ge=1, le=MAX_ROUNDS)
    invalid_policy: Literal[INVALID_POLICIES] = "defender_wins"  # type: ignore[valid-type]
    trace: StrictBool = False
    mode: Literal[MODES] = "random-trigger"  # type: ignore[valid-type]
    budget: list[NonNegative] | None = Field(None, min_length=2, max_length=2)
    distance_samples: int | None = Field(None, ge=MIN_DISTANCE_SAMPLES)
    isolate: StrictBool = False
    chunk_rounds: int = Field(500, ge=1, le=MAX_ROUNDS)
    description: str = ""
    cls: str | None = Field(None, alias="class")
    attacker: str | None = None
    defender: str | None = None
    eps: Number | None = None
    grid: dict[str, Any] | None = None
    sweep: list[SweepModel] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"{_show(value)} must be 1 to 100 letters, digits, '.', '_' or '-', "
                             "not starting with '.' or '-'")
        return value


def _keys(model: type[_Model]) -> list[str]:
    """A model's keys as a config writes them, the variants' rules last."""
    keys = [f.alias or n for n, f in model.model_fields.items()]
    return [k for k in keys if k not in VARIANT_RULES] + [k for k in keys if k in VARIANT_RULES]


_VALID_KEYS = {
    "config": _keys(ConfigModel),
    "sweep": _keys(SweepModel),
    "range": list(RangeModel.model_fields),
}


# -- messages --------------------------------------------------------------------------
def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _where(loc: tuple[Any, ...]) -> str:
    """``("sweep", 0, "grid", "d")`` -> ``"sweep[1].grid.d"`` (sweeps counted from 1)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _message(err: dict[str, Any], prefix: tuple[Any, ...], kind: str) -> str:
    """One pydantic error as ``where: what`` (``kind`` picks the model, for valid keys)."""
    loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("int", "float", "str")))
    kind_at = "sweep" if len(loc) >= 2 and loc[0] == "sweep" and isinstance(loc[1], int) and kind == "config" else kind
    typ, given = err["type"], err.get("input")
    if typ == "extra_forbidden":
        valid = ", ".join(_VALID_KEYS[kind_at])
        head = _where(loc[:-1])
        return f"{head + ': ' if head else ''}unknown key {str(loc[-1])!r} (valid: {valid})"
    where = _where(loc)
    if typ == "missing":
        return f"{where}: missing (required)"
    what = {
        "int_type": "expected an integer",
        "float_type": "expected a number",
        "string_type": "expected a string",
        "dict_type": "expected a table",
        "list_type": "expected an array of tables ([[sweep]])" if loc and loc[-1] == "sweep" else "expected a list",
        "model_type": "expected a table",
        "model_attributes_type": "expected a table",
    }.get(typ)
    if what is not None:
        return f"{where}: {what}, got {_show(given)}"
    ctx = err.get("ctx") or {}
    if typ == "literal_error":
        return f"{where}: must be one of {ctx.get('expected')}, got {_show(given)}"
    for t, op in (("greater_than_equal", ">="), ("less_than_equal", "<="), ("greater_than", ">"), ("less_than", "<")):
        if typ == t:
            bound = next(iter(ctx.values()), "?")
            return f"{where}: must be {op} {bound}, got {_show(given)}"
    msg = str(err["msg"])
    msg = msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
    return f"{where}: {msg}" if where else msg


def _validate(model: type[_Model], data: Any, source: str, prefix: tuple[Any, ...], kind: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ConfigError(f"{source}: {_message(errors[0], prefix, kind)}{more}") from None


# -- grids and cells -------------------------------------------------------------------
@dataclass(frozen=True)
class _Axis:
    """A grid key and its values, in the order written."""

    key: str
    values: tuple[Scalar, ...]
    canonical: Any  # the list, or the range table with defaults filled in


def _render(value: Scalar) -> str:
    """A grid value as it appears in a SPEC: ``true``/``false``, ints, shortest float repr."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else repr(value)


def _describe(point: dict[str, Scalar]) -> str:
    return "(" + ", ".join(f"{k}={_render(v)}" for k, v in point.items()) + ")"


class _Sweep:
    """One validated grid with its templates (the top-level one, or a ``[[sweep]]``)."""

    def __init__(self, model: SweepModel, loc: tuple[Any, ...], source: str):
        self.loc = loc  # () for the top-level grid, ("sweep", i) for the i-th [[sweep]] (from 0)
        self.source = source
        self.axes = [self._axis(key, value) for key, value in model.grid.items()]
        keys = [a.key for a in self.axes]
        fixed = {"class": model.cls, "attacker": model.attacker, "defender": model.defender}
        self.templates: dict[str, list[str] | str] = {}
        for name in TEMPLATE_KEYS:
            if name in keys:
                values = self.axes[keys.index(name)].values
                bad = [v for v in values if not isinstance(v, str)]
                if bad:
                    self._fail(("grid", name), f"values must be SPEC strings, got {_show(bad[0])}")
                self.templates[name] = list(values)  # type: ignore[arg-type]
            elif fixed[name] is not None:
                self.templates[name] = fixed[name]  # type: ignore[assignment]
            else:
                self._fail((name,), "missing (required): give it as a key or as a grid key")
        sources = [s for s, given in (("eps", model.eps is not None), ("grid.eps", "eps" in keys),
                                      ("grid.eps_times_d", "eps_times_d" in keys)) if given]
        if not sources:
            self._fail(("eps",), "missing (required): give eps, or eps or eps_times_d in the grid")
        if len(sources) > 1:
            self._fail(tuple(sources[1].split(".")),
                       f"two sources of eps ({' and '.join(sources)}): give exactly one")
        self.eps: float | None = None if model.eps is None else float(model.eps)
        for key in EPS_KEYS:
            if key in keys:
                bad = [v for v in self.axes[keys.index(key)].values if not _is_number(v)]
                if bad:
                    self._fail(("grid", key), f"values must be numbers, got {_show(bad[0])}")
        self._check_placeholders(keys)
        self.size = math.prod(len(a.values) for a in self.axes)
        self.canonical: dict[str, Any] = {k: v for k, v in
                                          (("class", model.cls), ("attacker", model.attacker),
                                           ("defender", model.defender), ("eps", model.eps)) if v is not None}
        self.canonical["grid"] = {a.key: a.canonical for a in self.axes}
        #: The rules this sweep sets for its cells (trace access, game mode, perturbation
        #: budget, distance samples, isolation); the others are the top level's.
        self.rules: dict[str, Any] = {key: getattr(model, key) for key in SWEEP_RULES
                                      if getattr(model, key) is not None}
        if "budget" in self.rules:
            self.rules["budget"] = tuple(map(float, self.rules["budget"]))
        for key, value in self.rules.items():
            if key != "isolate":  # isolation changes no outcome: not part of the config's hash
                self.canonical[key] = list(value) if key == "budget" else value

    def _fail(self, key: tuple[Any, ...], what: str) -> None:
        raise ConfigError(f"{self.source}: {_where(self.loc + key)}: {what}")

    def _axis(self, key: str, value: Any) -> _Axis:
        if not _KEY.fullmatch(key):
            self._fail(("grid",), f"key {_show(key)} is not a name (letters, digits and '_', "
                                  "not starting with a digit)")
        if isinstance(value, dict):
            try:
                rng = RangeModel.model_validate(value)
            except ValidationError as exc:
                errors = exc.errors()
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                raise ConfigError(f"{self.source}: {_message(errors[0], self.loc + ('grid', key), 'range')}"
                                  f"{more}") from None
            if not rng.stop > rng.start:
                self._fail(("grid", key), f"stop must be > start (got start={rng.start}, stop={rng.stop})")
            if rng.scale == "log" and not rng.start > 0:
                self._fail(("grid", key), f"a log range needs start > 0, got start={rng.start}")
            return _Axis(key, tuple(rng.values()), rng.model_dump())
        if not isinstance(value, list):
            self._fail(("grid", key), "expected a non-empty list or a range {start, stop, num, scale}, "
                                      f"got {_show(value)}")
        if not value:
            self._fail(("grid", key), "empty list: give at least one value")
        for item in value:
            if not isinstance(item, (int, float, bool, str)):
                self._fail(("grid", key), f"values must be ints, floats, bools or strings, got {_show(item)}")
            if isinstance(item, float) and not math.isfinite(item):
                self._fail(("grid", key), f"values must be finite, got {item}")
        return _Axis(key, tuple(value), list(value))

    def _check_placeholders(self, keys: list[str]) -> None:
        variables = [k for k in keys if k not in TEMPLATE_KEYS and k not in RULE_AXES]
        used: set[str] = set()
        for name, template in self.templates.items():
            where = ("grid", name) if isinstance(template, list) else (name,)
            for text in (template if isinstance(template, list) else [template]):
                for hole in _PLACEHOLDER.findall(text):
                    if hole not in variables:
                        choices = ", ".join(variables) or "none"
                        self._fail(where, f"placeholder {{{hole}}} in {_show(text)} is not a grid key "
                                          f"(grid keys that fill placeholders: {choices})")
                    used.add(hole)
                rest = _PLACEHOLDER.sub("", text)
                if "{" in rest or "}" in rest:
                    self._fail(where, f"unmatched brace in {_show(text)} (a placeholder is {{key}})")
        for key in variables:
            if key not in used and key not in EPS_KEYS:
                shown = "; ".join(f"{n} {t!r}" for n, t in self.templates.items() if isinstance(t, str))
                self._fail(("grid", key), f"not used: no template has the placeholder {{{key}}} "
                                          f"(templates: {shown or 'all in the grid'})")

    def cells(self, seed: int, rounds: int, rules: dict[str, Any],
              cache: dict[tuple[str, str], Any]) -> list[tuple[Cell, dict[str, Scalar]]]:
        """Every cell of the grid in product order, with its grid point; its SPECs built
        (``cache`` maps ``(kind, spec)`` to the built component) and the match checked by
        :class:`Game` under ``rules`` (every field of :class:`Rules` but eps)."""
        out = []
        for combo in itertools.product(*(a.values for a in self.axes)):
            point = dict(zip((a.key for a in self.axes), combo))
            specs: dict[str, str] = {}
            for name, template in self.templates.items():
                text = point[name] if isinstance(template, list) else template
                specs[name] = _PLACEHOLDER.sub(lambda m: _render(point[m.group(1)]), str(text)).strip()
            objects = {name: self._build(kind, specs[name], point, cache)
                       for name, kind in (("class", "classes"), ("attacker", "attackers"), ("defender", "defenders"))}
            d = getattr(objects["class"], "vc_dimension", None)
            if not isinstance(d, int):
                self._fail_cell(point, f"class {specs['class']!r} is not a function class")
            if "eps_times_d" in point:
                if d < 1:
                    self._fail_cell(point, f"eps_times_d needs VC dimension >= 1; class {specs['class']!r} has {d}")
                eps = float(point["eps_times_d"]) / d
            else:
                eps = float(point["eps"]) if "eps" in point else float(self.eps)  # type: ignore[arg-type]
            if not 0.0 < eps < 1.0:
                how = f" (eps_times_d {point['eps_times_d']} / VC dimension {d})" if "eps_times_d" in point else ""
                self._fail_cell(point, f"eps must be in (0, 1), got {eps:g}{how}")
            cell_rules = {**rules, **{k: v for k, v in point.items() if k in RULE_AXES}}
            try:
                Game(objects["class"], objects["attacker"], objects["defender"], rules=Rules(eps, **cell_rules))
            except UserError as err:
                self._fail_cell(point, str(err))
            params: dict[str, Any] = dict(point)
            if "d" in params and params["d"] != d:
                params["grid.d"] = params.pop("d")
            params["d"] = d
            if "eps_times_d" not in params:
                params["eps_times_d"] = float(f"{eps * d:.{RANGE_DIGITS}g}")
            if cell_rules["trace"]:
                params["trace"] = True
            if cell_rules["mode"] != "random-trigger":
                params["mode"] = cell_rules["mode"]
            if cell_rules["budget"] is not None:
                params["budget"] = list(cell_rules["budget"])
            for key in ("distance_samples", *VARIANT_RULES):
                if cell_rules[key] is not None:
                    params[key] = cell_rules[key]
            out.append((Cell(cls=specs["class"], attacker=specs["attacker"], defender=specs["defender"], eps=eps,
                             rounds=rounds, seed=seed, params=params, **cell_rules),
                        point))
        return out

    def _build(self, kind: str, spec: str, point: dict[str, Scalar], cache: dict[tuple[str, str], Any]) -> Any:
        if (kind, spec) not in cache:
            try:
                cache[(kind, spec)] = registry.build(kind, spec)
            except UserError as err:
                noun = "class" if kind == "classes" else kind[:-1]
                self._fail_cell(point, f"{noun} {spec!r}: {err}")
        return cache[(kind, spec)]

    def _fail_cell(self, point: dict[str, Scalar], what: str) -> None:
        where = f"{_where(self.loc)} cell" if self.loc else "cell"
        raise ConfigError(f"{self.source}: {where} {_describe(point)}: {what}")


# -- the configuration -----------------------------------------------------------------
def canonical_json(data: Any) -> str:
    """Sorted keys, no whitespace, no NaN: equal data give equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


@dataclass(frozen=True, eq=False)
class SweepConfig:
    """A validated sweep: run settings, the expanded cells and the text it came from.

    ``canonical`` is the validated config as JSON-ready data (defaults filled in, ranges
    as ``{start, stop, num, scale}``); ``config_hash`` hashes it. ``source`` is the file
    name used in messages and ``source_text`` the file's text, kept for the store.
    """

    name: str
    seed: int
    rounds: int
    invalid_policy: str
    chunk_rounds: int
    description: str
    source: str
    source_text: str
    canonical: dict[str, Any]
    _cells: tuple[Cell, ...] = field(repr=False)

    def cells(self) -> list[Cell]:
        """The cells, in order: sweep after sweep, each grid's cartesian product in the
        order its keys are written (first key slowest)."""
        return list(self._cells)

    @property
    def config_hash(self) -> str:
        """sha256 hex of the canonical JSON of the validated config."""
        return hashlib.sha256(canonical_json(self.canonical).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The validated config (a copy of ``canonical``)."""
        return json.loads(canonical_json(self.canonical))


def parse_config(text: str | bytes, source: str = "<string>") -> SweepConfig:
    """Validate a TOML text and expand its cells; any mistake raises :class:`ConfigError`
    whose message starts with ``source``."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as err:
            raise ConfigError(f"{source}: not UTF-8 text (byte {err.start})") from None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ConfigError(f"{source}: not UTF-8 text (character {err.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: invalid TOML: {err}") from None
    model: ConfigModel = _validate(ConfigModel, data, source, (), "config")
    top = {k: getattr(model, a) for k, a in (("class", "cls"), ("attacker", "attacker"), ("defender", "defender"),
                                             ("eps", "eps"), ("grid", "grid")) if getattr(model, a) is not None}
    if model.sweep is not None:
        if top:
            raise ConfigError(f"{source}: {next(iter(top))}: with [[sweep]] give class, attacker, defender, eps "
                              "and grid in each [[sweep]], not at the top level")
        if not model.sweep:
            raise ConfigError(f"{source}: sweep: empty list: give at least one [[sweep]]")
        sweeps = [_Sweep(s, ("sweep", i), source) for i, s in enumerate(model.sweep)]
    else:
        single = SweepModel.model_validate({"grid": model.grid or {}, "class": model.cls, "attacker": model.attacker,
                                            "defender": model.defender, "eps": model.eps})
        sweeps = [_Sweep(single, (), source)]
    total = sum(s.size for s in sweeps)
    if total > MAX_CELLS:
        raise ConfigError(f"{source}: grid: {total:,} cells, more than the {MAX_CELLS:,} allowed")
    cache: dict[tuple[str, str], Any] = {}
    cells: list[Cell] = []
    seen: dict[str, str] = {}
    for s in sweeps:
        rules = {"invalid_policy": model.invalid_policy, "trace": model.trace, "mode": model.mode,
                 "budget": None if model.budget is None else tuple(map(float, model.budget)),
                 "distance_samples": model.distance_samples, "isolate": model.isolate,
                 **{key: getattr(model, key) for key in VARIANT_RULES}, **s.rules}
        for cell, point in s.cells(model.seed, model.rounds, rules, cache):
            label = f"{_where(s.loc) + ' ' if s.loc else ''}cell {_describe(point)}"
            if cell.cell_id in seen:
                raise ConfigError(f"{source}: {label}: the same match as {seen[cell.cell_id]} "
                                  f"(class {cell.cls!r}, attacker {cell.attacker!r}, defender {cell.defender!r}, "
                                  f"eps {cell.eps:g})")
            seen[cell.cell_id] = label
            cells.append(cell)
    canonical: dict[str, Any] = {"name": model.name, "seed": model.seed, "rounds": model.rounds,
                                 "invalid_policy": model.invalid_policy, "chunk_rounds": model.chunk_rounds,
                                 "description": model.description}
    if model.trace:  # only when on: configs without the key keep their hash
        canonical["trace"] = True
    if model.mode != "random-trigger":
        canonical["mode"] = model.mode
    if model.budget is not None:
        canonical["budget"] = [float(v) for v in model.budget]
    for key in ("distance_samples", *VARIANT_RULES):
        if getattr(model, key) is not None:
            canonical[key] = getattr(model, key)
    if model.sweep is not None:
        canonical["sweep"] = [s.canonical for s in sweeps]
    else:
        canonical.update(sweeps[0].canonical)
    return SweepConfig(name=model.name, seed=model.seed, rounds=model.rounds, invalid_policy=model.invalid_policy,
                       chunk_rounds=model.chunk_rounds, description=model.description, source=source,
                       source_text=text, canonical=canonical, _cells=tuple(cells))


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a sweep configuration file (see :func:`parse_config`); messages
    start with the file's name."""
    path = Path(path)
    source = path.name or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file ({path})") from None
    except IsADirectoryError:
        raise ConfigError(f"{source}: is a directory, not a TOML file ({path})") from None
    except OSError as err:
        raise ConfigError(f"{source}: cannot read ({err.strerror or err})") from None
    return parse_config(raw, source)
