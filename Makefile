# Two commands do all the set-up on a fresh Debian machine:
#   make run    virtualenv + install + the exporter on built-in demo data at :9185
#   make test   virtualenv + test tools (and Prometheus, promtool, Alertmanager) + lint, types, whole suite,
#               then the suite again with the oldest dependency versions pyproject.toml allows
#   make lock   regenerate requirements.lock, the hashed pins the container image installs
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
ARGS   ?= --demo

# Debian packages the set-up installs itself when it runs as root where apt-get exists.
CAN_APT     = [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null
APT_INSTALL = apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

# Debian's python3 makes virtualenvs only with python3-venv (it carries ensurepip).
NEED_VENV_MODULE = if ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
		if $(CAN_APT); then \
			echo "installing Debian package python3-venv"; \
			$(APT_INSTALL) python3-venv >/dev/null; \
		else \
			echo "error: $(PYTHON) cannot create virtualenvs; install python3-venv (sudo apt-get install python3-venv)"; \
			exit 1; \
		fi; \
	fi

.PHONY: run test venv dev-deps system-deps lint typecheck pytest test-floors lock bench clean

$(BIN)/github-copilot-exporter: pyproject.toml
	@$(NEED_VENV_MODULE)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

venv: $(BIN)/github-copilot-exporter

run: venv
	$(BIN)/github-copilot-exporter $(ARGS)

$(VENV)/.dev-installed: pyproject.toml $(BIN)/github-copilot-exporter
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

dev-deps: $(VENV)/.dev-installed

# Prometheus (with promtool) and Alertmanager (with amtool) from Debian, for the end-to-end tests.
system-deps:
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null \
		|| ! { command -v prometheus-alertmanager || command -v alertmanager; } >/dev/null; then \
		if $(CAN_APT); then \
			echo "installing Debian packages prometheus and prometheus-alertmanager"; \
			$(APT_INSTALL) prometheus prometheus-alertmanager >/dev/null; \
		else \
			echo "warning: promtool/prometheus/alertmanager missing and cannot be installed here; tests that need them will skip (or fail under CI=true)"; \
		fi; \
	fi

lint: dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: dev-deps
	$(BIN)/mypy

pytest: dev-deps system-deps
	PROPERTY_EXAMPLES=150 $(BIN)/pytest $(PYTEST_ARGS)

# The lowest version of each runtime dependency that pyproject.toml allows (tools/floors.py reads them),
# in a virtualenv of its own: first with nothing else installed, where the console script must serve
# /metrics on demo data (tools/smoke.py), as on a user's clean install; then with the test tools added,
# under the end-to-end suite. A lower bound that stops working fails here.
FLOORS_VENV ?= .venv-floors
FLOORS_BIN   = $(FLOORS_VENV)/bin

$(FLOORS_VENV)/.runtime: pyproject.toml tools/floors.py tools/smoke.py
	@$(NEED_VENV_MODULE)
	$(PYTHON) -m venv --clear $(FLOORS_VENV)
	$(PYTHON) tools/floors.py > $(FLOORS_VENV)/floors.txt
	$(FLOORS_BIN)/pip install --quiet --upgrade pip
	$(FLOORS_BIN)/pip install --quiet -c $(FLOORS_VENV)/floors.txt -e .
	$(FLOORS_BIN)/pip check
	$(FLOORS_BIN)/python tools/floors.py --installed
	$(FLOORS_BIN)/python tools/smoke.py
	@touch $@

$(FLOORS_VENV)/.installed: $(FLOORS_VENV)/.runtime
	$(FLOORS_BIN)/pip install --quiet -c $(FLOORS_VENV)/floors.txt -e '.[dev]'
	$(FLOORS_BIN)/pip check
	@touch $@

test-floors: $(FLOORS_VENV)/.installed system-deps
	$(FLOORS_BIN)/python tools/floors.py --installed
	$(FLOORS_BIN)/pytest -m e2e $(PYTEST_ARGS)

test: lint typecheck pytest
	$(MAKE) test-floors

# requirements.lock: every package the image installs, pinned with the hashes of all its files, for
# Linux and Python 3.11 (the image's), from pyproject.toml's ranges and build backend. uv runs from a
# throwaway virtualenv; it is not a dependency of the exporter.
UV_VERSION ?= 0.13.9
LOCK_VENV  ?= .venv-lock

$(LOCK_VENV)/bin/uv:
	@$(NEED_VENV_MODULE)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet uv==$(UV_VERSION)

lock: $(LOCK_VENV)/bin/uv
	$(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' > $(LOCK_VENV)/build-requires.in
	$(LOCK_VENV)/bin/uv pip compile --quiet --generate-hashes --python-version 3.11 --python-platform linux \
		--custom-compile-command "make lock" --no-emit-package github-copilot-exporter \
		pyproject.toml $(LOCK_VENV)/build-requires.in -o requirements.lock

bench: dev-deps
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(FLOORS_VENV) $(LOCK_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
