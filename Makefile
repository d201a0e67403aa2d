# Every target creates .venv and installs the project into it when missing or when pyproject.toml changed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tfscope-installed

.PHONY: demo test check lint screenshots bench fuzz clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[cpu,demo,test,dev]'
	touch $(STAMP)

demo: $(STAMP)  ## local GCS emulator seeded with demo models, and the TUI on it
	$(VENV)/bin/tfscope --demo

test: $(STAMP)  ## the whole suite, against the emulator on loopback
	$(PY) -m pytest

check: $(STAMP)  ## lint, format, types, import contracts
	$(VENV)/bin/ruff check tui tests bench
	$(VENV)/bin/ruff format --check tui tests bench
	$(VENV)/bin/mypy tui
	$(VENV)/bin/lint-imports

screenshots: $(STAMP)  ## SVGs of the browser on the demo bucket, into screenshots/
	$(PY) tests/make_screenshots.py screenshots

bench: $(STAMP)  ## tfscope vs saved_model_cli & co, side by side; QUICK=1 for a short run
	QUICK=$(QUICK) $(PY) bench/run.py

FUZZ_ZOO ?= $(HOME)/.cache/tfscope/fuzz-zoo-v1
MINUTES ?= 30
fuzz: $(STAMP)  ## crafted and mutated model files through every reader; MINUTES=30 by default, SEED=n
	@test -d $(FUZZ_ZOO) || { echo "Building the model zoo once into $(FUZZ_ZOO) (TensorFlow, about a minute)..."; \
	  rm -rf $(FUZZ_ZOO).tmp && $(PY) tests/build_zoo.py $(FUZZ_ZOO).tmp && mv $(FUZZ_ZOO).tmp $(FUZZ_ZOO); }
	$(PY) tests/fuzzing.py --zoo $(FUZZ_ZOO) --minutes $(MINUTES) --seed $(or $(SEED),0)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
