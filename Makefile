# graphclust: `make demo` and `make test` set everything up in a local .venv first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.graphclust-installed
BENCH_STAMP := $(VENV)/.graphclust-bench-installed

.PHONY: demo test bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $(BENCH_STAMP)

demo: $(STAMP)
	$(VENV)/bin/graphclust demo --out demo_output

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(BENCH_STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) demo_output build src/*.egg-info .pytest_cache
