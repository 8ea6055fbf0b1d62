# cookiecutter-mlsd: `make help` lists the targets. Needs only python3, make and git: uv is
# bootstrapped into .tools/ at a pinned version (use another with `make UV=uv ...`).
.DEFAULT_GOAL := help
PYTHON ?= python3
UV_VERSION := 0.13.9
BOOTSTRAPPED_UV := $(CURDIR)/.tools/bin/uv
UV ?= $(BOOTSTRAPPED_UV)
# Only the bootstrapped uv is a file this Makefile knows how to make.
UV_PREREQ := $(filter $(BOOTSTRAPPED_UV),$(UV))
BUILD_DIR := build
DEMO_DIR := $(BUILD_DIR)/ad-click-prediction

export UV_PYTHON_DOWNLOADS := never

.PHONY: help demo test test-fast lint lock bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BOOTSTRAPPED_UV):
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# cookiecutter keeps replay files and clones under build/, not in the home directory.
COOKIECUTTER_STATE := $(CURDIR)/$(BUILD_DIR)/.cookiecutter

demo: | $(UV_PREREQ) ## Bake the default project into build/, install it, and run its whole loop
	rm -rf $(DEMO_DIR)
	mkdir -p $(COOKIECUTTER_STATE)
	printf 'replay_dir: %s\ncookiecutters_dir: %s\n' "$(COOKIECUTTER_STATE)/replay" \
		"$(COOKIECUTTER_STATE)/clones" > $(COOKIECUTTER_STATE)/config.yaml
	$(UV) run --locked cookiecutter --no-input --config-file $(COOKIECUTTER_STATE)/config.yaml \
		--output-dir $(BUILD_DIR) .
	$(MAKE) -C $(DEMO_DIR) setup all UV=$(UV)

test: | $(UV_PREREQ) ## Run the template's test suite (bakes, lints and runs generated projects)
	$(if $(CI),sh scripts/install-system-packages.sh)
	$(UV) run --locked pytest

test-fast: | $(UV_PREREQ) ## The template's tests without installing a generated project
	$(UV) run --locked pytest -m "not slow"

lint: | $(UV_PREREQ) ## Lint the template's own code (hooks, tests, scripts)
	$(UV) run --locked ruff check .
	$(UV) run --locked ruff format --check .

lock: | $(UV_PREREQ) ## Re-resolve both lock files: the template's and the generated project's
	$(UV) lock
	$(UV) run --locked python scripts/relock.py

bench: demo ## Run the generated project's benchmarks on the demo project
	$(MAKE) -C $(DEMO_DIR) bench UV=$(UV)

clean: ## Remove build output and the bootstrapped tools
	rm -rf $(BUILD_DIR) .tools .venv
