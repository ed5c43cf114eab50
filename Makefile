# make test   -- install into a local virtualenv (unless one is active) and run the test suite
# make book   -- execute the notebooks (profile full, from recorded runs) and build the HTML into _build/html
# make smoke-book -- the same on a few hundred images, in _build/smoke (minutes)
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
# The team's offline copy of the datasets, when it sits beside the clone (else: cache or download).
ifeq ($(LENET_DATA_DIR),)
ifneq ($(wildcard ../shared/datasets/mnist),)
export LENET_DATA_DIR := $(abspath ../shared/datasets)
endif
endif

.PHONY: test book smoke-book install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(ENV_DIR)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

book: $(STAMP)
	$(PY) -m lenet.pipeline --profile full

smoke-book: $(STAMP)
	$(PY) -m lenet.pipeline --profile smoke --out _build/smoke

clean:
	rm -rf _build book/executed
