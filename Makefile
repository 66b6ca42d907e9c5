# Set-up and the everyday commands. Each target installs what it needs first.
PIPENV_VERSION := 2026.10.3
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIPENV_VERBOSITY := -1
# The cdktf command line would otherwise call HashiCorp's version-check service on every run.
export CHECKPOINT_DISABLE := 1

.PHONY: setup setup-dev synth test check bench

setup:
	@command -v pipenv >/dev/null || python3 -m pip install --user "pipenv==$(PIPENV_VERSION)"
	pipenv sync
	npm ci --no-audit --no-fund

setup-dev:
	@command -v pipenv >/dev/null || python3 -m pip install --user "pipenv==$(PIPENV_VERSION)"
	pipenv sync --dev

# Synthesize every environment in config/ (or those in ESO_ENVIRONMENTS) into cdktf.out/stacks/.
synth: setup
	npx cdktf synth

test: setup-dev
	pipenv run pytest

check: setup-dev
	pipenv run python -m eso_oidc check
