"""A checkov scan of every example stack: no failed check, and every skipped check has a reason.

checkov runs once per session over all synthesized examples, with the settings in `.checkov.yaml`.
Its dependencies clash with the app's, so `make setup-dev` installs it into `.venv-checkov/`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_DIR, example_paths

# Set this to the checkov executable to use instead of .venv-checkov/bin/checkov or the one on PATH.
CHECKOV_VARIABLE = "ESO_OIDC_CHECKOV"
CHECKOV_CONFIG = PROJECT_DIR / ".checkov.yaml"
CHECKOV_TIMEOUT_SECONDS = 300

EXAMPLE_NAMES = [path.stem for path in example_paths()]


def find_checkov() -> str | None:
    override = os.environ.get(CHECKOV_VARIABLE)
    if override:
        return override if Path(override).is_file() else None
    local = PROJECT_DIR / ".venv-checkov" / "bin" / "checkov"
    if local.is_file():
        return str(local)
    return shutil.which("checkov")


@pytest.fixture(scope="session")
def checkov_results(example_outdir: Path) -> dict[str, list[Any]]:
    """The passed, failed and skipped checks and the unparsable files of one scan of every example stack."""
    checkov = find_checkov()
    if checkov is None:
        pytest.skip(
            f"checkov not found: run `make setup-dev`, which installs it into .venv-checkov/, "
            f"or set {CHECKOV_VARIABLE} to its path"
        )
    command = [checkov, "--config-file", str(CHECKOV_CONFIG), "--directory", str(example_outdir / "stacks"), "--output", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_SECONDS, check=False)
    # checkov exits with 1 when a check failed, which the tests below report one by one.
    assert result.returncode in (0, 1), f"checkov exited with {result.returncode}:\n{result.stderr[-4000:]}"

    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    results: dict[str, list[Any]] = {"passed_checks": [], "failed_checks": [], "skipped_checks": [], "parsing_errors": []}
    for entry in reports:
        for kind, checks in results.items():
            checks.extend(entry.get("results", {}).get(kind, []))
    return results


def _checks_of(checks: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [check for check in checks if check["file_path"] == f"/{name}/cdk.tf.json"]


def _describe(check: dict[str, Any]) -> str:
    return f"{check['check_id']} {check['resource']}: {check['check_name']}"


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_checkov_finds_no_failures(name, checkov_results):
    failed = [_describe(check) for check in _checks_of(checkov_results["failed_checks"], name)]

    assert failed == [], "fix the stack, or skip the check in .checkov.yaml with a reason"


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_checkov_parses_stack(name, checkov_results, example_outdir):
    stack_file = example_outdir / "stacks" / name / "cdk.tf.json"

    assert str(stack_file) not in checkov_results["parsing_errors"]


def test_checkov_ran_checks(checkov_results):
    # NOTE: checkov 3.3.30 has checks for the AWS IAM blocks, but none for the azurerm and google
    # blocks of the Azure and GCP stacks, so those pass with no check run.
    assert checkov_results["passed_checks"], "checkov ran no check on any example"


def test_checkov_skips_have_reasons():
    text = CHECKOV_CONFIG.read_text()
    skipped = yaml.safe_load(text).get("skip-check") or []

    for check_id in skipped:
        line = re.search(rf"^\s*-\s*{re.escape(check_id)}\s*#\s*(\S.*)$", text, re.MULTILINE)
        assert line is not None, f"{check_id} in .checkov.yaml has no `# reason` on its line"
