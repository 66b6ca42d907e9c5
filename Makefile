# Set-up and the everyday commands. Each target installs what it needs first.
PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
PIPENV := $(PYTHON) -m pipenv
CHECKOV_VENV := .venv-checkov
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

setup-dev: pipenv $(CHECKOV_VENV)/.installed
	$(PIPENV) sync --dev

# checkov pins dependencies that clash with the app's (boto3, packaging), so it gets a virtual
# environment of its own, rebuilt when its requirements change.
$(CHECKOV_VENV)/.installed: tools/checkov/requirements.txt
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --requirement $<
	touch $@

# Synthesize every environment in config/ (or those in ESO_ENVIRONMENTS) into cdktf.out/stacks/.
synth: setup
	npx cdktf synth

test: setup-dev
	$(PIPENV) run pytest

check: setup-dev
	$(PIPENV) run python -m eso_oidc check
