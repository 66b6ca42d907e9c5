# Set-up and the everyday commands. Each target installs what it needs first.
PIPENV_VERSION := 2026.10.3
CHECKOV_VENV := .venv-checkov
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIPENV_VERBOSITY := -1

.PHONY: setup setup-dev synth test check bench

setup:
	@command -v pipenv >/dev/null || python3 -m pip install --user "pipenv==$(PIPENV_VERSION)"
	pipenv sync
	npm ci --no-audit --no-fund

setup-dev: $(CHECKOV_VENV)/.installed
	@command -v pipenv >/dev/null || python3 -m pip install --user "pipenv==$(PIPENV_VERSION)"
	pipenv sync --dev

# checkov pins dependencies that clash with the app's (boto3, packaging), so it gets a virtual
# environment of its own, rebuilt when its requirements change.
$(CHECKOV_VENV)/.installed: tools/checkov/requirements.txt
	rm -rf $(CHECKOV_VENV)
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --requirement $<
	touch $@

# Synthesize every environment in config/ (or those in ESO_ENVIRONMENTS) into cdktf.out/stacks/.
synth: setup
	npx cdktf synth

test: setup-dev
	pipenv run pytest

check: setup-dev
	pipenv run python -m eso_oidc check
