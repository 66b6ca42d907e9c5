"""Environment files: their model, and loading them with errors that point into the YAML."""

from eso_oidc.config.loader import (
    EnvironmentFile,
    config_dir_from_environment,
    find_environment_files,
    load_environments,
    selected_names_from_environment,
)

__all__ = [
    "EnvironmentFile",
    "config_dir_from_environment",
    "find_environment_files",
    "load_environments",
    "selected_names_from_environment",
]
