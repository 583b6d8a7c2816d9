"""experiments: sweep configurations, the results store, runners and reports."""

from ..errors import ReportError, RunError
from .cell import Cell
from .config import ConfigError, SweepConfig, load_config, parse_config
from .rundir import RunInfo, list_runs
from .runner import BACKENDS, RunSummary, run_sweep
from .report import ReportPaths, write_report
from .store import ResultsStore, StoreError, rounds_from_json, rounds_to_json, without_timing

__all__ = ["Cell", "ConfigError", "SweepConfig", "load_config", "parse_config", "BACKENDS", "RunError", "RunInfo",
           "RunSummary", "list_runs", "run_sweep", "ResultsStore", "StoreError", "rounds_from_json",
           "rounds_to_json", "without_timing", "ReportError", "ReportPaths", "write_report"]
