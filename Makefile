# The two commands of README: `sudo make demo` and `sudo make test`.
# Both first run the one setup path (Debian packages, .venv, Open vSwitch).

VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo lint test unit integration doctor clean bench

setup:
	bash scripts/setup.sh

demo: setup
	$(BIN)/v6lab doctor
	$(BIN)/v6lab run

# Lint and type errors fail the tests (configuration in pyproject.toml).
lint:
	$(BIN)/ruff check .
	$(BIN)/mypy

test: setup lint
	CI=$${CI:-} $(BIN)/pytest -p no:cacheprovider tests/unit tests/integration

unit: lint
	$(BIN)/pytest -p no:cacheprovider tests/unit

integration: setup
	$(BIN)/pytest -p no:cacheprovider tests/integration

doctor: setup
	$(BIN)/v6lab doctor

clean:
	$(BIN)/v6lab clean

bench: setup
	$(BIN)/python -m benchmarks
