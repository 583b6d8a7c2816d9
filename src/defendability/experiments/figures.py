"""Figures of a run's report: what is plotted (pure data, testable) and how (matplotlib).

Two kinds of figure, both built from ``cells`` rows of a results store
(:meth:`~defendability.experiments.store.ResultsStore.cells`):

* **Error figures** (:func:`error_figures`), one per (class family, attacker, defender),
  the family being the class SPEC's name (``subsets`` for ``subsets:N=64,d=10``). Four
  panels against eps*d (the cell's ``params["eps_times_d"]``): win rate, alpha, beta and
  alpha + beta, one measured series per class SPEC with its 95% interval as error bars,
  and the theory's bounds stored with each cell:

  - the attacker's ``lower_bound`` L on alpha + beta (every defender): drawn on the
    alpha + beta panel, and on the win-rate panel as the best possible win rate
    ``1 - L/2`` (win rate = 1 - (alpha + beta)/2);
  - the defender's ``guarantee`` ``{"alpha": A, "beta": B}``: A on the alpha panel, B on
    the beta panel, A + B on the alpha + beta panel and ``1 - (A + B)/2`` (the win rate
    it guarantees) on the win-rate panel.

  Where a series has both, the alpha + beta panel shades the band between L and A + B,
  where theory puts the defender's total error.
* **ROC figures** (:func:`roc_figures`) for graded defenders, from the ``scores``
  column: one panel per class SPEC, one curve per eps*d. Scores are one-sided: higher is
  more suspicious, a backdoor input is a positive, a clean input a negative.
* **Detection figures** (:func:`detection_figures`), one per class family where two or
  more defenders have an AUROC against the same attacker: AUROC against the evaluations
  of g per decision, a point per defender, a panel per (attacker, mode): what each
  defender's detection costs.
* **Cost figures** (:func:`cost_figures`), one per (class family, attacker) whose cells
  span at least two values of eps: the defender's measured cost (seconds per 1000
  decisions, samples per decision, from the ``cost`` column) against eps, one series per
  (defender, class SPEC): how a defender's price grows as the budget shrinks (THEORY §3:
  flat for an efficient PAC learner, about 1/eps for the statistical vote).

The ``*_figures`` functions return the plotted series exactly (no matplotlib needed), so
tests check them rather than images; :func:`draw_error_figure` and
:func:`draw_roc_figure` render them to PNG with matplotlib's Agg canvas, imported lazily
(matplotlib is the ``plots`` extra). Styles are readable in black-and-white print: every
series has its own marker, measured values are solid lines with filled markers, lower
bounds dashed lines and guarantees dotted lines with hollow markers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ReportError

#: Measured quantities of an error figure, in panel order: (measure, column prefix of its
#: interval in the store, axis label).
PANELS = (
    ("win_rate", "win", "win rate"),
    ("alpha", "alpha", "alpha (false-alarm rate)"),
    ("beta", "beta", "beta (miss rate)"),
    ("error_sum", "error_sum", "alpha + beta"),
)

#: Series kinds: measured values, the attacker's lower bound, the defender's guarantee.
KINDS = ("measured", "lower_bound", "guarantee")

#: Measured costs of a cost figure, in panel order: (key of the ``cost`` column, axis label).
COST_PANELS = (
    ("seconds_per_1000_decisions", "seconds per 1000 decisions"),
    ("samples_per_decision", "samples of D per decision"),
)

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
#: Colour-blind-safe colours (Okabe-Ito), black first; markers and line styles carry the
#: distinctions in black-and-white print.
COLOURS = ("#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#666666")
ROC_LINESTYLES = ("-", "--", "-.", ":")
_LINESTYLE = {"measured": "-", "lower_bound": "--", "guarantee": ":"}


@dataclass(frozen=True)
class Series:
    """One plotted line: points ``(x[i], y[i])`` sorted by x; for measured series the
    95% interval ``[lo[i], hi[i]]`` of each point (``None`` for bounds). ``style`` is
    the index of the class SPEC in its figure (marker and colour)."""

    label: str
    kind: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    lo: tuple[float, ...] | None
    hi: tuple[float, ...] | None
    style: int


@dataclass(frozen=True)
class Band:
    """A shaded band between two curves over the same x (theory's range of alpha + beta)."""

    label: str
    x: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    style: int


@dataclass(frozen=True)
class Panel:
    """One axes of an error figure: ``measure`` is one of :data:`PANELS`' measures."""

    measure: str
    ylabel: str
    series: tuple[Series, ...]
    bands: tuple[Band, ...]


@dataclass(frozen=True)
class ErrorFigure:
    """Win rate, alpha, beta and alpha + beta against eps*d for one (class family,
    attacker, defender); ``classes`` are the class SPECs, in series-style order."""

    stem: str
    title: str
    family: str
    attacker: str
    defender: str
    classes: tuple[str, ...]
    log_x: bool
    panels: tuple[Panel, ...]

    def panel(self, measure: str) -> Panel:
        """The panel of ``measure`` (``win_rate``, ``alpha``, ``beta``, ``error_sum``)."""
        return next(p for p in self.panels if p.measure == measure)


@dataclass(frozen=True)
class RocCurve:
    """ROC of one cell: false- and true-positive rates at every threshold, from (0, 0) to
    (1, 1); ``auroc`` as stored."""

    label: str
    eps_times_d: float
    fpr: tuple[float, ...]
    tpr: tuple[float, ...]
    auroc: float | None
    style: int


@dataclass(frozen=True)
class RocPanel:
    """The ROC curves of one class SPEC, one per eps*d."""

    cls: str
    curves: tuple[RocCurve, ...]


@dataclass(frozen=True)
class RocFigure:
    """ROC curves of a graded defender for one (class family, attacker, defender)."""

    stem: str
    title: str
    family: str
    attacker: str
    defender: str
    panels: tuple[RocPanel, ...]


@dataclass(frozen=True)
class CostFigure:
    """Cost against eps for one (class family, attacker): one panel per measure of
    :data:`COST_PANELS`, one measured series per (defender, class SPEC); ``log_y`` per
    panel (all values positive)."""

    stem: str
    title: str
    family: str
    attacker: str
    panels: tuple[Panel, ...]
    log_y: tuple[bool, ...]


@dataclass(frozen=True)
class DetectionFigure:
    """Detection against cost for one class family: one panel per (attacker, mode), one
    point per defender (its series), at x = evaluations of the given function per
    decision (the referee's count, fit included) and y = AUROC. Only graded cells (an
    AUROC) are drawn."""

    stem: str
    title: str
    family: str
    panels: tuple[Panel, ...]


# -- reading rows ------------------------------------------------------------------------

def natural_key(text: str) -> list[Any]:
    """Sort key that orders the numbers inside a string by value (``d=9`` before ``d=10``):
    strings at even positions, numbers at odd ones."""
    parts: list[Any] = re.split(r"(\d+(?:\.\d+)?)", text)
    for i in range(1, len(parts), 2):
        parts[i] = float(parts[i])
    return parts


def family(cls: str) -> str:
    """The component name of a SPEC (``subsets`` for ``subsets:N=64,d=10``)."""
    return cls.split(":", 1)[0]


def eps_times_d(row: dict[str, Any]) -> float:
    """The cell's eps*d: its ``params["eps_times_d"]``, else eps times its VC dimension."""
    params = json.loads(row["params"]) if isinstance(row.get("params"), str) else (row.get("params") or {})
    value = params.get("eps_times_d")
    return float(value) if value is not None else float(row["eps"]) * int(row["vc_dimension"])


def defender_label(row: dict[str, Any]) -> str:
    """The cell's defender SPEC, with the game mode when it is not the paper's
    random-trigger game (``"smoothing [perturbation]"``): cells of one defender in two
    modes are two comparisons, grouped apart in figures and tables."""
    mode = game_mode(row)
    return row["defender"] if mode == "random-trigger" else f"{row['defender']} [{mode}]"


def game_mode(row: dict[str, Any]) -> str:
    """The cell's game mode (its ``params["mode"]``; the paper's random-trigger game when unset)."""
    params = json.loads(row["params"]) if isinstance(row.get("params"), str) else (row.get("params") or {})
    return params.get("mode", "random-trigger")


#: The rules a cell may set besides the mode, as the report names them.
RULE_PARAMS = ("trace", "predicate_iterations", "predicate_bits", "train_size", "poison", "attacker_evaluations",
               "attacker_samples", "attacker_seconds")


def rules_key(row: dict[str, Any]) -> tuple:
    """The cell's rules besides the mode (its ``params``), in a sortable form."""
    params = json.loads(row["params"]) if isinstance(row.get("params"), str) else (row.get("params") or {})
    return tuple((name, float(params[name])) for name in RULE_PARAMS
                 if params.get(name) is not None and params.get(name) is not False)


def rules_label(row: dict[str, Any]) -> str:
    """The cell's rules besides the mode, as a label (``"trace"``, ``"poison 0.05"``);
    empty for the paper's rules."""
    return ", ".join(name if name == "trace" else f"{name} {value:g}" for name, value in rules_key(row))


def guarantee(row: dict[str, Any]) -> dict[str, float] | None:
    """The defender's stored guarantee ``{"alpha": A, "beta": B}``, or ``None``."""
    value = row.get("guarantee")
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value


def sorted_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ordered by class, attacker, defender (numbers by value), then eps*d."""
    return sorted(rows, key=lambda r: (natural_key(r["class"]), natural_key(r["attacker"]),
                                       natural_key(defender_label(r)), eps_times_d(r)))


def _groups(rows: Iterable[dict[str, Any]], key: Any) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return out


def slug(text: str) -> str:
    """``text`` reduced to file-name characters (letters, digits, ``.``, ``_``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "x"


def _figure_groups(rows: Iterable[dict[str, Any]]) -> list[tuple[tuple[str, str, str], list[dict[str, Any]]]]:
    """Rows grouped by (class family, attacker, defender), in :func:`sorted_rows` order."""
    ordered = sorted_rows(rows)
    fam_order = {f: i for i, f in enumerate(dict.fromkeys(family(r["class"]) for r in ordered))}
    groups = _groups(ordered, lambda r: (family(r["class"]), r["attacker"], defender_label(r)))
    keys = sorted(groups, key=lambda k: (fam_order[k[0]], natural_key(k[1]), natural_key(k[2])))
    return [(k, groups[k]) for k in keys]


def _title(fam: str, classes: Sequence[str], attacker: str, defender: str) -> str:
    shown = ", ".join(classes) if len(classes) <= 3 else f"{fam} ({len(classes)} classes)"
    return f"class {shown}\nattacker {attacker} | defender {defender}"


# -- error figures -----------------------------------------------------------------------

def _points(rows: Sequence[dict[str, Any]], value: Any) -> tuple[tuple[float, ...], tuple[float, ...]]:
    xs, ys = [], []
    for row in rows:
        y = value(row)
        if y is not None:
            xs.append(eps_times_d(row))
            ys.append(float(y))
    return tuple(xs), tuple(ys)


def _measured(rows: Sequence[dict[str, Any]], measure: str, prefix: str, label: str, style: int) -> Series | None:
    kept = [r for r in rows if r[measure] is not None]
    if not kept:
        return None
    return Series(label, "measured", tuple(eps_times_d(r) for r in kept), tuple(float(r[measure]) for r in kept),
                  tuple(float(r[f"{prefix}_lo"]) for r in kept), tuple(float(r[f"{prefix}_hi"]) for r in kept), style)


def _bound(rows: Sequence[dict[str, Any]], kind: str, label: str, value: Any, style: int) -> Series | None:
    x, y = _points(rows, value)
    return Series(label, kind, x, y, None, None, style) if x else None


def _guarantee_sum(row: dict[str, Any]) -> float | None:
    g = guarantee(row)
    return None if g is None else g["alpha"] + g["beta"]


def _lower_bound(row: dict[str, Any]) -> float | None:
    return row["lower_bound"]


def _panel(measure: str, ylabel: str, prefix: str, series_rows: Sequence[tuple[str, list[dict[str, Any]]]]) -> Panel:
    series: list[Series] = []
    bands: list[Band] = []
    for style, (cls, rows) in enumerate(series_rows):
        candidates: list[Series | None] = [_measured(rows, measure, prefix, cls, style)]
        if measure == "win_rate":
            candidates += [
                _bound(rows, "lower_bound", f"{cls}: best possible (1 - attacker bound / 2)",
                       lambda r: None if r["lower_bound"] is None else 1.0 - r["lower_bound"] / 2.0, style),
                _bound(rows, "guarantee", f"{cls}: guaranteed (1 - (A + B) / 2)",
                       lambda r: None if _guarantee_sum(r) is None else 1.0 - _guarantee_sum(r) / 2.0, style)]
        elif measure in ("alpha", "beta"):
            candidates.append(_bound(rows, "guarantee", f"{cls}: defender's guarantee on {measure}",
                                     lambda r: None if guarantee(r) is None else guarantee(r)[measure], style))
        else:
            candidates += [
                _bound(rows, "lower_bound", f"{cls}: attacker's lower bound (every defender)", _lower_bound, style),
                _bound(rows, "guarantee", f"{cls}: defender's guarantee", _guarantee_sum, style)]
            both = [r for r in rows if r["lower_bound"] is not None and _guarantee_sum(r) is not None]
            if both:
                bands.append(Band(f"{cls}: theory's range", tuple(eps_times_d(r) for r in both),
                                  tuple(float(r["lower_bound"]) for r in both),
                                  tuple(float(_guarantee_sum(r)) for r in both), style))  # type: ignore[arg-type]
        series.extend(s for s in candidates if s is not None)
    return Panel(measure, ylabel, tuple(series), tuple(bands))


def error_figures(rows: Iterable[dict[str, Any]]) -> list[ErrorFigure]:
    """The error figures of a run's ``cells`` rows, one per (class family, attacker,
    defender) whose cells span two or more values of eps*d (a single point is the
    overview table's line, not a curve), in a fixed order; ``stem`` is the PNG's file
    name without suffix."""
    out = []
    groups = [(key, group) for key, group in _figure_groups(rows) if len({eps_times_d(r) for r in group}) > 1]
    for i, ((fam, attacker, defender), group) in enumerate(groups, start=1):
        by_class = list(_groups(group, lambda r: r["class"]).items())
        xs = [eps_times_d(r) for r in group]
        log_x = min(xs) > 0 and max(xs) / min(xs) > 10.0
        panels = tuple(_panel(measure, label, prefix, by_class) for measure, prefix, label in PANELS)
        classes = tuple(c for c, _ in by_class)
        out.append(ErrorFigure(f"errors-{i:02d}-{slug(fam)}-{slug(attacker)}-{slug(defender)}",
                               _title(fam, classes, attacker, defender), fam, attacker, defender, classes,
                               log_x, panels))
    return out


# -- ROC ---------------------------------------------------------------------------------

def roc_curve(clean: Sequence[float], backdoor: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of the rule "reject when score >= t" at every
    threshold t among the scores, from the strictest, with (0, 0) first and (1, 1) last.

    ``clean``: scores of clean inputs (negatives); ``backdoor``: scores of backdoor
    inputs (positives); both non-empty. Tied scores move both rates at once, so the
    trapezoidal area under the curve equals the AUROC with ties counted as one half.
    """
    neg, pos = np.asarray(clean, float), np.asarray(backdoor, float)
    thresholds = np.unique(np.r_[neg, pos])[::-1]
    neg_sorted, pos_sorted = np.sort(neg), np.sort(pos)
    fpr = (len(neg) - np.searchsorted(neg_sorted, thresholds, side="left")) / len(neg)
    tpr = (len(pos) - np.searchsorted(pos_sorted, thresholds, side="left")) / len(pos)
    return np.r_[0.0, fpr, 1.0], np.r_[0.0, tpr, 1.0]


def roc_figures(rows: Iterable[dict[str, Any]]) -> list[RocFigure]:
    """ROC figures of the cells whose ``scores`` hold clean and backdoor scores (graded
    defenders with at least one valid round), one per (class family, attacker,
    defender)."""
    scored = []
    for row in rows:
        if row.get("scores") is None:
            continue
        scores = json.loads(row["scores"])
        if scores.get("clean") and scores.get("backdoor"):
            scored.append((row, scores))
    out = []
    by_id = {id(r): s for r, s in scored}
    for i, ((fam, attacker, defender), group) in enumerate(_figure_groups([r for r, _ in scored]), start=1):
        panels = []
        for cls, cell_rows in _groups(group, lambda r: r["class"]).items():
            curves = []
            for style, row in enumerate(cell_rows):
                s = by_id[id(row)]
                fpr, tpr = roc_curve(s["clean"], s["backdoor"])
                auroc = row["auroc"]
                label = (f"eps*d = {eps_times_d(row):g}: " + (f"AUROC {auroc:.3f}, " if auroc is not None else "")
                         + f"{len(s['backdoor'])} backdoor(s)")
                curves.append(RocCurve(label, eps_times_d(row), tuple(fpr.tolist()), tuple(tpr.tolist()), auroc,
                                       style))
            panels.append(RocPanel(cls, tuple(curves)))
        classes = [p.cls for p in panels]
        out.append(RocFigure(f"roc-{i:02d}-{slug(fam)}-{slug(attacker)}-{slug(defender)}",
                             "ROC " + _title(fam, classes, attacker, defender), fam, attacker, defender,
                             tuple(panels)))
    return out


# -- cost --------------------------------------------------------------------------------

def cost_figures(rows: Iterable[dict[str, Any]]) -> list[CostFigure]:
    """The cost figures of a run's ``cells`` rows: one per (class family, attacker) with at
    least two distinct eps, in :func:`sorted_rows` order."""
    ordered = sorted_rows(rows)
    groups = _groups(ordered, lambda r: (family(r["class"]), r["attacker"]))
    out = []
    for (fam, attacker), group in groups.items():
        if len({float(r["eps"]) for r in group}) < 2:
            continue
        by_series = _groups(group, lambda r: (defender_label(r), r["class"]))
        panels, log_y = [], []
        for key, label in COST_PANELS:
            series = []
            for style, ((defender, cls), cell_rows) in enumerate(by_series.items()):
                pts = sorted((float(r["eps"]), float(json.loads(r["cost"])[key])) for r in cell_rows)
                series.append(Series(f"{defender} | {cls}", "measured", tuple(x for x, _ in pts),
                                     tuple(y for _, y in pts), None, None, style))
            panels.append(Panel(key, label, tuple(series), ()))
            log_y.append(all(y > 0 for s in series for y in s.y))
        out.append(CostFigure(f"cost-{len(out) + 1:02d}-{slug(fam)}-{slug(attacker)}",
                              f"cost of defence: class {fam}, attacker {attacker}", fam, attacker, tuple(panels),
                              tuple(log_y)))
    return out


# -- detection against cost ---------------------------------------------------------------

def detection_figures(rows: Iterable[dict[str, Any]]) -> list[DetectionFigure]:
    """One figure per class family where at least two defenders have an AUROC against
    the same attacker: a panel per (attacker, mode), a point per (defender, class SPEC).
    Where a defender has several cells against an attacker (several eps), each is a
    point of its series."""
    graded = [r for r in sorted_rows(rows) if r.get("auroc") is not None]
    out = []
    for fam, group in _groups(graded, lambda r: family(r["class"])).items():
        panels = []
        labels = sorted({r["defender"] for r in group}, key=natural_key)
        for (attacker, mode), cells in _groups(group, lambda r: (r["attacker"], game_mode(r))).items():
            if len({r["defender"] for r in cells}) < 2:
                continue
            several = len({r["class"] for r in cells}) > 1
            series = []
            for (defender, cls), pts in _groups(cells, lambda r: (r["defender"], r["class"])).items():
                xy = sorted((float(json.loads(r["cost"])["evaluations_per_decision"]), float(r["auroc"])) for r in pts)
                series.append(Series(f"{defender} | {cls}" if several else defender, "measured",
                                     tuple(x for x, _ in xy), tuple(y for _, y in xy), None, None,
                                     labels.index(defender)))
            panels.append(Panel(f"{attacker} ({mode})", f"{attacker} ({mode})", tuple(series), ()))
        if panels:
            out.append(DetectionFigure(f"detection-{len(out) + 1:02d}-{slug(fam)}",
                                       f"detection against cost: class {fam}", fam, tuple(panels)))
    return out


# -- drawing -----------------------------------------------------------------------------

def _matplotlib() -> tuple[Any, Any]:
    """matplotlib's ``Figure`` class and ``image`` module, imported here so that the rest
    of the package works without the ``plots`` extra."""
    try:
        from matplotlib import image
        from matplotlib.figure import Figure
    except ImportError:
        raise ReportError("reports need matplotlib for their figures: pip install 'defendability[plots]'") from None
    return Figure, image


def require_matplotlib() -> None:
    """Raise :class:`~defendability.errors.ReportError` (one line) if
    matplotlib is missing."""
    _matplotlib()


def _style(style: int) -> tuple[str, str]:
    return MARKERS[style % len(MARKERS)], COLOURS[style % len(COLOURS)]


def _ylim(panel: Panel) -> tuple[float, float]:
    """From 0 up to the largest measured value, interval end or bound (with a margin);
    bounds are cut at 1 (error rates and win rates lie in [0, 1], alpha + beta in [0, 2])
    and the measured values always show."""
    data = [v for s in panel.series if s.kind == "measured" for v in (*s.y, *(s.hi or ()))]
    bounds = [v for s in panel.series if s.kind != "measured" for v in s.y]
    cap = max([1.0, *data])
    top = max([0.0, *data, *(min(b, cap) for b in bounds)])
    top = max(top * 1.1, 0.01)
    return (0.0, cap * 1.02) if top >= 0.9 * cap else (0.0, top)


def draw_error_figure(spec: ErrorFigure, path: str | Path, dpi: int = 110) -> Path:
    """Render an :class:`ErrorFigure` to a PNG at ``path`` (2 x 2 panels, one legend)."""
    Figure, _ = _matplotlib()
    fig = Figure(figsize=(11.0, 8.5), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True).ravel()
    handles: dict[str, Any] = {}
    for ax, panel in zip(axes, spec.panels):
        for band in panel.bands:
            _, colour = _style(band.style)
            h = ax.fill_between(band.x, band.low, band.high, color=colour, alpha=0.10, linewidth=0,
                                hatch="//" if band.style % 2 else "\\\\")
            handles.setdefault(band.label, h)
        for s in panel.series:
            marker, colour = _style(s.style)
            if s.kind == "measured":
                y = np.asarray(s.y)
                yerr = np.vstack([np.maximum(y - np.asarray(s.lo), 0.0), np.maximum(np.asarray(s.hi) - y, 0.0)])
                h = ax.errorbar(s.x, s.y, yerr=yerr, color=colour, marker=marker, linestyle="-", linewidth=1.4,
                                markersize=6, capsize=3, elinewidth=1.0)
                key = f"{s.label}: measured, 95% interval"
            else:
                (h,) = ax.plot(s.x, s.y, color=colour, marker=marker, markerfacecolor="none", markersize=5,
                               linestyle=_LINESTYLE[s.kind], linewidth=1.2)
                key = s.label if panel.measure == "error_sum" else None  # the alpha + beta panel names them
            if key is not None:
                handles.setdefault(key, h)
        ax.set_title(panel.ylabel)
        ax.set_ylabel(panel.ylabel)
        ax.set_ylim(*_ylim(panel))
        if spec.log_x:
            ax.set_xscale("log")
        ax.grid(True, which="major", linestyle=":", linewidth=0.6, color="#999999")
    for ax in axes[2:]:
        ax.set_xlabel("eps * d  (eps times VC dimension)")
    return _finish(fig, spec.title, handles, path, dpi)


def wrapped(text: str, width: int) -> str:
    """``text`` with each line broken at spaces, commas and bars into lines of at most
    ``width`` characters (long SPECs would run off the figure otherwise)."""
    out = []
    for line in text.split("\n"):
        pieces = re.split(r"(?<=[ ,|])", line)
        current = ""
        for piece in pieces:
            if current and len(current) + len(piece) > width:
                out.append(current.rstrip())
                current = ""
            current += piece
        out.append(current.rstrip())
    return "\n".join(out)


def _finish(fig: Any, title: str, handles: dict[str, Any], path: str | Path, dpi: int) -> Path:
    """Title, one legend below the panels, and the PNG at ``path``; titles and labels
    wrapped to the figure's width."""
    chars = int(fig.get_figwidth() * 9)  # about 9 characters of the default font per inch
    fig.suptitle(wrapped(title, chars))
    fig.legend(list(handles.values()), [wrapped(k, chars // 2) for k in handles], loc="outside lower center", ncol=2,
               fontsize="small", frameon=False)
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    return path


def draw_cost_figure(spec: CostFigure, path: str | Path, dpi: int = 110) -> Path:
    """Render a :class:`CostFigure` to a PNG at ``path`` (one panel per cost, log eps)."""
    Figure, _ = _matplotlib()
    fig = Figure(figsize=(11.0, 4.8), layout="constrained")
    axes = fig.subplots(1, len(spec.panels)).ravel()
    handles: dict[str, Any] = {}
    for ax, panel, log_y in zip(axes, spec.panels, spec.log_y):
        for s in panel.series:
            marker, colour = _style(s.style)
            (h,) = ax.plot(s.x, s.y, color=colour, marker=marker, markersize=6,
                           linestyle=ROC_LINESTYLES[s.style % len(ROC_LINESTYLES)], linewidth=1.4)
            handles.setdefault(s.label, h)
        ax.set_xscale("log")
        if log_y:
            ax.set_yscale("log")
        ax.set_title(panel.ylabel)
        ax.set_ylabel(panel.ylabel)
        ax.set_xlabel("eps")
        ax.grid(True, which="major", linestyle=":", linewidth=0.6, color="#999999")
    return _finish(fig, spec.title, handles, path, dpi)


def draw_detection_figure(spec: DetectionFigure, path: str | Path, dpi: int = 110) -> Path:
    """Render a :class:`DetectionFigure` to a PNG at ``path``: one square panel per
    attacker, AUROC against evaluations per decision (log), the coin flip dashed."""
    Figure, _ = _matplotlib()
    n = len(spec.panels)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.6 * cols, 4.2 * rows + 1.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    handles: dict[str, Any] = {}
    for ax, panel in zip(axes, spec.panels):
        for s in panel.series:
            marker, colour = _style(s.style)
            (h,) = ax.plot(s.x, s.y, color=colour, marker=marker, markersize=8, linestyle=":", linewidth=1.0)
            handles.setdefault(s.label, h)
        ax.axhline(0.5, color="#999999", linestyle="--", linewidth=1.0)
        ax.set_xscale("log")
        ax.set_ylim(0.0, 1.02)
        ax.set_title(wrapped(panel.ylabel, 44), fontsize="medium")
        ax.set_xlabel("evaluations of g per decision")
        ax.set_ylabel("AUROC")
        ax.grid(True, which="major", linestyle=":", linewidth=0.6, color="#999999")
    for ax in axes[n:]:
        ax.set_visible(False)
    return _finish(fig, spec.title, handles, path, dpi)


def draw_roc_figure(spec: RocFigure, path: str | Path, dpi: int = 110) -> Path:
    """Render a :class:`RocFigure` to a PNG at ``path`` (one square panel per class)."""
    Figure, _ = _matplotlib()
    n = len(spec.panels)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.6 * cols, 4.6 * rows + 1.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, panel in zip(axes, spec.panels):
        ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1.0, label="chance")
        for c in panel.curves:
            marker, colour = _style(c.style)
            ax.plot(c.fpr, c.tpr, color=colour, marker=marker, markersize=4, markevery=max(1, len(c.fpr) // 12),
                    linestyle=ROC_LINESTYLES[c.style % len(ROC_LINESTYLES)], linewidth=1.3, label=c.label)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_aspect("equal")
        ax.set_title(wrapped(panel.cls, 44), fontsize="medium")
        ax.set_xlabel("false-positive rate (clean rejected)")
        ax.set_ylabel("true-positive rate (backdoor rejected)")
        ax.legend(fontsize="x-small", loc="lower right")
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.suptitle(wrapped(spec.title, int(fig.get_figwidth() * 9)))
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    return path


def read_png(path: str | Path) -> np.ndarray:
    """The pixels of a PNG (height x width x channels), read back with matplotlib."""
    _, image = _matplotlib()
    return image.imread(str(path))
