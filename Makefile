# Set-up and the everyday commands. Each target installs what it needs first.
PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
PIPENV := $(PYTHON) -m pipenv
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIPENV_VERBOSITY := -1
# The cdktf command line would otherwise call HashiCorp's version-check service on every run.
export CHECKPOINT_DISABLE := 1

.PHONY: pipenv setup setup-dev synth test check

pipenv:
	@$(PIPENV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --user "pipenv==$(PIPENV_VERSION)"

setup: pipenv
	$(PIPENV) sync
	npm ci --no-audit --no-fund

setup-dev: pipenv
	$(PIPENV) sync --dev

# Synthesize every environment in config/ (or those in ESO_ENVIRONMENTS) into cdktf.out/stacks/.
synth: setup
	npx cdktf synth

test: setup-dev
	$(PIPENV) run pytest

check: setup-dev
	$(PIPENV) run python -m eso_oidc check
