# Every target creates .venv and installs into it what it needs, when missing or when pyproject.toml changed:
# `make demo` the app and the emulator; the other targets the test and dev tools too.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.tfscope-installed-demo
STAMP := $(VENV)/.tfscope-installed
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test check lint screenshots bench fuzz schemas clean

$(DEMO_STAMP): pyproject.toml
	@test -x $(PY) || { echo "Creating the virtualenv in $(VENV)..."; $(PYTHON) -m venv $(VENV); }
	@echo "Installing tfscope, TensorFlow (CPU) and the GCS emulator into $(VENV): about 1.5 minutes the first time..."
	$(PIP) -e '.[cpu,demo]'
	@touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP)
	@echo "Installing the test and dev tools (pytest, ruff, mypy, import-linter)..."
	$(PIP) -e '.[cpu,demo,test,dev]'
	@touch $(STAMP)

demo: $(DEMO_STAMP)  ## local GCS emulator seeded with demo models, and the TUI on it
	$(VENV)/bin/tfscope --demo

test: $(STAMP)  ## the whole suite, against the emulator on loopback
	$(PY) -m pytest

check: $(STAMP)  ## lint, format, types, import contracts
	$(VENV)/bin/ruff check tui tests bench
	$(VENV)/bin/ruff format --check tui tests bench
	$(VENV)/bin/mypy tui
	$(VENV)/bin/lint-imports

schemas: $(STAMP)  ## regenerate the TFLite metadata accessors from tui/formats/schemas/metadata_schema.fbs
	$(VENV)/bin/flatc --python --gen-onefile --gen-object-api -o tui/formats/schemas tui/formats/schemas/metadata_schema.fbs

screenshots: $(STAMP)  ## SVGs of the browser on the demo bucket, into screenshots/
	$(PY) tests/make_screenshots.py screenshots

bench: $(STAMP)  ## tfscope vs saved_model_cli, ModelScan & co, side by side; QUICK=1 short run, ROWS=7 (or scan) one row
	QUICK=$(QUICK) ROWS=$(ROWS) $(PY) bench/run.py

FUZZ_ZOO ?= $(HOME)/.cache/tfscope/fuzz-zoo-v1
MINUTES ?= 30
fuzz: $(STAMP)  ## crafted and mutated files through every reader (MINUTES=30, SEED=n), then the hostile server and file cases
	@test -d $(FUZZ_ZOO) || { echo "Building the model zoo once into $(FUZZ_ZOO) (TensorFlow, about a minute)..."; \
	  rm -rf $(FUZZ_ZOO).tmp && $(PY) tests/build_zoo.py $(FUZZ_ZOO).tmp && mv $(FUZZ_ZOO).tmp $(FUZZ_ZOO); }
	$(PY) tests/fuzzing.py --zoo $(FUZZ_ZOO) --minutes $(MINUTES) --seed $(or $(SEED),0)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
