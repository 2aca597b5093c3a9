# Two commands: `make run` (the dashboard) and `make test` (the whole suite). Both build .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# On machines with an offline copy beside the project, use it unless CIFAR10_DATA says otherwise: the official
# format (official pixels, nothing to decode) first, else the small JPEG copy.
OFFLINE_COPY := $(firstword $(wildcard ../shared/datasets/cifar-10-python-rebuilt.tar.gz ../shared/datasets/cifar10-jpeg.tar.gz))
export CIFAR10_DATA ?= $(OFFLINE_COPY)
PORT ?= 8501

.PHONY: run test bench install browser clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/streamlit run dashboard.py --server.port $(PORT)

test: install browser
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench

# The browser walk-through drives Debian's Chromium; Playwright's own browser download does not work everywhere.
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; } \
	  || { echo "error: could not install chromium (apt-get failed); the browser tests need /usr/bin/chromium"; exit 1; }

clean:
	rm -rf $(VENV) .pytest_cache screenshots
