# The two commands of the README:
#   make run    installs into .venv, then runs notebooks 01-05 headless (PROFILE=quick by default; PROFILE=full)
#   make test   installs into .venv, then runs the tests (pytest)
# More:
#   make bench              scores the shipped reference weights (MODELS=quick|full: your trained models instead)
#   make weights            retrains the shipped reference weights (full profile, about an hour on 2 cores)
#   make handin NAME="..."  executes the notebooks and writes one HTML file per notebook to outputs/handin/, even
#                           when a cell fails (its error shows in the HTML); ONLY=02 (or ONLY="02 03") hands in some
#                           FOLDER=my_copy: the student's copy of the release (notebooks/ holds the solutions)
#   make assignments        writes the student release of the exercises (nbgrader: no solutions, hidden tests
#                           removed) to outputs/assignments/release/ecg/; ONLY=02 releases some
SHELL   := /bin/bash
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= quick
MODELS  ?= reference
BIN     := $(VENV)/bin

.PHONY: run test bench weights handin assignments install

run: install
	$(BIN)/python -m ecgutils.notebook.pipeline --profile $(PROFILE)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m ecgutils.evaluation.bench --models $(MODELS)

handin: install
	@test -n "$(NAME)" || { echo 'say who hands in: make handin NAME="Your Name"'; exit 1; }
	$(BIN)/python -m ecgutils.notebook.handin --name "$(NAME)" --profile $(PROFILE) $(if $(ONLY),--only $(ONLY)) $(if $(FOLDER),--folder "$(FOLDER)")

assignments: install
	$(BIN)/python -m ecgutils.notebook.assignments $(if $(ONLY),--only $(ONLY))

# Two training processes of one thread each (the denoisers; the R-peak models, offline and real-time), then the copy
# into ecgutils/models/weights/ and the detectors' confidence and quality maps (calibration.json, validation records).
weights: install
	$(BIN)/python -c "from ecgutils.data import store; store.build_dataset('full')"
	mkdir -p outputs/logs
	$(BIN)/python -m ecgutils.training.runs --profile full --models lstm cnn stream_denoiser > outputs/logs/weights_denoisers.log 2>&1 & pid=$$!; \
	$(BIN)/python -m ecgutils.training.runs --profile full --models classifier detector stream_detector 2>&1 | tee outputs/logs/weights_rpeak.log; \
	s1=$${PIPESTATUS[0]}; wait $$pid; s2=$$?; \
	test $$s1 -eq 0 -a $$s2 -eq 0 || { echo "make weights failed: see outputs/logs/weights_*.log"; exit 1; }
	$(BIN)/python -m ecgutils.training.runs --ship
	$(BIN)/python -m ecgutils.training.calibrate

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e .
	touch $@
