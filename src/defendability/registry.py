"""Names to components, the ``name:key=value,...`` SPEC parser, and SPECs read back.

Every class, learner, attacker and defender registers itself with :func:`register`
under a kind and a name: that decorator is the only step. A SPEC such as
``subsets:N=64,d=16`` is parsed into a name and keyword arguments (ints, floats, bools
or strings), checked against the constructor's signature, and built. A value that is
itself a SPEC with several parameters goes in brackets:
``vote:learner=[estimator:model=knn,seed=1],voters=11``. Errors name the bad part and
the valid choices.

Loading is lazy: importing a component package imports none of its modules. The first
lookup of a name reads the package's module files for ``@register(kind, name)`` lines
(a text scan, no import) and imports the one module that registers it; ``names(kind)``
and a name the scan does not find import every module of the package, so a component
registered in any way is still found.

The reverse direction, :func:`spec_of`, writes a component back as a SPEC from its
constructor's signature: the parameters that differ from their defaults, read with
:meth:`Component.get_params`. ``build(kind, spec_of(x))`` rebuilds x, which is what the
``repr`` of every component is.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import pkgutil
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, TypeVar

from .errors import SpecError, UserError

KINDS = ("classes", "learners", "attackers", "defenders")
_PACKAGES = {kind: f"defendability.{kind}" for kind in KINDS}
_REGISTRY: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
#: name -> module (relative to the kind's package), from the text scan; None until scanned.
_TABLE: dict[str, dict[str, str] | None] = {kind: None for kind in KINDS}
#: Kinds whose every module has been imported.
_LOADED: set[str] = set()
#: A registration as written in a module: ``@register("kind", "name")``.
_DECORATOR = re.compile(r"""@register\(\s*["']([\w-]+)["']\s*,\s*["']([^"']+)["']\s*\)""")

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


# -- loading ---------------------------------------------------------------------------
def _modules(kind: str) -> list[tuple[str, Path | None]]:
    """The component modules of a kind's package: ``(module name, file or None)``.

    Modules whose name starts with ``_`` are helpers and register nothing."""
    package = importlib.import_module(_PACKAGES[kind])
    out = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.ispkg or info.name.startswith("_"):
            continue
        path = getattr(info.module_finder, "path", None)
        out.append((info.name, Path(path) / f"{info.name}.py" if path else None))
    return sorted(out)


def _scan(kind: str) -> dict[str, str]:
    """name -> module for the registrations written as ``@register("kind", "name")``
    in the package's module files. Read once per process; a module that cannot be read
    as text is simply absent (``_load_all`` will import it)."""
    table = _TABLE[kind]
    if table is None:
        table = {}
        for module, path in _modules(kind):
            try:
                text = path.read_text(encoding="utf-8") if path is not None else ""
            except OSError:
                continue
            for found_kind, name in _DECORATOR.findall(text):
                if found_kind == kind:
                    table.setdefault(name, module)
        _TABLE[kind] = table
    return table


def _load_all(kind: str) -> dict[str, type]:
    """Import every module of the kind's package (each registers its components)."""
    if kind not in _LOADED:
        for module, _ in _modules(kind):
            importlib.import_module(f"{_PACKAGES[kind]}.{module}")
        _LOADED.add(kind)
    return _REGISTRY[kind]


def _find(kind: str, name: str) -> type | None:
    """The component registered as ``name``, importing only what is needed."""
    table = _REGISTRY[kind]
    if name not in table:
        module = _scan(kind).get(name)
        if module is not None:
            importlib.import_module(f"{_PACKAGES[kind]}.{module}")
        if name not in table:
            _load_all(kind)
    return table.get(name)


def names(kind: str) -> list[str]:
    """Every registered name of ``kind``, sorted (imports the whole package)."""
    if kind not in _REGISTRY:
        raise SpecError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    return sorted(_load_all(kind))


def _noun(kind: str) -> str:
    return "class" if kind == "classes" else kind[:-1]


def lookup(kind: str, name: str) -> type:
    """The component class registered as ``name`` (``SpecError`` listing the valid names)."""
    component = _find(kind, name)
    if component is None:
        raise SpecError(f"unknown {_noun(kind)} {name!r}; valid: {', '.join(names(kind))}")
    return component


def kind_of(component: type | object) -> str | None:
    """The kind under which ``component`` (a class or an instance) or its nearest
    registered base is registered, from the kinds loaded so far; ``None`` if none."""
    cls = component if isinstance(component, type) else type(component)
    for base in cls.__mro__:
        for kind, table in _REGISTRY.items():
            if table.get(getattr(base, "name", None)) is base:
                return kind
    return None


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a component package whose ``__init__`` imports
    nothing: ``exports`` maps a public name to the module (in ``package``) defining it,
    imported on first access; any other attribute that names a module of the package
    imports that module."""
    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is not None:
            value = getattr(importlib.import_module(f"{package}.{module}"), name)
        elif not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(importlib.import_module(package))) | set(exports))

    return __getattr__, __dir__


# -- parsing ---------------------------------------------------------------------------
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


def _split_top(spec: str, text: str) -> list[str]:
    """``text`` split at the commas outside brackets (``SpecError`` if unbalanced)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise SpecError(f"SPEC {spec!r}: unbalanced brackets (a ']' without its '[')")
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise SpecError(f"SPEC {spec!r}: unbalanced brackets (a '[' without its ']')")
    parts.append(text[start:])
    return parts


def _parse_item_value(spec: str, key: str, value: str) -> Any:
    """A value as written: ``[...]`` is the text inside, kept as a string (a nested
    SPEC, or a string holding commas); anything else goes through :func:`parse_value`."""
    value = value.strip()
    if "[" not in value and "]" not in value:
        return parse_value(value)
    if not (value.startswith("[") and value.endswith("]") and _balanced(value[1:-1])):
        raise SpecError(f"SPEC {spec!r}: the value of {key!r} must be wholly inside one pair of brackets, "
                        f"as in {key}=[name:a=1,b=2]")
    inner = value[1:-1].strip()
    if not inner:
        raise SpecError(f"SPEC {spec!r}: {key}=[] is empty")
    return inner


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name:key=value,key=value"`` -> ``(name, {key: value})``.

    Values parse as int, float, bool or string (:func:`parse_value`); a value in
    brackets, ``key=[...]``, is the text inside as a string, commas included: that is
    how a nested SPEC with several parameters is written
    (``vote:learner=[estimator:model=knn,seed=1],voters=11``). Brackets nest.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise SpecError("empty SPEC: expected 'name' or 'name:key=value,...'")
    name, _, rest = spec.strip().partition(":")
    name = name.strip()
    if not name or any(c in name for c in "[],="):
        raise SpecError(f"SPEC {spec!r}: {name!r} is not a component name")
    params: dict[str, Any] = {}
    if rest.strip():
        for item in _split_top(spec, rest):
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq or not key or not value.strip() or "[" in key or "]" in key:
                raise SpecError(f"SPEC {spec!r}: {item.strip()!r} is not key=value")
            if key in params:
                raise SpecError(f"SPEC {spec!r}: key {key!r} given twice")
            params[key] = _parse_item_value(spec, key, value)
    return name, params


# -- writing ---------------------------------------------------------------------------
def format_value(value: Any) -> str:
    """A parameter value as a SPEC writes it, such that :func:`parse_spec` reads it
    back: ``true``/``false``, ints, floats by their shortest round-trip ``repr``, a
    component by its own SPEC; in brackets when it is a component with parameters, when
    the text holds a comma or a bracket, or when it is a string that would otherwise read
    as another type (``[3]`` is the string "3")."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":  # a numpy scalar: its Python value
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = value if isinstance(value, str) else repr(value)
    plain = isinstance(value, str) and parse_value(text) == text and text == text.strip()
    # a nested component with parameters is bracketed even when it needs no brackets to
    # parse: vote:learner=[estimator:model=tree],voters=11 reads unambiguously
    nested = isinstance(value, Component) and ":" in text
    if nested or any(c in text for c in ",[]") or (isinstance(value, str) and not plain):
        return f"[{text}]"
    return text


def format_spec(name: str, params: dict[str, Any]) -> str:
    """``name`` or ``name:key=value,...`` with the values of :func:`format_value`."""
    if not params:
        return name
    return f"{name}:" + ",".join(f"{key}={format_value(value)}" for key, value in params.items())


#: SPECs of built defaults, by (kind, SPEC): what a nested component's default is.
_DEFAULT_SPECS: dict[tuple[str, str], str] = {}


def is_default(value: Any, default: Any) -> bool:
    """Whether a parameter holds its default: equal and of the same kind of scalar; a
    nested component holds a default SPEC when its own SPEC is that of the default built."""
    if hasattr(value, "item") and type(value).__module__ == "numpy":
        value = value.item()
    if default is None or value is None:
        return value is default
    if isinstance(value, Component) and isinstance(default, str):
        kind = kind_of(value)
        if kind is None:
            return False
        if (kind, default) not in _DEFAULT_SPECS:
            _DEFAULT_SPECS[(kind, default)] = repr(build(kind, default))
        return repr(value) == _DEFAULT_SPECS[(kind, default)]
    if isinstance(value, bool) != isinstance(default, bool):
        return False
    if type(value) not in (bool, int, float, str) or type(default) not in (bool, int, float, str):
        return value is default
    return value == default


def spec_of(component: Any, *, changed_only: bool = True) -> str:
    """The SPEC that rebuilds ``component``: its registered name and the constructor
    parameters (in signature order) that differ from their defaults, or all of them with
    ``changed_only=False``."""
    values = component.get_params()
    shown = {}
    for p in parameters(type(component)):
        value = values[p.name]
        if changed_only and not p.required and is_default(value, p.default):
            continue
        shown[p.name] = value
    return format_spec(type(component).name, shown)


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    annotation: str
    required: bool = False


def parameters(component: type) -> tuple[Parameter, ...]:
    """The constructor parameters of a registered component, in order (cached per type:
    a repr reads them, and the referee hashes classes by their SPEC every round)."""
    return _parameters(component)


@functools.lru_cache(maxsize=None)
def _parameters(component: type) -> tuple[Parameter, ...]:
    sig = inspect.signature(component.__init__)
    out = []
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", str(p.annotation))
        out.append(Parameter(p.name, None if p.default is p.empty else p.default, ann, p.default is p.empty))
    return tuple(out)


def summary(component: type) -> str:
    """First line of the component's docstring."""
    doc = inspect.getdoc(component) or ""
    return doc.splitlines()[0] if doc else ""


# -- components ------------------------------------------------------------------------
@dataclass(frozen=True)
class Match:
    """The other players of a fast test match, where the contract checks of
    :mod:`defendability.testing` play a component: the class SPEC, the attacker and the
    defender SPECs (the slot of the component under test is ignored), eps, the game mode
    and trace access. Learners use ``cls`` only."""

    cls: str = "subsets:N=12,d=3"
    attacker: str = "point-flip"
    defender: str = "accept"
    eps: float = 0.1
    mode: str = "random-trigger"
    trace: bool = False


class Component:
    """What every registered component shares: its SPEC, read back from the constructor.

    The contract (checked by :mod:`defendability.testing`): the constructor only
    validates and stores its parameters, each under its own name, so that
    :meth:`get_params` reads them back and ``repr`` (a SPEC: the name and the parameters
    that differ from their defaults) rebuilds an equal component. A component that keeps
    a parameter under another form (a validated object, a name its class uses for a
    method) overrides :meth:`get_params` to return the values it was given.

    ``test_spec``: a SPEC of this component that the contract checks can play fast (the
    registered name alone when ``None``); ``test_match``: where they play it.
    """

    name: str = "component"
    test_spec: ClassVar[str | None] = None
    test_match: ClassVar[Match] = Match()

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters and their values, in signature order, read from
        the attributes of the same names."""
        return {p.name: getattr(self, p.name) for p in parameters(type(self))}

    def __repr__(self) -> str:
        try:
            return spec_of(self)
        except (AttributeError, KeyError) as err:  # a parameter not stored: the contract names it
            return f"{type(self).name}:<parameters unreadable: {err}>"


# -- building --------------------------------------------------------------------------
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
