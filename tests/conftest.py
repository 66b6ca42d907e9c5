"""Shared fixtures: synthesizing environment files in this process, once per environment."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from eso_oidc.app import silence_node_20_warning

silence_node_20_warning()

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = PROJECT_DIR / "config"


def synthesize_files(paths: list[Path], outdir: Path) -> dict[str, dict[str, Any]]:
    """Synthesize environment files into `outdir`; return each stack's parsed cdk.tf.json by name."""
    from eso_oidc.app import synthesize
    from eso_oidc.config import load_environments

    environments = load_environments(paths)
    synthesize(environments, outdir)
    return {
        environment.name: json.loads((outdir / "stacks" / environment.name / "cdk.tf.json").read_text())
        for environment in environments
    }


@pytest.fixture
def write_environment(tmp_path: Path) -> Callable[..., Path]:
    """Write an environment file from YAML text (dedented) into a temporary config folder."""

    def write(text: str, name: str = "test-env") -> Path:
        config_dir = tmp_path / "config"
        config_dir.mkdir(exist_ok=True)
        path = config_dir / f"{name}.yaml"
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def synth(tmp_path: Path) -> Callable[[Path], dict[str, Any]]:
    """Synthesize one environment file and return its stack as parsed JSON."""

    def run(path: Path) -> dict[str, Any]:
        outdir = tmp_path / "cdktf.out"
        shutil.rmtree(outdir, ignore_errors=True)
        return synthesize_files([path], outdir)[path.stem]

    return run


@pytest.fixture(scope="session")
def example_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every example environment in config/, synthesized once per test session."""
    outdir = tmp_path_factory.mktemp("examples") / "cdktf.out"
    return synthesize_files(sorted(EXAMPLES_DIR.glob("*.yaml")), outdir)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the slow child processes of the import path comparison now, if it is selected."""
    names = {getattr(item, "originalname", "") for item in session.items}
    if "test_fast_and_normal_imports_write_identical_files" in names:
        from tests.test_synth_process import start_import_path_synths

        start_import_path_synths()


def pytest_sessionfinish() -> None:
    from tests.test_synth_process import stop_import_path_synths

    stop_import_path_synths()
