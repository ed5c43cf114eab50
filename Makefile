# make test   -- install into a local virtualenv (unless one is active) and run the test suite
# make book   -- build the HTML report into _build/html
# Uses the active virtualenv / conda env when there is one, else creates ./.venv.

ifneq ($(VIRTUAL_ENV),)
ENV_DIR := $(VIRTUAL_ENV)
else ifneq ($(CONDA_PREFIX),)
ENV_DIR := $(CONDA_PREFIX)
else
ENV_DIR := $(CURDIR)/.venv
endif
PY := $(ENV_DIR)/bin/python
STAMP := $(ENV_DIR)/.lenet-installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: test book install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(ENV_DIR)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

book: $(STAMP)
	$(ENV_DIR)/bin/jb build . --warningiserror --nitpick --keep-going

clean:
	rm -rf _build
