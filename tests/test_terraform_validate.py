"""`terraform validate` on every example stack, with providers from a local mirror only.

Each example is validated twice. The whole stack is validated when the mirror has all of its
providers, and skipped, naming the missing ones, when it does not. The stack without the blocks of
its missing providers (and whatever refers to them) is validated whenever any block is left. Where
the mirror has hashicorp/aws at another version than the 6.25.0 that the prebuilt bindings pin,
both tests relax that constraint to the mirrored version (see `RELAXED_PROVIDERS`).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import example_paths
from tests.terraform_cli import prepare_stack, run_terraform

EXAMPLE_NAMES = [path.stem for path in example_paths()]


def _validate(toolchain, folder):
    environment = toolchain.environment()
    run_terraform(toolchain.terraform, ["init", "-backend=false", "-input=false"], cwd=folder, env=environment)
    result = run_terraform(toolchain.terraform, ["validate", "-json"], cwd=folder, env=environment, expected_status=(0, 1))
    report = json.loads(result.stdout)
    messages = [
        f"{diagnostic['severity']}: {diagnostic['summary']}: {diagnostic.get('detail', '')} "
        f"({diagnostic.get('range', {}).get('filename', '')})"
        for diagnostic in report["diagnostics"]
    ]
    return report, messages


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_stack_validates_with_mirrored_aws(name, example_stacks, terraform_toolchain, tmp_path):
    """Validate the whole stack, its aws constraint relaxed to the mirrored version."""
    prepared = prepare_stack(example_stacks[name], terraform_toolchain.mirror, strip_missing=False)
    if prepared.missing:
        missing = ", ".join(str(requirement) for requirement in prepared.missing)
        pytest.skip(
            f"{name}: the provider mirror lacks {missing} (it has {terraform_toolchain.mirror.describe()}); "
            "test_stack_validates_without_unmirrored_providers validates the rest"
        )

    prepared.write(tmp_path)
    report, messages = _validate(terraform_toolchain, tmp_path)

    assert report["valid"], "\n".join(messages)
    assert report["warning_count"] == 0, "\n".join(messages)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_stack_validates_without_unmirrored_providers(name, example_stacks, terraform_toolchain, tmp_path):
    """Validate the stack without the blocks of providers missing from the mirror, aws relaxed to the mirrored version."""
    prepared = prepare_stack(example_stacks[name], terraform_toolchain.mirror, strip_missing=True)
    if not prepared.has_blocks():
        missing = ", ".join(str(requirement) for requirement in prepared.missing)
        pytest.skip(f"{name}: nothing left to validate without {missing}, which the provider mirror lacks")

    prepared.write(tmp_path)
    report, messages = _validate(terraform_toolchain, tmp_path)

    assert report["valid"], "\n".join(messages)
    assert report["warning_count"] == 0, "\n".join(messages)
