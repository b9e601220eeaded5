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

.PHONY: env course test lab lint notebooks student bench search site test-browser clean help

help:
	@echo "make course     run every notebook in order into runs/<timestamp>/ (the main job)"
	@echo "make test       unit tests, papermill quick runs and nbval checks of the notebooks"
	@echo "make lab        JupyterLab on the course, opened at notebooks/ (OPEN=student: the student copies)"
	@echo "make lint       the pre-commit hooks on every file: ruff, and notebooks as refresh writes them"
	@echo "make notebooks  re-execute the committed notebooks in place with their defaults"
	@echo "make student    student copies (solutions stubbed, outputs cleared) in student/"
	@echo "make bench      seconds per epoch: per-item loader (0/2 workers), in-memory, compute floor"
	@echo "make search     the validation search behind notebook 12's final epochs and learning rate"
	@echo "make site       the course as a website in build/site/ (ARGS=\"--edition instructor\": with answers)"
	@echo "make test-browser  the website (both editions) and JupyterLab on student copies, in headless Chromium"

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements.txt -e .
	$(BIN)/fmnist-course kernel
	@touch $(STAMP)

env: $(STAMP)

# The website's packages (Sphinx, myst-nb, the theme, MathJax, Playwright) go into the same .venv,
# constrained by requirements.txt so that none of the course's pins moves.
SITE_STAMP := $(VENV)/.site-installed
$(SITE_STAMP): $(STAMP) requirements-site.txt
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-site.txt -c requirements.txt
	@touch $(SITE_STAMP)

course: $(STAMP)
	$(BIN)/fmnist-course run $(ARGS)

test: $(STAMP)
	$(BIN)/python tests/nbval_copies.py $(NBVAL_COPIES)
	$(BIN)/python -m pytest tests $(NBVAL_COPIES) -n 2 --dist loadfile --nbval-lax \
		--nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg $(ARGS)

# JupyterLab's root is the course folder, so notebooks/ and student/ both open in it (a kernel starts
# in its notebook's folder); OPEN names the folder or notebook it opens at: `make lab OPEN=student`.
OPEN ?= notebooks
lab: $(STAMP)
	@test -e "$(OPEN)" || { echo "make lab: there is no $(OPEN) in $(CURDIR)$(if $(filter student%,$(OPEN)),; \
		make student writes the student copies)" >&2; exit 2; }
	$(BIN)/jupyter lab $(LAB_FLAGS) --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url="/lab/tree/$(OPEN)"

# The hooks of .pre-commit-config.yaml (ruff, notebook hygiene) on every file git tracks or would
# add (new files too), as a commit would run them on the files it changes.
lint: $(STAMP)
	git ls-files -z --cached --others --exclude-standard | xargs -0 $(BIN)/pre-commit run --files

notebooks: $(STAMP)
	$(BIN)/fmnist-course refresh $(ARGS)

student: $(STAMP)
	$(BIN)/fmnist-course student $(ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/epoch_time.py $(ARGS)

search: $(STAMP)
	$(BIN)/python benchmarks/capstone_search.py $(ARGS)

site: $(SITE_STAMP)
	$(BIN)/python -m fmnist_helpers.course.website $(ARGS)

# Needs Debian's chromium (/usr/bin/chromium); its own pytest run, apart from `make test`.
test-browser: $(SITE_STAMP)
	$(BIN)/python -m pytest tests/browser $(ARGS)

clean:
	rm -rf build .pytest_cache .ruff_cache
