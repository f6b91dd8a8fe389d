# Set-up and routine tasks. `make demo` and `make test` work on a fresh clone.
PY ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install system-deps demo test lint bench clean

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Creates or updates .venv with the package, its locked dependencies and the test extras.
install: $(UV)
	$(UV) sync --frozen --extra test --extra bench --extra ray --python $(PY)

# Headless Chromium for the browser tests (Debian's package; installed when running as root).
system-deps:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (browser tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "WARNING: chromium is missing and cannot be installed here: browser tests will skip"; \
	fi

demo: install
	$(VENV)/bin/talentmarket demo

test: install system-deps
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -n 2 --dist loadgroup

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

# Benchmarks are run by hand; each compares with its peer in the same run and ends with JSON.
bench: install
	$(VENV)/bin/python benchmarks/valuation.py
	$(VENV)/bin/python benchmarks/pricing.py
	$(VENV)/bin/python benchmarks/estimation.py
	$(VENV)/bin/python benchmarks/market.py
	$(VENV)/bin/python benchmarks/api.py
	$(VENV)/bin/python benchmarks/sweep.py

clean:
	rm -rf $(VENV) $(TOOLS) out .pytest_cache .mypy_cache .ruff_cache
