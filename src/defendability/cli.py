"""The ``defendability`` command (typer + rich).

Errors a user can cause print one line naming the bad part (and the valid choices)
and exit with status 2, without a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import registry
from .errors import ParameterError, UserError, check

#: A nested SPEC, as the help shows it (rich markup would read the brackets as a tag: escaped).
_NESTED = "'vote:learner=[estimator:model=knn,seed=1],voters=11'"

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="A laboratory for dynamic backdoor detection: play the backdoor defense game.\n\n"
                       "Components are SPECs: name, or name:key=value,key=value (numbers, true/false, "
                       "strings); a nested SPEC with several parameters goes in brackets, "
                       f"{escape(_NESTED)} (quote it in the shell). "
                       "'defendability list' shows every name and parameter.")
_out = Console(highlight=False)
_err = Console(stderr=True, highlight=False)


def _fail(message: str) -> None:
    _err.print(f"error: {message}", markup=False, soft_wrap=True)
    raise typer.Exit(2)


def _parse_eps(text: str) -> float:
    value = registry.parse_value(text)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(f"--eps {text!r} is not a number (use e.g. 0.004 or 1/12)")
    return float(value)


def _parse_seed(text: str) -> int:
    """An integer seed >= 0, or ``random``: a fresh 128-bit seed (see ``streams``)."""
    from .streams import unguessable_seed

    if text.strip().lower() == "random":
        return unguessable_seed()
    try:
        value = int(text)
    except ValueError:
        raise ParameterError(f"--seed must be an integer >= 0 or 'random', got {text!r}") from None
    check(value >= 0, f"--seed must be an integer >= 0 or 'random', got {text!r}")
    return value


def _parse_budget(text: str) -> tuple[float, float]:
    parts = [registry.parse_value(p) for p in text.split(",")]
    if len(parts) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in parts):
        _fail(f"--budget {text!r} must be two numbers >= 0, 'LINF,L2' (e.g. 0.01,0.5)")
    return float(parts[0]), float(parts[1])


def _fmt_ci(ci: tuple[float, float] | list[float]) -> str:
    return f"[{ci[0]:.4f}, {ci[1]:.4f}]"


@app.command()
def play(
    cls: str = typer.Option(..., "--class", help="function class SPEC, e.g. subsets:N=64,d=16"),
    attacker: str = typer.Option(..., "--attacker", help="attacker SPEC, e.g. mixture"),
    defender: str = typer.Option(..., "--defender", help="defender SPEC, e.g. vote (with the class's natural "
                                 "learner), vote:learner=span,voters=11, or a nested SPEC in brackets: "
                                 f"{escape('vote:learner=[estimator:seed=1]')}"),
    eps: str = typer.Option(..., "--eps", help="closeness budget in (0, 1); fractions such as 1/12 allowed"),
    rounds: int = typer.Option(1000, "--rounds", help="rounds to play"),
    seed: str = typer.Option("0", "--seed", help="seed of the whole match (an integer >= 0), or 'random' for a "
                             "128-bit seed nobody can guess (printed, so the match stays reproducible)"),
    invalid_policy: str = typer.Option("defender_wins", "--invalid-policy", help="defender_wins or void"),
    trace: bool = typer.Option(False, "--trace", help="trace access: defenders may see the attacker's trace "
                               "(random tape, trigger); key-holder needs it"),
    mode: str = typer.Option("random-trigger", "--mode", help="random-trigger (the paper's game), perturbation "
                             "(the attacker activates a natural input within a budget), static (only the model), "
                             "predicate (the attacker chooses a trigger that satisfies an expensive predicate) or "
                             "poisoning (the referee learns f from a sample the attacker may poison)"),
    predicate_iterations: Optional[int] = typer.Option(None, "--predicate-iterations", help="mode predicate: T, "
                                                       "hash iterations per check (default 1000)"),
    predicate_bits: Optional[int] = typer.Option(None, "--predicate-bits", help="mode predicate: z, leading zero "
                                                 "bits the trigger's hash must have (default 6)"),
    train_size: Optional[int] = typer.Option(None, "--train-size", help="mode poisoning: m, the training sample "
                                             "the referee learns f from (default 1000)"),
    poison: Optional[float] = typer.Option(None, "--poison", help="mode poisoning: eta, the fraction of the "
                                           "training sample the attacker may replace (default 0.05)"),
    attacker_evaluations: Optional[int] = typer.Option(None, "--attacker-evaluations", help="cap on the "
                                                       "attacker's evaluations of f per round (over it: invalid)"),
    attacker_samples: Optional[int] = typer.Option(None, "--attacker-samples", help="cap on the attacker's "
                                                   "samples of D per round"),
    attacker_seconds: Optional[float] = typer.Option(None, "--attacker-seconds", help="cap on the attacker's "
                                                     "seconds per round"),
    budget: Optional[str] = typer.Option(None, "--budget", help="perturbation budget 'LINF,L2' (default: the "
                                         "attacker's declared budget)"),
    distance_samples: Optional[int] = typer.Option(None, "--distance-samples", help="fresh samples for an "
                                                   "estimated distance (default max(10000, 30/eps))"),
    isolate: bool = typer.Option(False, "--isolate", help="play each attacker round and each defender decision "
                                 "in a process of its own (for players you do not trust; slower)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of a table"),
) -> None:
    """Play the backdoor defense game and report alpha, beta and the win rate."""
    from .game import Game
    from .rules import Rules

    try:
        rules = Rules(_parse_eps(eps), invalid_policy=invalid_policy, mode=mode, trace=trace,
                      budget=None if budget is None else _parse_budget(budget), distance_samples=distance_samples,
                      isolate=isolate, predicate_iterations=predicate_iterations, predicate_bits=predicate_bits,
                      train_size=train_size, poison=poison, attacker_evaluations=attacker_evaluations,
                      attacker_samples=attacker_samples, attacker_seconds=attacker_seconds)
        game = Game(cls, attacker, defender, rules=rules)
        result = game.play(rounds=rounds, seed=_parse_seed(seed))
    except UserError as err:
        _fail(str(err))
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), default=float) + "\n")
        return
    where = "" if result.mode == "random-trigger" else f" | mode {result.mode}" + (
        f" (budget l_inf {result.budget[0]:g}, l2 {result.budget[1]:g})" if result.budget else "")
    if result.variant:
        where += " | " + ", ".join(f"{k} {v:g}" for k, v in result.variant.items())
    _out.print(f"class {result.cls} | attacker {result.attacker} | defender {result.defender} | eps {result.eps:g}"
               f"{where}",
               markup=False, soft_wrap=True)
    table = Table()
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("95% interval", justify="right")
    table.add_row("alpha (false alarm)", f"{result.alpha:.4f}", _fmt_ci(result.alpha_ci))
    table.add_row("beta (miss)", f"{result.beta:.4f}", _fmt_ci(result.beta_ci))
    if result.valid_rounds and result.valid_rounds < result.rounds:
        table.add_row("beta, valid rounds only", f"{result.beta_valid:.4f}", _fmt_ci(result.beta_valid_ci))
    table.add_row("alpha + beta", f"{result.error_sum:.4f}", _fmt_ci(result.error_sum_ci))
    table.add_row("win rate", f"{result.win_rate:.4f}", _fmt_ci(result.win_ci))
    if result.auroc is not None:
        table.add_row("AUROC", f"{result.auroc:.4f}", "")
    if result.lower_bound is not None:
        table.add_row("theory: alpha + beta >=", f"{result.lower_bound:.4f}", "every defender")
    if result.guarantee:
        table.add_row("theory: alpha <=", f"{result.guarantee['alpha']:.4f}", "this defender")
        table.add_row("theory: beta <=", f"{result.guarantee['beta']:.4f}", "this defender")
    _out.print(table)
    reasons = ", ".join(f"{k} {v}" for k, v in result.invalid_reasons.items()) or "none"
    c = result.cost
    _out.print(f"{result.rounds} rounds: {result.valid_rounds} valid, {result.invalid_rounds} invalid ({reasons}), "
               f"policy {result.invalid_policy}{'; trace access' if result.trace else ''}{'; isolated players' if result.isolate else ''}; VC dimension {result.vc_dimension}; seed {result.seed}; "
               f"{result.seconds:.2f} s", markup=False, soft_wrap=True)
    _out.print(f"per decision: {c['samples_per_decision']:.0f} samples, {c['evaluations_per_decision']:.0f} "
               f"evaluations of g, {c['seconds_per_1000_decisions']:.3f} s per 1000 decisions"
               + (f", {c['predicate_hashes_per_decision']:.0f} hashes of P" if result.mode == "predicate" else ""),
               markup=False, soft_wrap=True)
    _out.print(f"attacker per round: {c['attacker_evaluations_per_round']:.0f} evaluations of f, "
               f"{c['attacker_samples_per_round']:.0f} samples of D, {c['attacker_seconds_per_round']:.4f} s"
               + (f"; referee: {c['referee_hashes_per_round']:.0f} hashes of P per round" if result.mode == "predicate"
                  else "")
               + (f"; referee: {c['referee_seconds_per_round']:.3f} s learning f and f* per round"
                  if result.mode == "poisoning" else ""),
               markup=False, soft_wrap=True)


_KINDS = {"classes": "classes", "attackers": "attackers", "defenders": "defenders", "learners": "learners"}


@app.command("list")
def list_components(kind: Optional[str] = typer.Argument(None, help="classes, attackers, defenders or learners")) -> None:
    """List the components with their parameters and a one-line description."""
    if kind is not None and kind not in _KINDS:
        _fail(f"unknown kind {kind!r}; valid: {', '.join(_KINDS)}")
    for k in ([kind] if kind else list(_KINDS)):
        table = Table(title=k)
        table.add_column("name", no_wrap=True)
        table.add_column("parameters (defaults)")
        table.add_column("description")
        for name in registry.names(k):
            comp = registry.lookup(k, name)
            # None: unset, chosen when the match is known (from eps, or the class's natural learner)
            params = ", ".join(f"{p.name}=" + ("None" if p.default is None else registry.format_value(p.default))
                               for p in registry.parameters(comp))
            table.add_row(escape(name), escape(params) or "-", escape(registry.summary(comp)))
        _out.print(table)



@app.command()
def run(
    config: str = typer.Argument(..., help="sweep configuration, a TOML file"),
    backend: str = typer.Option("local", "--backend",
                                help="serial (this process), local (a process pool) or ray (Ray tasks)"),
    workers: Optional[int] = typer.Option(None, "--workers",
                                          help="processes for local, tasks at once for ray (default: all cores)"),
    new: bool = typer.Option(False, "--new", help="move an existing run of this name aside and start afresh"),
    root: str = typer.Option("runs", "--root", help="directory that holds the runs"),
    address: Optional[str] = typer.Option(
        None, "--address", help="ray: 'auto' or host:port of a running cluster (default: start one on 127.0.0.1)"),
) -> None:
    """Run a sweep into its results store (ROOT/NAME/results.sqlite); re-running resumes it."""
    from .experiments.config import load_config
    from .experiments.runner import run_sweep

    try:
        summary = run_sweep(load_config(config), backend=backend, workers=workers, new=new, root=root,
                            address=address)
    except UserError as err:
        _fail(str(err))
    if summary.moved_to is not None:
        _out.print(f"previous run moved to {summary.moved_to}", markup=False, soft_wrap=True)
    _out.print(f"store: {summary.store_path}", markup=False, soft_wrap=True)
    _out.print(summary.line(), markup=False, soft_wrap=True)


@app.command()
def runs(root: str = typer.Option("runs", "--root", help="directory that holds the runs")) -> None:
    """List the runs under ROOT with their status, cells done and config hash."""
    from .experiments.rundir import list_runs

    found = list_runs(root)
    if not found:
        _out.print(f"no runs under {root}", markup=False, soft_wrap=True)
        return
    table = Table(title=f"runs under {escape(root)}")
    table.add_column("name", no_wrap=True)
    table.add_column("status")
    table.add_column("cells", justify="right")
    table.add_column("config", no_wrap=True)
    table.add_column("last update (UTC)", no_wrap=True)
    for info in found:
        last = (info.last_update or "-")[:19].replace("T", " ") if info.status != "unreadable" else "-"
        table.add_row(escape(info.name), info.status, f"{info.cells_done}/{info.cells_total}",
                      info.config_hash[:12] or "-", last)
    _out.print(table)

@app.command()
def export(
    run_dir: str = typer.Argument(..., help="a run directory, e.g. runs/theorem-4-1"),
    fmt: str = typer.Option("csv", "--format", help="csv, or parquet (needs pyarrow)"),
    output: Optional[str] = typer.Option(None, "--output", help="file to write (default: next to the store)"),
) -> None:
    """Export a run's finished cells as one table (CSV or Parquet)."""
    from pathlib import Path

    from .experiments.store import STORE_FILE, ResultsStore

    store_path = Path(run_dir) / STORE_FILE
    if not store_path.is_file():
        _fail(f"{run_dir}: no results store ({STORE_FILE}) there; run a sweep first with 'defendability run'")
    try:
        with ResultsStore(store_path, readonly=True) as store:
            path = store.export(fmt, output)
    except UserError as err:
        _fail(str(err))
    _out.print(str(path), markup=False, soft_wrap=True)


@app.command()
def report(run_dir: str = typer.Argument(..., help="a run directory, e.g. runs/theorem-4-1")) -> None:
    """Write RUN_DIR/report.md, report.html and figures/*.png from the run's results store."""
    from .experiments.report import write_report

    try:
        paths = write_report(run_dir)
    except UserError as err:
        _fail(str(err))
    _out.print(str(paths.markdown), markup=False, soft_wrap=True)
    _out.print(str(paths.html), markup=False, soft_wrap=True)


def _is_a(err: BaseException, name: str) -> bool:
    # Typer raises click's exception classes, which recent Typer versions vendor under a
    # private module: recognise them by name rather than import a private path.
    return any(cls.__name__ == name for cls in type(err).__mro__)


def main() -> None:
    """Console-script entry point: usage errors too are one line with exit status 2."""
    try:
        code = app(standalone_mode=False)
    except UserError as err:  # errors raised outside a command body
        _err.print(f"error: {err}", markup=False, soft_wrap=True)
        sys.exit(2)
    except Exception as err:
        if _is_a(err, "UsageError"):
            message = err.format_message()
            if message:  # an empty message follows the help printed for a bare command
                ctx = getattr(err, "ctx", None)
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                _err.print(f"error: {message}{hint}", markup=False, soft_wrap=True)
            sys.exit(2)
        if _is_a(err, "Abort"):
            sys.exit(1)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
