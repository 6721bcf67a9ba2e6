# The README's two commands: `make demo` and `make test`. Each installs first (a no-op once done).
SHELL := /bin/bash
VENV ?= $(if $(YOLOPOSE_VENV),$(YOLOPOSE_VENV),.venv)
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install demo test test-fast

install:
	bash tools/install.sh

demo: install
	$(PY) tools/demo_job.py

test: install
	$(PY) -m pytest tests $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)
