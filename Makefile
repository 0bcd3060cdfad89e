# fmi_mx: `make demo`, `make test`. GPU servers: MXNET_EXTRA=gpu make setup
PYTHON ?= python3.11
VENV ?= .venv
MXNET_EXTRA ?= cpu
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(MXNET_EXTRA)

.PHONY: setup test test-all demo clean

setup: $(STAMP)

$(STAMP): setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[$(MXNET_EXTRA),test]"
	rm -f $(VENV)/.installed-*
	touch $@

test: setup
	$(BIN)/python -m pytest -q -m "not gpu" tests

demo: setup
	$(BIN)/fmi-mx demo --out demo

clean:
	rm -rf $(VENV) demo outputs .pytest_cache
