"""Shared fixtures: synthesizing environment files in this process, once per environment."""

from __future__ import annotations

import json
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from eso_oidc.app import silence_node_20_warning
from eso_oidc.config import EnvironmentFile
from tests.terraform_cli import (
    MIRROR_VARIABLE,
    Mirror,
    cli_environment,
    find_mirror,
    find_terraform,
    mirror_candidates,
    write_cli_config,
)

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


def example_paths() -> list[Path]:
    """Return the example environment files in config/, sorted."""
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


@pytest.fixture(scope="session")
def example_outdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cdktf.out folder of every example environment in config/, synthesized once per test session."""
    outdir = tmp_path_factory.mktemp("examples") / "cdktf.out"
    synthesize_files(example_paths(), outdir)
    return outdir


@pytest.fixture(scope="session")
def example_stacks(example_outdir: Path) -> dict[str, dict[str, Any]]:
    """Every example environment's stack, parsed, by name."""
    return {
        path.stem: json.loads((example_outdir / "stacks" / path.stem / "cdk.tf.json").read_text())
        for path in example_paths()
    }


@pytest.fixture(scope="session")
def example_environments() -> dict[str, EnvironmentFile]:
    """Every example environment file in config/, validated, by name."""
    from eso_oidc.config import load_environments

    return {environment.name: environment for environment in load_environments(example_paths())}


@dataclass(frozen=True)
class TerraformToolchain:
    """The Terraform binary, the provider mirror and a CLI configuration that uses only that mirror."""

    terraform: str
    mirror: Mirror
    cli_config: Path

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return cli_environment(self.cli_config, extra)


@pytest.fixture(scope="session")
def terraform_toolchain(tmp_path_factory: pytest.TempPathFactory) -> TerraformToolchain:
    """Terraform with a mirror of at least one provider, or a skip naming what is missing."""
    terraform = find_terraform()
    if terraform is None:
        pytest.skip("terraform not found on PATH")
    mirror = find_mirror()
    if not mirror.providers:
        searched = ", ".join(str(path) for path in mirror_candidates())
        pytest.skip(f"no Terraform provider mirror found in {searched}; set {MIRROR_VARIABLE} to one")
    cli_config = write_cli_config(tmp_path_factory.mktemp("terraform-cli"), mirror)
    return TerraformToolchain(terraform, mirror, cli_config)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the slow child processes of the import path comparison now, if it is selected."""
    names = {getattr(item, "originalname", "") for item in session.items}
    if "test_fast_and_normal_imports_write_identical_files" in names:
        from tests.test_synth_process import start_import_path_synths

        start_import_path_synths()


def pytest_sessionfinish() -> None:
    from tests.test_synth_process import stop_import_path_synths

    stop_import_path_synths()
