# The two commands of the README:
#   make run    installs into .venv, then runs notebooks 01-04 headless (PROFILE=quick by default; PROFILE=full)
#   make test   installs into .venv, then runs the tests (pytest)
PYTHON ?= python3
VENV   ?= .venv
PROFILE ?= quick
BIN    := $(VENV)/bin

.PHONY: run test bench install clean-outputs

run: install
	$(BIN)/python -m ecgutils.pipeline --profile $(PROFILE)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m ecgutils.bench --profile $(PROFILE)

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The shipped reference weights: full-profile training of the four models (two processes, one thread each), then
# copied into ecgutils/weights/ with MANIFEST.json.
weights: install
	$(BIN)/python -c "from ecgutils import dataset; dataset.build_dataset('full')"
	$(BIN)/python -m ecgutils.runs --profile full --models lstm cnn > outputs/weights_denoisers.log 2>&1 & \
	$(BIN)/python -m ecgutils.runs --profile full --models classifier detector > outputs/weights_rpeak.log 2>&1; \
	wait $$!; \
	$(BIN)/python -m ecgutils.runs --ship
