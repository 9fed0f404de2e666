# Two commands do all the set-up on a fresh Debian machine:
#   make run    virtualenv + install + the exporter on built-in demo data at :9185
#   make test   virtualenv + test tools (and Prometheus, promtool, Alertmanager) + lint, types, whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
ARGS   ?= --demo

# Debian packages the set-up installs itself when it runs as root where apt-get exists.
CAN_APT     = [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null
APT_INSTALL = apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

.PHONY: run test venv dev-deps system-deps lint typecheck pytest bench clean

$(BIN)/github-copilot-exporter: pyproject.toml
	@# Debian's python3 makes virtualenvs only with python3-venv (it carries ensurepip).
	@if ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
		if $(CAN_APT); then \
			echo "installing Debian package python3-venv"; \
			$(APT_INSTALL) python3-venv >/dev/null; \
		else \
			echo "error: $(PYTHON) cannot create virtualenvs; install python3-venv (sudo apt-get install python3-venv)"; \
			exit 1; \
		fi; \
	fi
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
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: dev-deps
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis *.egg-info
