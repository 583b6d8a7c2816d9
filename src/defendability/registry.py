"""Names to components, and the ``name:key=value,...`` SPEC parser.

Every class, learner, attacker and defender registers itself with :func:`register`
under a kind and a name. A SPEC such as ``subsets:N=64,d=16`` is parsed into a name
and keyword arguments (ints, floats, bools or strings), checked against the
constructor's signature, and built. Errors name the bad part and the valid choices.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from .errors import SpecError, UserError

KINDS = ("classes", "learners", "attackers", "defenders")
_PACKAGES = {kind: f"defendability.{kind}" for kind in KINDS}
_REGISTRY: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}

T = TypeVar("T", bound=type)


def register(kind: str, name: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` buildable as ``name`` under ``kind``."""
    if kind not in _REGISTRY:
        raise ValueError(f"unknown registry kind {kind!r}")

    def deco(cls: T) -> T:
        existing = _REGISTRY[kind].get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"{kind} name {name!r} registered twice")
        cls.name = name
        _REGISTRY[kind][name] = cls
        return cls

    return deco


def _load(kind: str) -> dict[str, type]:
    importlib.import_module(_PACKAGES[kind])
    return _REGISTRY[kind]


def parse_value(text: str) -> Any:
    """``"3" -> 3``, ``"0.5" -> 0.5``, ``"true" -> True``, ``"1/12" -> 0.0833``, else the string."""
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    if "/" in text:
        num, _, den = text.partition("/")
        try:
            return float(num) / float(den)
        except (ValueError, ZeroDivisionError):
            pass
    return text.strip()


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name:key=value,key=value"`` -> ``(name, {key: value})``."""
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError("empty SPEC: expected 'name' or 'name:key=value,...'")
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    params: dict[str, Any] = {}
    if rest.strip():
        for item in rest.split(","):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or not key or not value.strip():
                raise SpecError(f"SPEC {spec!r}: {item.strip()!r} is not key=value")
            if key in params:
                raise SpecError(f"SPEC {spec!r}: key {key!r} given twice")
            params[key] = parse_value(value)
    return name, params


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    annotation: str
    required: bool = False


def parameters(component: type) -> list[Parameter]:
    """The constructor parameters of a registered component, in order."""
    sig = inspect.signature(component.__init__)
    out = []
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", str(p.annotation))
        out.append(Parameter(p.name, None if p.default is p.empty else p.default, ann, p.default is p.empty))
    return out


def summary(component: type) -> str:
    """First line of the component's docstring."""
    doc = inspect.getdoc(component) or ""
    return doc.splitlines()[0] if doc else ""


def names(kind: str) -> list[str]:
    return sorted(_load(kind))


def lookup(kind: str, name: str) -> type:
    table = _load(kind)
    if name not in table:
        raise SpecError(f"unknown {kind[:-1] if kind != 'classes' else 'class'} {name!r}; "
                        f"valid: {', '.join(sorted(table))}")
    return table[name]


def _coerce(component: type, pname: str, annotation: str, value: Any) -> Any:
    ann = annotation.replace(" ", "")
    if ann.startswith("float") and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if ann.startswith("int") and isinstance(value, float) and value.is_integer():
        return int(value)
    if ann.startswith("str") and not isinstance(value, str):
        return str(value)
    expected = {"int": int, "float": (int, float), "bool": bool}.get(ann.split("|")[0])
    if expected is not None and (not isinstance(value, expected) or (ann.startswith(("int", "float")) and isinstance(value, bool))):
        raise SpecError(f"{component.name}: {pname}={value!r} should be {ann}")
    return value


def build(kind: str, spec: Any, **context: Any) -> Any:
    """Build a component from a SPEC string, or pass an already built object through.

    ``context`` supplies keyword arguments the SPEC cannot hold (objects), used only
    when the constructor accepts them.
    """
    if not isinstance(spec, str):
        return spec
    name, params = parse_spec(spec)
    component = lookup(kind, name)
    known = {p.name: p for p in parameters(component)}
    for key in params:
        if key not in known:
            valid = ", ".join(known) or "none"
            raise SpecError(f"{name}: unknown parameter {key!r}; valid: {valid}")
    kwargs = {k: _coerce(component, k, known[k].annotation, v) for k, v in params.items()}
    for key, value in context.items():
        if key in known and key not in kwargs:
            kwargs[key] = value
    missing = [p.name for p in known.values() if p.required and p.name not in kwargs]
    if missing:
        raise SpecError(f"{name}: missing parameter {', '.join(repr(m) for m in missing)}")
    try:
        return component(**kwargs)
    except UserError as err:
        message = str(err)
        raise type(err)(message if message.startswith(f"{name}:") else f"{name}: {message}") from None
