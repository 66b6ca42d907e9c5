"""Snapshots of every example environment's synthesized stack."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES_DIR

EXAMPLE_NAMES = sorted(path.stem for path in EXAMPLES_DIR.glob("*.yaml"))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_stack_matches_snapshot(name, example_stacks, snapshot):
    assert json.dumps(example_stacks[name], indent=2, sort_keys=True) == snapshot


def test_examples_have_no_absolute_paths(example_stacks):
    for name, stack in example_stacks.items():
        text = json.dumps(stack)
        assert "/work/" not in text, name
        assert "/home/" not in text, name
        assert "/tmp/" not in text, name
