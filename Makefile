# The course's commands. Each target creates .venv if it is missing and re-installs when
# requirements.txt or pyproject.toml changed, so every command works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NBVAL_COPIES := build/nbval

# The kernels' environment (OMP_WAIT_POLICY, ...) is set in one place,
# fmnist_helpers/course/environment.py, and written into the venv's python3 kernel spec here, so it
# also holds under plain papermill and in JupyterLab. JupyterLab as root needs --allow-root.
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: env course test lab lint notebooks student bench clean help

help:
	@echo "make course     run every notebook in order into runs/<timestamp>/ (the main job)"
	@echo "make test       unit tests, papermill quick runs and nbval checks of the notebooks"
	@echo "make lab        JupyterLab on notebooks/ in the project environment"
	@echo "make lint       ruff on the package, tests and notebooks"
	@echo "make notebooks  re-execute the committed notebooks in place with their defaults"
	@echo "make student    student copies (solutions stubbed, outputs cleared) in student/"
	@echo "make bench      seconds per epoch: per-item loader (0/2 workers), in-memory, compute floor"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt -e .
	$(BIN)/fmnist-course kernel
	@touch $(STAMP)

env: $(STAMP)

course: $(STAMP)
	$(BIN)/fmnist-course run $(ARGS)

test: $(STAMP)
	$(BIN)/python tests/nbval_copies.py $(NBVAL_COPIES)
	$(BIN)/python -m pytest tests $(NBVAL_COPIES) -n 2 --dist loadfile --nbval-lax \
		--nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg $(ARGS)

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

lint: $(STAMP)
	$(BIN)/ruff check .

notebooks: $(STAMP)
	$(BIN)/fmnist-course refresh $(ARGS)

student: $(STAMP)
	$(BIN)/fmnist-course student $(ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/epoch_time.py $(ARGS)

clean:
	rm -rf build .pytest_cache .ruff_cache
