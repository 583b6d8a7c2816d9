"""Reports: `write_report` and `defendability report` on a tiny run (one class, two
defenders, three values of eps*d, 100 rounds; invalid rounds void, so that rates are
fractions such as 1/15 that rounding would change): files, valid PNGs, a self-contained HTML
page, exact values from the store in the tables, the theory's bounds in the plotted
series, ROC curves that agree with the stored AUROC, and one-line errors."""

from __future__ import annotations

import base64
import html
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from defendability.experiments import parse_config
from defendability.experiments.figures import error_figures, read_png, roc_curve, roc_figures
from defendability.errors import ReportError
from defendability.experiments.report import Table, _md, cell_table, exact, read_log, render_markdown, write_report
from defendability.experiments.runner import run_sweep
from defendability.experiments.store import STORE_FILE, ResultsStore

CONFIG = """
name = "report-check"
seed = 3
rounds = 100
invalid_policy = "void"
class = "subsets:N=16,d=4"
attacker = "mixture"
defender = "{defender}"

[grid]
defender = ["vote:learner=closure", "distill:learner=closure"]
eps_times_d = [0.05, 0.2, 1.0]
"""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    run_sweep(parse_config(CONFIG, "report.toml"), backend="serial", workers=1, root=root, progress=False)
    return root / "report-check"


@pytest.fixture
def fresh(run_dir, tmp_path) -> Path:
    """A run directory holding a copy of the run's store and log, and no report."""
    target = tmp_path / "report-check"
    target.mkdir()
    for name in (STORE_FILE, "run.log"):
        shutil.copy(run_dir / name, target / name)
    return target


@pytest.fixture(scope="module")
def report(run_dir):
    return write_report(run_dir)


@pytest.fixture(scope="module")
def rows(run_dir) -> list[dict]:
    with ResultsStore(run_dir / STORE_FILE, readonly=True) as store:
        return store.cells()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "defendability.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def _md_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Cell tables of report.md: heading text -> rows (header -> cell, unescaped)."""
    out: dict[str, list[dict[str, str]]] = {}
    for m in re.finditer(r"^### (class .+)\n\n((?:\|.*\|\n)+)", text, flags=re.MULTILINE):
        lines = [re.split(r"(?<!\\)\|", line)[1:-1] for line in m.group(2).splitlines()]
        clean = [[c.strip().replace("\\", "") for c in line] for line in lines]
        out[m.group(1).replace("\\", "")] = [dict(zip(clean[0], line)) for line in clean[2:]]
    return out


# -- files -------------------------------------------------------------------------------

def test_report_writes_markdown_html_and_one_figure_per_group(report, run_dir):
    assert report.markdown == run_dir / "report.md" and report.markdown.is_file()
    assert report.html == run_dir / "report.html" and report.html.is_file()
    names = sorted(p.name for p in report.figures)
    # two error figures (one per defender), one ROC figure (only vote is graded), one cost
    # figure (one class family and attacker, three values of eps)
    assert [n.split("-")[0] for n in names] == ["cost", "errors", "errors", "roc"]
    assert any("vote" in n for n in names if n.startswith("roc"))
    assert all(p.parent == run_dir / "figures" for p in report.figures)


def test_figures_are_valid_pngs_that_matplotlib_reads_back(report):
    for path in report.figures:
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE
        pixels = read_png(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 300
        assert pixels.std() > 0.01  # not a blank canvas


def test_html_is_self_contained_with_the_figures_embedded(report):
    text = report.html.read_text()
    assert 'src="http' not in text and "href=\"http" not in text
    assert not re.search(r"https?://", text)
    assert "<script" not in text and "<link" not in text and "<style>" in text
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert sorted(base64.b64decode(e) for e in embedded) == sorted(p.read_bytes() for p in report.figures)


def test_markdown_links_every_figure_and_holds_the_metadata(report, rows):
    text = report.markdown.read_text()
    for path in report.figures:
        assert f"](figures/{path.name})" in text
    with ResultsStore(report.directory / STORE_FILE, readonly=True) as store:
        meta = store.meta()
    assert meta["config_hash"] in text and meta["package_version"] in text
    assert "| seed | 3 |" in text and "| rounds per cell | 100 |" in text
    assert "| cells finished | 6 of 6 |" in text
    assert "duration (run.log)" in text and "backend | serial x1" in text
    assert 'eps_times_d = [0.05, 0.2, 1.0]' in text  # the config text, verbatim in a code block


# -- numbers from the store --------------------------------------------------------------

def test_tables_hold_the_exact_stored_values(report, rows):
    tables = _md_tables(report.markdown.read_text())
    assert len(tables) == 2
    page = report.html.read_text()
    for row in rows:
        heading = f"class {row['class']} | attacker {row['attacker']} | defender {row['defender']}"
        (line,) = [r for r in tables[heading] if r["eps"] == repr(row["eps"])]
        assert line["alpha"] == repr(row["alpha"])
        assert line["beta"] == repr(row["beta"])
        assert line["beta, valid rounds"] == repr(row["beta_valid"])
        assert line["beta, valid rounds 95%"] == f"[{row['beta_valid_lo']:.4g}, {row['beta_valid_hi']:.4g}]"
        assert line["alpha + beta"] == repr(row["error_sum"])
        assert line["win rate"] == repr(row["win_rate"])
        assert line["valid rounds"] == f"{row['valid_rounds']}/100" and row["void_rounds"] > 0
        assert line["attacker bound: alpha + beta >="] == f"{row['lower_bound']:.4g}"
        cells = [f'<td class="num">{html.escape(v)}</td>' for v in (repr(row["eps"]), repr(row["alpha"]),
                                                                     repr(row["beta"]))]
        assert all(c in page for c in cells)
    assert sum(len(t) for t in tables.values()) == len(rows) == 6
    assert any(len(repr(r["alpha"])) > 10 for r in rows)  # values that 4-digit rounding would change


def test_cell_table_shows_beta_among_valid_rounds_and_a_dash_where_the_store_has_none(rows):
    row = dict(rows[0], beta=0.25, beta_valid=0.75, beta_valid_lo=0.5, beta_valid_hi=0.875)
    old = dict(row, beta_valid=None, beta_valid_lo=None, beta_valid_hi=None)  # finished before it was stored
    table = cell_table([row, dict(old, eps=row["eps"] * 2)])
    first, second = (dict(zip(table.header, line)) for line in table.rows)
    assert (first["beta"], first["beta, valid rounds"], first["beta, valid rounds 95%"]) == ("0.25", "0.75",
                                                                                            "[0.5, 0.875]")
    assert (second["beta, valid rounds"], second["beta, valid rounds 95%"]) == ("-", "-")


def test_exact_prints_the_round_trip_repr():
    assert exact(1 / 3) == "0.3333333333333333" and float(exact(1 / 3)) == 1 / 3
    assert exact(None) == "-"


def test_plotted_series_carry_the_stored_values_and_bounds(rows):
    figures = error_figures(rows)
    assert len(figures) == 2 and all(f.log_x for f in figures)  # eps*d spans 20x
    for fig in figures:
        cells = {json.loads(r["params"])["eps_times_d"]: r for r in rows if r["defender"] == fig.defender}
        assert fig.attacker == "mixture" and fig.classes == ("subsets:N=16,d=4",)
        assert fig.defender in fig.title and "mixture" in fig.title and "subsets:N=16,d=4" in fig.title

        def series(measure, kind, fig=fig, cells=cells):
            (s,) = [s for s in fig.panel(measure).series if s.kind == kind]
            assert list(s.x) == sorted(cells)
            return s

        alpha = series("alpha", "measured")
        assert list(alpha.y) == [cells[x]["alpha"] for x in alpha.x]
        assert list(alpha.lo) == [cells[x]["alpha_lo"] for x in alpha.x]
        assert list(alpha.hi) == [cells[x]["alpha_hi"] for x in alpha.x]
        lower = series("error_sum", "lower_bound")
        assert list(lower.y) == [cells[x]["lower_bound"] for x in lower.x]
        assert all(v is not None and v > 0 for v in lower.y)
        g = {x: json.loads(cells[x]["guarantee"]) for x in cells}
        assert list(series("alpha", "guarantee").y) == [g[x]["alpha"] for x in sorted(cells)]
        assert list(series("beta", "guarantee").y) == [g[x]["beta"] for x in sorted(cells)]
        assert list(series("error_sum", "guarantee").y) == [g[x]["alpha"] + g[x]["beta"] for x in sorted(cells)]
        win_best = series("win_rate", "lower_bound")
        assert list(win_best.y) == [1 - cells[x]["lower_bound"] / 2 for x in win_best.x]
        (band,) = fig.panel("error_sum").bands
        assert list(band.low) == list(lower.y)
        # the lower bound holds for the measured alpha + beta within its interval
        total = series("error_sum", "measured")
        assert all(hi >= lb for hi, lb in zip(total.hi, lower.y))


def test_linear_x_axis_when_eps_d_spans_a_decade_or_less(rows):
    narrow = [r for r in rows if json.loads(r["params"])["eps_times_d"] in (0.2, 1.0)]
    assert not any(f.log_x for f in error_figures(narrow))


def test_cells_without_bounds_get_no_bound_lines(rows):
    stripped = [dict(r, lower_bound=None, guarantee=None) for r in rows]
    for fig in error_figures(stripped):
        assert {s.kind for p in fig.panels for s in p.series} == {"measured"}
        assert not any(p.bands for p in fig.panels)


# -- ROC ---------------------------------------------------------------------------------

def test_roc_curve_by_hand():
    fpr, tpr = roc_curve([0.0, 0.0, 1.0], [1.0, 2.0])
    assert fpr.tolist() == [0.0, 0.0, 1 / 3, 1.0, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 1.0, 1.0, 1.0]


def test_roc_figures_only_for_graded_defenders_and_match_the_stored_auroc(rows):
    (fig,) = roc_figures(rows)
    assert fig.defender == "vote:learner=closure"
    (panel,) = fig.panels
    by_x = {json.loads(r["params"])["eps_times_d"]: r for r in rows if r["defender"] == fig.defender}
    assert [c.eps_times_d for c in panel.curves] == sorted(by_x)
    for curve in panel.curves:
        row = by_x[curve.eps_times_d]
        assert curve.auroc == row["auroc"]
        fpr, tpr = np.array(curve.fpr), np.array(curve.tpr)
        assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
        assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
        area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
        assert math.isclose(area, row["auroc"], abs_tol=1e-12)


# -- log, escaping, rerun ----------------------------------------------------------------

def test_read_log_sums_the_sessions_that_ended(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        "2025-01-01T00:00:00.000+00:00 start x: config h, package 0.1.0, backend local x2; 4 cells\n"
        "2025-01-01T00:00:01.000+00:00 cell a finished: alpha 0.1\n"
        "2025-01-01T00:00:02.000+00:00 end x: 1 cells finished, 2 chunks (100 rounds) played in 2.50 s; 1/4 cells done\n"
        "2025-01-01T00:01:00.000+00:00 start x: config h, package 0.1.0, backend serial x1; 4 cells\n"
        "2025-01-01T00:01:03.000+00:00 stopped after 3.25 s: KeyboardInterrupt: \n"
        "2025-01-01T00:02:00.000+00:00 start x: config h, package 0.1.0, backend local x2; 4 cells\n")
    summary = read_log(log)
    assert (summary.sessions, summary.ended, summary.seconds) == (3, 2, 5.75)
    assert summary.backends == ("local x2", "serial x1")
    assert summary.first.startswith("2025-01-01T00:00:00") and summary.last.startswith("2025-01-01T00:02:00")
    assert read_log(tmp_path / "missing.log") is None


def test_markdown_escapes_what_would_become_markup():
    assert _md("eps*d and a|b") == "eps\\*d and a\\|b"
    assert _md("defender_wins, x86_64, alpha <= 1") == "defender_wins, x86_64, alpha <= 1"
    table = render_markdown([Table(("a", "b"), (("1|2", "x"),), (True, False))])
    assert table.splitlines() == ["| a | b |", "|---:|---|", "| 1\\|2 | x |"]


def test_rerun_replaces_its_own_stale_figures_only(report, run_dir):
    stale = run_dir / "figures" / "errors-99-old.png"
    mine = run_dir / "figures" / "notes.png"
    stale.write_bytes(PNG_SIGNATURE)
    mine.write_bytes(PNG_SIGNATURE)
    again = write_report(run_dir)
    assert not stale.exists() and mine.exists()
    assert [p.name for p in again.figures] == [p.name for p in report.figures]


# -- errors and the command --------------------------------------------------------------

def test_missing_matplotlib_is_a_one_line_user_error(fresh, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ReportError, match=r"pip install 'defendability\[plots\]'") as err:
        write_report(fresh)
    assert "\n" not in str(err.value)
    assert not (fresh / "report.md").exists()


def test_a_store_without_finished_cells_is_an_error(tmp_path):
    with ResultsStore(tmp_path / "r" / STORE_FILE) as store:
        store.init_meta(config_hash="h", name="r", config_text="", cells_total=3)
    with pytest.raises(ReportError, match="no finished cells"):
        write_report(tmp_path / "r")


def test_cli_prints_the_two_paths(fresh):
    out = _cli("report", str(fresh))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(fresh / "report.md"), str(fresh / "report.html")]
    assert (fresh / "report.html").is_file()


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "nope", "no such run directory"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no results store"),
])
def test_cli_one_line_error_for_a_missing_or_empty_run_dir(tmp_path, make, message):
    target = make(tmp_path)
    out = _cli("report", str(target))
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0] and str(target) in lines[0]


def test_cost_figure_and_columns(run_dir, report, rows):
    """One cost figure per (class family, attacker) with several eps: the stored costs of
    every (defender, class) series, by eps; the cell tables carry the same numbers."""
    from defendability.experiments.figures import cost_figures

    (spec,) = cost_figures(rows)
    assert spec.stem == "cost-01-subsets-mixture" and (run_dir / "figures" / f"{spec.stem}.png").is_file()
    seconds, samples = spec.panels
    assert [s.label for s in samples.series] == [f"{d} | subsets:N=16,d=4" for d in
                                                 ("distill:learner=closure", "vote:learner=closure")]
    for series in samples.series:
        defender = series.label.split(" | ")[0]
        mine = sorted((r["eps"], json.loads(r["cost"])["samples_per_decision"]) for r in rows
                      if r["defender"] == defender)
        assert list(series.x) == [e for e, _ in mine] and list(series.y) == [c for _, c in mine]
        assert list(series.y) == sorted(series.y, reverse=True)  # k = 1/(4 eps) draws: fewer as eps grows
    text = report.markdown.read_text()
    assert "samples / decision" in text and f"figures/{spec.stem}.png" in text
    # a group with a single eps has no cost figure
    assert cost_figures([r for r in rows if r["eps"] == rows[0]["eps"]]) == []


def test_statistical_vote_pays_one_over_eps_where_the_pac_defender_pays_nothing(tmp_path):
    """THEORY §3 on the example efficient-vs-statistical.toml at a few rounds: the PAC
    defender's samples per decision do not depend on eps; the statistical vote's are
    N * floor(1/(4 eps)), so they scale as 1/eps."""
    from defendability.budget import floor_inverse
    from defendability.experiments import load_config
    from defendability.experiments.figures import cost_figures

    path = Path(__file__).resolve().parents[2] / "examples" / "efficient-vs-statistical.toml"
    text = re.sub(r"(?m)^rounds\s*=\s*\d+", "rounds = 4", load_config(path).source_text, count=1)
    run_sweep(parse_config(text, path.name), backend="serial", workers=1, root=tmp_path, progress=False)
    with ResultsStore(tmp_path / "efficient-vs-statistical" / STORE_FILE, readonly=True) as store:
        figures = cost_figures(store.cells())
    assert len(figures) == 2
    for spec in figures:
        by_label = {s.label.split(" | ")[0]: s for s in spec.panels[1].series}
        pac, stat = by_label["vote:learner=span,eta=0.1"], by_label["vote:learner=span"]
        assert len(set(pac.y)) == 1
        k = [floor_inverse(e, 0.25) for e in stat.x]  # floor(1/(4 eps)), robust to float error
        voters = stat.y[0] / k[0]
        assert voters == int(voters) and voters > 1
        assert list(stat.y) == [voters * kk for kk in k]


def test_overview_has_one_line_per_group_with_ranges(report, rows):
    from defendability.experiments.report import overview_table

    table = overview_table(rows)
    assert [line[:3] for line in table.rows] == [("subsets:N=16,d=4", "mixture", d) for d in
                                                ("distill:learner=closure", "vote:learner=closure")]
    for line in table.rows:
        mine = [r for r in rows if r["defender"] == line[2]]
        assert line[3] == str(len(mine)) == "3"
        lo, hi = min(r["win_rate"] for r in mine), max(r["win_rate"] for r in mine)
        assert line[6] == f"{lo:.4g} - {hi:.4g}"
        assert line[8] == f"{sum(r['valid_rounds'] for r in mine)}/300"
    assert "## Overview" in report.markdown.read_text()


def test_cells_of_one_defender_in_two_modes_are_grouped_apart():
    from defendability.experiments.figures import defender_label
    from defendability.experiments.report import cell_groups

    def row(mode):
        params = {"eps_times_d": 0.2} | ({} if mode is None else {"mode": mode})
        return {"class": "c:n=1", "attacker": "a", "defender": "key-holder", "eps": 0.2, "vc_dimension": 1,
                "params": json.dumps(params)}

    rows = [row(None), row("static"), row("perturbation")]
    assert [defender_label(r) for r in rows] == ["key-holder", "key-holder [static]", "key-holder [perturbation]"]
    assert sorted(key[2] for key, _ in cell_groups(rows)) == ["key-holder", "key-holder [perturbation]",
                                                               "key-holder [static]"]


def _detection_row(defender, attacker, auroc, evaluations, mode="random-trigger", cls="networks:hidden=64"):
    params = {} if mode == "random-trigger" else {"mode": mode}
    return {"class": cls, "attacker": attacker, "defender": defender, "auroc": auroc, "eps": 0.02,
            "vc_dimension": 4810, "params": json.dumps(params),
            "cost": json.dumps({"evaluations_per_decision": evaluations})}


def test_detection_figure_plots_auroc_against_evaluations_per_decision(tmp_path):
    """One panel per (attacker, mode), one point per graded defender: x is the referee's
    evaluations per decision, y the stored AUROC; ungraded cells and lone defenders drop."""
    from defendability.experiments.figures import detection_figures, draw_detection_figure

    rows = [_detection_row("vote", "finetune-flip", 0.97, 48001.0),
            _detection_row("strip", "finetune-flip", 0.46, 20100.0),
            _detection_row("mahalanobis", "finetune-flip", 0.81, 1201.0),
            _detection_row("accept", "finetune-flip", None, 0.0),
            _detection_row("strip", "patch-poison", 0.99, 20100.0, mode="perturbation"),
            _detection_row("mahalanobis", "patch-poison", 1.0, 1201.0, mode="perturbation"),
            _detection_row("vote", "head-edit", 0.7, 48001.0),  # alone against its attacker: no panel
            _detection_row("vote", "mixture", 0.9, 100.0, cls="subsets:N=16,d=4")]  # alone in its family
    (spec,) = detection_figures(rows)
    assert spec.stem == "detection-01-networks"
    assert [p.measure for p in spec.panels] == ["finetune-flip (random-trigger)", "patch-poison (perturbation)"]
    finetune = {s.label: (s.x, s.y) for s in spec.panels[0].series}
    assert finetune == {"mahalanobis": ((1201.0,), (0.81,)), "strip": ((20100.0,), (0.46,)),
                        "vote": ((48001.0,), (0.97,))}
    # one style per defender across panels, so a defender looks the same everywhere
    styles = {s.label: s.style for p in spec.panels for s in p.series}
    assert len(set(styles.values())) == len(styles)
    assert draw_detection_figure(spec, tmp_path / "d.png").stat().st_size > 0
    assert detection_figures([r for r in rows if r["defender"] == "vote"]) == []


def test_long_specs_are_wrapped_to_the_figure():
    from defendability.experiments.figures import wrapped

    spec = "networks:arch=mlp,data=digits,upsample=1,hidden=64,depth=1,augment=shift,shift=1,noise=0.05,epochs=30"
    lines = wrapped(f"class {spec}\nattacker finetune-flip | defender vote", 40).split("\n")
    assert all(len(line) <= 40 for line in lines)
    assert "".join(lines[:-1]).replace(" ", "") == f"class{spec}"  # nothing lost, broken at commas
    assert lines[-1] == "attacker finetune-flip | defender vote"
    assert wrapped("short", 40) == "short"
