"""The report of a run: ``report.md``, a self-contained ``report.html`` and
``figures/*.png`` in the run directory, made from its results store (and ``run.log``)
only, never from hand-typed numbers.

``write_report(run_dir)`` reads every finished cell of ``RUN_DIR/results.sqlite``, draws
the figures of :mod:`defendability.experiments.figures` (matplotlib, the ``plots``
extra), builds one document (a list of blocks: headings, paragraphs, tables, figures,
code) and renders it twice: Markdown that links ``figures/*.png``, and HTML with the same
content, inline CSS and the figures embedded as base64 ``data:`` URIs (no external
resources). Contents: run metadata (name, description, config hash, package version,
seed, rounds, cells done, durations from ``run.log`` and the cells' play time, backend,
the machine writing the report), the figures, one table per (class, attacker, defender)
with every cell, and the config text.

In the tables, alpha, beta, beta among valid rounds, alpha + beta and the win rate are
printed exactly as stored (Python's shortest round-trip ``repr``); intervals and bounds
to 4 significant digits. A store written before beta among valid rounds was stored shows
``-`` there.
"""

from __future__ import annotations

import base64
import json
import html
import os
import platform
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ReportError
from . import figures as fg
from .rundir import LOG_FILE
from .store import STORE_FILE, ResultsStore

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
FIGURES_DIR = "figures"


@dataclass(frozen=True)
class ReportPaths:
    """What :func:`write_report` wrote: the two documents and the PNG figures."""

    directory: Path
    markdown: Path
    html: Path
    figures: tuple[Path, ...]


# -- the document ------------------------------------------------------------------------

@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    """``header`` and ``rows`` of plain-text cells; ``numeric[i]`` right-aligns column i."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]


@dataclass(frozen=True)
class Image:
    """A figure: ``path`` relative to the run directory."""

    path: str
    alt: str
    caption: str


@dataclass(frozen=True)
class Code:
    text: str
    language: str


Block = Heading | Paragraph | Table | Image | Code


# -- reading the run ---------------------------------------------------------------------

@dataclass(frozen=True)
class LogSummary:
    """What ``run.log`` says about time: ``sessions`` started, ``ended`` (an ``end`` or
    ``stopped`` line; a killed process writes neither), ``seconds`` summed over the
    sessions that ended, the first and last timestamps, and the backends used
    (``"local x2"``), in order of first use."""

    sessions: int
    ended: int
    seconds: float
    first: str | None
    last: str | None
    backends: tuple[str, ...]
    machines: tuple[str, ...] = ()


_LOG_LINE = re.compile(r"^(\S+) (start|end|stopped|cell) ")
_END_SECONDS = re.compile(r" in ([0-9.]+) s;")
_STOPPED_SECONDS = re.compile(r"stopped after ([0-9.]+) s")
_BACKEND = re.compile(r"backend (\S+) (x\d+)")
_MACHINE = re.compile(r"; machine (.+)$")


def read_log(path: Path) -> LogSummary | None:
    """Parse a run's ``run.log``; ``None`` if there is none."""
    if not path.is_file():
        return None
    sessions = ended = 0
    seconds = 0.0
    first = last = None
    backends: dict[str, None] = {}
    machines: dict[str, None] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = _LOG_LINE.match(line)
        if m is None:
            continue
        stamp, event = m.groups()
        first = first or stamp
        last = stamp
        if event == "start":
            sessions += 1
            b = _BACKEND.search(line)
            if b:
                backends[f"{b.group(1)} {b.group(2)}"] = None
            mach = _MACHINE.search(line)
            if mach:
                machines[mach.group(1)] = None
        elif event in ("end", "stopped"):
            s = (_END_SECONDS if event == "end" else _STOPPED_SECONDS).search(line)
            if s:
                ended += 1
                seconds += float(s.group(1))
    return LogSummary(sessions, ended, seconds, first, last, tuple(backends), tuple(machines))


def _load(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not run_dir.exists():
        raise ReportError(f"{run_dir}: no such run directory")
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: not a directory (give a run directory such as runs/theorem-4-1)")
    store_path = run_dir / STORE_FILE
    if not store_path.is_file():
        raise ReportError(f"{run_dir}: no results store ({STORE_FILE}) there; run a sweep first with "
                          "'defendability run CONFIG.toml'")
    with ResultsStore(store_path, readonly=True) as store:
        meta, rows = store.meta(), store.cells()
    if meta is None or not rows:
        raise ReportError(f"{run_dir}: no finished cells in {STORE_FILE} yet; nothing to report")
    return meta, rows


# -- formatting --------------------------------------------------------------------------

def exact(value: float | None) -> str:
    """A stored float as stored (shortest round-trip repr); ``-`` for NULL."""
    return "-" if value is None else repr(float(value))


def _g(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def _interval(lo: float | None, hi: float | None) -> str:
    return "-" if lo is None or hi is None else f"[{lo:.4g}, {hi:.4g}]"


def _distinct(rows: Sequence[dict[str, Any]], key: str) -> str:
    values = sorted({r[key] for r in rows}, key=lambda v: fg.natural_key(str(v)))
    return ", ".join(str(v) for v in values)


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s:.1f} s ({s / 60:.1f} min)"


#: Columns of a cell table: header, right-aligned.
CELL_COLUMNS = (
    ("eps", True), ("eps*d", True), ("alpha", True), ("beta", True), ("beta, valid rounds", True),
    ("beta, valid rounds 95%", True), ("alpha + beta", True),
    ("alpha + beta 95%", True), ("win rate", True), ("win rate 95%", True), ("AUROC", True),
    ("attacker bound: alpha + beta >=", True), ("guarantee: alpha <=", True), ("guarantee: beta <=", True),
    ("valid rounds", True), ("samples / decision", True), ("s / 1000 decisions", True),
)


def cell_table(rows: Sequence[dict[str, Any]]) -> Table:
    """The table of one (class, attacker, defender) group: one line per cell, by the
    rules the cells differ in (trace access, the variants' parameters: a first column
    when any cell sets one), then eps*d; a last column with the invalid rounds' reasons
    when there are any."""
    rules = {id(r): fg.rules_label(r) for r in rows}
    with_rules = any(rules.values())
    with_reasons = any(json.loads(r["invalid_reasons"] or "{}") for r in rows)
    lines = []
    for r in sorted(rows, key=lambda r: (fg.rules_key(r), fg.eps_times_d(r))):
        g = fg.guarantee(r)
        cost = json.loads(r["cost"])
        reasons = ", ".join(f"{k} {v}" for k, v in json.loads(r["invalid_reasons"] or "{}").items()) or "-"
        lines.append(((rules[id(r)] or "-",) if with_rules else ()) + (
            exact(r["eps"]), f"{fg.eps_times_d(r):g}", exact(r["alpha"]), exact(r["beta"]), exact(r["beta_valid"]),
            _interval(r["beta_valid_lo"], r["beta_valid_hi"]), exact(r["error_sum"]),
            _interval(r["error_sum_lo"], r["error_sum_hi"]), exact(r["win_rate"]), _interval(r["win_lo"], r["win_hi"]),
            "-" if r["auroc"] is None else f"{r['auroc']:.4f}", _g(r["lower_bound"]),
            _g(None if g is None else g["alpha"]), _g(None if g is None else g["beta"]),
            f"{r['valid_rounds']}/{r['rounds']}", _g(cost["samples_per_decision"]),
            _g(cost["seconds_per_1000_decisions"], 3),
        ) + ((reasons,) if with_reasons else ()))
    columns = ((("rules", False),) if with_rules else ()) + CELL_COLUMNS + \
        ((("invalid rounds", False),) if with_reasons else ())
    return Table(tuple(h for h, _ in columns), tuple(lines), tuple(n for _, n in columns))


#: Columns of the overview table: header, right-aligned.
OVERVIEW_COLUMNS = (
    ("class", False), ("attacker", False), ("defender", False), ("cells", True), ("eps", True),
    ("alpha + beta", True), ("win rate", True), ("AUROC", True), ("valid rounds", True),
)


def _span(values: Sequence[float | None], digits: int = 4) -> str:
    """One value, or ``min - max`` of several (``-`` where none is defined)."""
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    lo, hi = min(known), max(known)
    return _g(lo, digits) if lo == hi else f"{_g(lo, digits)} - {_g(hi, digits)}"


def overview_table(rows: Sequence[dict[str, Any]]) -> Table:
    """One line per (class, attacker, defender): its number of cells and, over them, the
    eps, alpha + beta, win rate and AUROC (a value, or the range ``min - max``) and the
    valid rounds (summed). Side by side, the groups of a run whose grid varies the
    attacker or the defender at one eps read as one comparison table."""
    lines = []
    for (cls, attacker, defender), group in cell_groups(rows):
        lines.append((cls, attacker, defender, str(len(group)), _span([r["eps"] for r in group]),
                      _span([r["error_sum"] for r in group]), _span([r["win_rate"] for r in group]),
                      _span([r["auroc"] for r in group]),
                      f"{sum(r['valid_rounds'] for r in group)}/{sum(r['rounds'] for r in group)}"))
    return Table(tuple(h for h, _ in OVERVIEW_COLUMNS), tuple(lines), tuple(n for _, n in OVERVIEW_COLUMNS))


def cell_groups(rows: Sequence[dict[str, Any]]) -> list[tuple[tuple[str, str, str], list[dict[str, Any]]]]:
    """Rows grouped by exact (class, attacker, defender) SPECs, in the figures' order."""
    out: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in fg.sorted_rows(rows):
        out.setdefault((r["class"], r["attacker"], fg.defender_label(r)), []).append(r)
    return list(out.items())


def _metadata(run_dir: Path, meta: dict[str, Any], rows: Sequence[dict[str, Any]]) -> tuple[list[Block], str]:
    try:
        description = str(tomllib.loads(meta["config"]).get("description", ""))
    except (tomllib.TOMLDecodeError, AttributeError):
        description = ""
    log = read_log(run_dir / LOG_FILE)
    play = sum(float(r["seconds"]) for r in rows)
    versions = sorted({r["package_version"] for r in rows} | {meta["package_version"]})
    finished = [r["finished_at"] for r in rows]
    fields: list[tuple[str, str]] = [
        ("name", meta["name"]),
        ("config hash", meta["config_hash"]),
        ("package version", ", ".join(versions)),
        ("seed", _distinct(rows, "seed")),
        ("rounds per cell", _distinct(rows, "rounds")),
        ("invalid-round policy", _distinct(rows, "invalid_policy")),
        ("cells finished", f"{len(rows)} of {meta['cells_total']}"),
        ("created", meta["created"]),
        ("cells finished between", f"{min(finished)} and {max(finished)}"),
    ]
    if log is not None:
        unended = log.sessions - log.ended
        fields += [
            ("duration (run.log)", f"{_seconds(log.seconds)} over {log.ended} completed session(s)"
             + (f"; {unended} session(s) without an end line (killed)" if unended > 0 else "")),
            ("backend", ", ".join(log.backends) or "-"),
            ("machine (run.log)", "; ".join(log.machines) or "not recorded"),
        ]
    fields += [
        ("play time (sum over cells)", _seconds(play)),
        ("machine (writing this report)",
         f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"),
        ("report generated", datetime.now(UTC).isoformat(timespec="seconds")),
    ]
    blocks: list[Block] = [Heading(2, "Run")]
    blocks.append(Table(("field", "value"), tuple(fields), (False, False)))
    if len(rows) < meta["cells_total"]:
        blocks.append(Paragraph(f"This run is partial: {meta['cells_total'] - len(rows)} cells are not finished; "
                                "re-run its config to resume it, then make the report again."))
    return blocks, description


def _error_caption(spec: fg.ErrorFigure) -> str:
    kinds = {s.kind for p in spec.panels for s in p.series}
    parts = [("Solid lines with filled markers: measured values with their 95% intervals as error bars "
              "(one marker per class).")]
    if "lower_bound" in kinds:
        parts.append("Dashed lines: the attacker's lower bound L on alpha + beta, which holds for every defender; "
                     "on the win-rate panel 1 - L/2, the best win rate any defender can have.")
    if "guarantee" in kinds:
        parts.append("Dotted lines: the defender's guarantee, alpha <= A and beta <= B (A + B on the alpha + beta "
                     "panel, 1 - (A + B)/2 on the win-rate panel).")
    if any(p.bands for p in spec.panels):
        parts.append("Shaded: between L and A + B, where theory puts this defender's alpha + beta.")
    parts.append("The y axes stop at 1 (alpha + beta: at its largest measured value if that is above 1); "
                 "bounds beyond leave the plot. " +
                 ("eps*d on a log scale." if spec.log_x else "eps*d on a linear scale."))
    return " ".join(parts)


def _cost_caption() -> str:
    return ("The defender's measured cost against eps (log scales where every value is positive), one line per "
            "defender and class: seconds per 1000 decisions (fitting included; this machine, so compare lines "
            "within one figure) and samples of D drawn per decision.")


def _roc_caption() -> str:
    return ("ROC curves from the stored scores (higher score = more suspicious; backdoor inputs are positives, "
            "clean inputs negatives), one curve per eps*d with its AUROC and its number of backdoor inputs (only "
            "rounds with a valid backdoor give positives); the dotted diagonal is chance.")


def _detection_caption() -> str:
    return ("AUROC of each graded defender (one-sided: higher score = more suspicious; from the scores, never the "
            "decisions) against the evaluations of the given function per decision, as the referee counts them "
            "(fitting included: samples labelled, calibration, copies scored). The dashed line is a coin flip.")


def build_document(run_dir: Path, meta: dict[str, Any], rows: Sequence[dict[str, Any]],
                   error_specs: Sequence[fg.ErrorFigure], roc_specs: Sequence[fg.RocFigure],
                   cost_specs: Sequence[fg.CostFigure] = (),
                   detection_specs: Sequence[fg.DetectionFigure] = ()) -> list[Block]:
    """The report's blocks: title, metadata, figures (``figures/<stem>.png``), cell
    tables, config."""
    meta_blocks, description = _metadata(run_dir, meta, rows)
    blocks: list[Block] = [Heading(1, f"Report: {meta['name']}")]
    if description:
        blocks.append(Paragraph(description))
    blocks.append(Paragraph("Everything below comes from the run's results store (results.sqlite) and run.log."))
    blocks += meta_blocks
    blocks.append(Heading(2, "Overview"))
    blocks.append(Paragraph("One line per class, attacker and defender; a range min - max where the group has "
                            "several cells (see the figures and the cell tables for each)."))
    blocks.append(overview_table(rows))
    blocks.append(Heading(2, "Figures"))
    for spec in error_specs:
        blocks += [Heading(3, spec.title.replace("\n", " | ")),
                   Image(f"{FIGURES_DIR}/{spec.stem}.png", spec.title.replace("\n", " | "), _error_caption(spec))]
    for roc in roc_specs:
        blocks += [Heading(3, roc.title.replace("\n", " | ")),
                   Image(f"{FIGURES_DIR}/{roc.stem}.png", roc.title.replace("\n", " | "), _roc_caption())]
    for cost in cost_specs:
        blocks += [Heading(3, cost.title), Image(f"{FIGURES_DIR}/{cost.stem}.png", cost.title, _cost_caption())]
    for detection in detection_specs:
        blocks += [Heading(3, detection.title),
                   Image(f"{FIGURES_DIR}/{detection.stem}.png", detection.title, _detection_caption())]
    blocks.append(Heading(2, "Cells"))
    blocks.append(Paragraph("One table per class, attacker and defender. alpha, beta, alpha + beta and the win rate "
                            "as stored; \"beta, valid rounds\" is the miss rate among the rounds with a valid "
                            "backdoor only (beta counts the others as caught under the defender_wins policy); "
                            "intervals are 95%; the bounds are the theory's for the cell's eps."))
    for (cls, attacker, defender), group in cell_groups(rows):
        blocks += [Heading(3, f"class {cls} | attacker {attacker} | defender {defender}"), cell_table(group)]
    blocks += [Heading(2, "Configuration"), Code(meta["config"], "toml")]
    return blocks


# -- rendering ---------------------------------------------------------------------------

# Characters that could start Markdown markup inside a line: backslash, backtick, *,
# | (tables), _ not inside a word, < before a tag-like character, [ of a link.
_MD_SPECIAL = re.compile(r"([\\`*|]|(?<!\w)_|_(?!\w)|<(?=[A-Za-z/!?])|\[(?=[^\]]*\]\())")


def _md(text: str) -> str:
    """Plain text escaped for Markdown, readable as it is in the file."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(blocks: Sequence[Block]) -> str:
    """The document as Markdown (GitHub flavour: pipe tables, fenced code)."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_md(b.text)}")
        elif isinstance(b, Paragraph):
            out.append(_md(b.text))
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md(h) for h in b.header) + " |",
                     "|" + "|".join("---:" if n else "---" for n in b.numeric) + "|"]
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, Image):
            out.append(f"![{_md(b.alt)}]({b.path})\n\n{_md(b.caption)}")
        elif isinstance(b, Code):
            fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", b.text)), default=0))
            out.append(f"{fence}{b.language}\n{b.text.rstrip()}\n{fence}")
    return "\n\n".join(out) + "\n"


_CSS = """
body { font-family: Georgia, "Times New Roman", serif; color: #111; background: #fff; margin: 2em auto;
       max-width: 78em; padding: 0 1.5em; line-height: 1.45; }
h1, h2, h3 { font-family: "Helvetica Neue", Arial, sans-serif; }
h2 { border-bottom: 1px solid #444; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.86em; }
div.table { max-width: 100%; overflow-x: auto; }
th, td { border: 1px solid #888; padding: 0.25em 0.55em; vertical-align: top; }
td, th, h1, h2, h3, p, figcaption { overflow-wrap: anywhere; }
th { background: #eee; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; font-family: Menlo, Consolas, monospace; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid #ccc; }
figcaption { font-size: 0.9em; color: #333; margin-top: 0.4em; }
pre { background: #f6f6f6; border: 1px solid #ccc; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
""".strip()


def render_html(blocks: Sequence[Block], images: dict[str, bytes], title: str) -> str:
    """The document as one HTML page: inline CSS, each :class:`Image` embedded from
    ``images`` (its ``path`` -> PNG bytes) as a ``data:image/png;base64`` URI."""
    e = html.escape
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            body.append(f"<p>{e(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{e(h)}</th>" for h in b.header)
            rows = "".join("<tr>" + "".join(f'<td class="num">{e(c)}</td>' if n else f"<td>{e(c)}</td>"
                                            for c, n in zip(row, b.numeric)) + "</tr>" for row in b.rows)
            body.append(f'<div class="table"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>')
        elif isinstance(b, Image):
            data = base64.b64encode(images[b.path]).decode("ascii")
            body.append(f'<figure><img src="data:image/png;base64,{data}" alt="{e(b.alt)}">'
                        f"<figcaption>{e(b.caption)}</figcaption></figure>")
        elif isinstance(b, Code):
            body.append(f'<pre><code class="language-{e(b.language)}">{e(b.text.rstrip())}</code></pre>')
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{e(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


_OURS = re.compile(r"^(errors|roc|cost|detection)-\d+-.*\.png$")


def write_report(run_dir: str | Path) -> ReportPaths:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` for the run in
    ``run_dir`` from its results store; returns their paths.

    Raises :class:`ReportError` (one line) when ``run_dir`` is missing, holds no store or
    no finished cell, or matplotlib is missing. Figures of an earlier report that this
    one does not make (``errors-*.png``, ``roc-*.png``, ``cost-*.png``, ``detection-*.png``) are removed.
    """
    run_dir = Path(run_dir)
    meta, rows = _load(run_dir)
    fg.require_matplotlib()
    error_specs, roc_specs, cost_specs = fg.error_figures(rows), fg.roc_figures(rows), fg.cost_figures(rows)
    detection_specs = fg.detection_figures(rows)
    fig_dir = run_dir / FIGURES_DIR
    fig_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    for spec in error_specs:
        written.append(fg.draw_error_figure(spec, fig_dir / f"{spec.stem}.png"))
    for roc in roc_specs:
        written.append(fg.draw_roc_figure(roc, fig_dir / f"{roc.stem}.png"))
    for cost in cost_specs:
        written.append(fg.draw_cost_figure(cost, fig_dir / f"{cost.stem}.png"))
    for detection in detection_specs:
        written.append(fg.draw_detection_figure(detection, fig_dir / f"{detection.stem}.png"))
    keep = {p.name for p in written}
    for old in fig_dir.iterdir():
        if _OURS.match(old.name) and old.name not in keep:
            old.unlink()
    blocks = build_document(run_dir, meta, rows, error_specs, roc_specs, cost_specs, detection_specs)
    images = {f"{FIGURES_DIR}/{p.name}": p.read_bytes() for p in written}
    md_path, html_path = run_dir / REPORT_MD, run_dir / REPORT_HTML
    _write_text(md_path, render_markdown(blocks))
    _write_text(html_path, render_html(blocks, images, f"Report: {meta['name']}"))
    return ReportPaths(run_dir, md_path, html_path, tuple(written))

