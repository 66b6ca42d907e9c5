"""The cdktf app: validate every selected environment file, then synthesize one stack per file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from eso_oidc.config import (
    EnvironmentFile,
    config_dir_from_environment,
    find_environment_files,
    load_environments,
    selected_names_from_environment,
)
from eso_oidc.check import collisions_with_neighbours
from eso_oidc.errors import ConfigError

DEFAULT_OUTDIR = "cdktf.out"

# jsii 1.142 prints a banner on every run under a Node release past its support date (Node 20 since
# 2026-10-30) unless the major version is listed here, comma-separated. Listing 20 silences only
# that release. A supported Node (22, 24) prints nothing anyway, and an older one still warns.
# jsii runs the `node` on PATH, or the one that JSII_NODE names.
NODE_WARNING_VARIABLE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
SILENCED_NODE_MAJOR = "20"


def load_selected_environments() -> list[EnvironmentFile]:
    """Load the environments that `ESO_CONFIG_DIR` and `ESO_ENVIRONMENTS` select.

    When `ESO_ENVIRONMENTS` narrows the selection, the other files of the folder are still read, as
    `check` reads them, to find cloud resources or Terraform state that a selected file shares with
    them. Their own problems are not reported.
    """
    paths = find_environment_files(config_dir_from_environment(), selected_names_from_environment())
    environments = load_environments(paths)
    collisions = collisions_with_neighbours(paths, environments)
    if collisions:
        raise ConfigError(collisions)
    return environments


def synthesize(environments: list[EnvironmentFile], outdir: Path) -> None:
    """Build every stack, then write them all to `outdir`.

    Nothing is written until every stack has been built, so a failure leaves `outdir` as it was.
    """
    import eso_oidc.constructs  # noqa: F401  (registers the provider packages cheaply first)
    from cdktf import App

    from eso_oidc.stack import EnvironmentStack

    app = App(outdir=str(outdir), stack_traces=False)
    for environment in environments:
        EnvironmentStack(app, environment.name, config=environment)
    app.synth()


def silence_node_20_warning() -> None:
    """Add Node 20 to the releases whose end-of-life banner jsii leaves out, keeping any listed."""
    listed = [major.strip() for major in os.environ.get(NODE_WARNING_VARIABLE, "").split(",") if major.strip()]
    if SILENCED_NODE_MAJOR not in listed:
        os.environ[NODE_WARNING_VARIABLE] = ",".join([*listed, SILENCED_NODE_MAJOR])


def main() -> int:
    """Run the app as cdktf does; return the exit status."""
    silence_node_20_warning()
    try:
        environments = load_selected_environments()
    except ConfigError as error:
        print(f"eso-oidc: invalid environment files, nothing was synthesized:\n{error}", file=sys.stderr)
        return 1
    outdir = Path(os.environ.get("CDKTF_OUTDIR") or DEFAULT_OUTDIR)
    synthesize(environments, outdir)
    names = ", ".join(environment.name for environment in environments)
    print(f"eso-oidc: synthesized {names} into {outdir}/stacks/", flush=True)
    return 0
