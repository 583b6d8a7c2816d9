# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# Each creates .venv when it is missing and installs the package with what it needs.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The PyTorch of the torch extra: the CPU build (any torch >= 2.1 works; override with
# `make TORCH=torch==2.x ...`).
TORCH  ?= torch==2.13.0

.PHONY: demo quick-demo test bench install clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,plots,ray,sat,torch]' '$(TORCH)'
	@touch $(STAMP)

install: $(STAMP)

# The main job: the Theorem 4.1 sweep (about 100 s on 2 cores; resumes if interrupted)
# and its report. The last lines printed are the paths of report.md and report.html.
demo: $(STAMP)
	$(PY) -m defendability.cli run examples/theorem-4-1.toml
	$(PY) -m defendability.cli report runs/theorem-4-1

# A few cells of the same sweep through `defendability play`, as a table (about 10 s).
quick-demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/bench_game.py
	$(PY) benchmarks/bench_sweep.py
	$(PY) benchmarks/bench_circuits.py
	$(PY) benchmarks/bench_gkvz.py
	$(PY) benchmarks/bench_isolation.py
	$(PY) benchmarks/bench_import.py
	$(PY) benchmarks/bench_networks.py

clean:
	rm -rf $(VENV) runs build *.egg-info src/*.egg-info .pytest_cache
