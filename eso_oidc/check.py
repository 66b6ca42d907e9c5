"""`python -m eso_oidc check`: validate environment files without synthesizing anything.

It runs the loader that `main.py` runs, so it accepts and rejects exactly what synthesis does, but
it imports no cdktf, jsii or provider package, which take seconds to load.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from eso_oidc.config.loader import (
    EnvironmentFile,
    collision_problems,
    config_dir_from_environment,
    find_environment_files,
    load_environment,
)
from eso_oidc.errors import ConfigError, Problem, display_path


def check_files(paths: list[Path]) -> tuple[list[str], list[Problem]]:
    """Validate `paths`; return the display names of the valid files and every problem, sorted.

    Besides the given files, the other environment files in their folders are read to find cloud
    resources or Terraform state that two files would share, so that checking one changed file still
    finds a collision with an unchanged one. Problems of those other files are not reported.
    """
    problems: list[Problem] = []
    checked: list[EnvironmentFile] = []
    for path in paths:
        if not path.is_file():
            problems.append(Problem(display_path(path), 0, "", "file not found"))
            continue
        result = load_environment(path)
        if isinstance(result, EnvironmentFile):
            checked.append(result)
        else:
            problems.extend(result)

    problems.extend(collisions_with_neighbours(paths, checked))

    checked_names = {display_path(path) for path in paths}
    problem_files = {problem.file for problem in problems}
    valid = [name for name in sorted(checked_names) if name not in problem_files]
    return valid, sorted(set(problems))


def collisions_with_neighbours(paths: list[Path], environments: list[EnvironmentFile]) -> list[Problem]:
    """Return the collisions of `environments`, loaded from `paths`, among them and with their neighbours.

    The neighbours are the other environment files in the folders of `paths`. They are read only to
    find a cloud resource or Terraform state that one of `environments` shares with them, so a
    neighbour that is invalid is skipped and no problem in a neighbour is returned. `check` and
    synthesis both call this, so that narrowing the selection to one file still finds collisions.
    """
    given_names = {display_path(path) for path in paths}
    neighbours = [result for result in _neighbour_environments(paths) if display_path(result.path) not in given_names]
    return [problem for problem in collision_problems(environments + neighbours) if problem.file in given_names]


def _neighbour_environments(paths: list[Path]) -> list[EnvironmentFile]:
    """Load the valid environment files that lie next to `paths` and are not among them."""
    given = {path.resolve() for path in paths}
    folders = sorted({path.resolve().parent for path in paths if path.is_file()})
    environments: list[EnvironmentFile] = []
    for folder in folders:
        for candidate in sorted(folder.iterdir()):
            if candidate.suffix not in (".yaml", ".yml") or not candidate.is_file() or candidate in given:
                continue
            result = load_environment(candidate)
            if isinstance(result, EnvironmentFile):
                environments.append(result)
    return environments


def run_check(files: list[str], out: TextIO = sys.stdout) -> int:
    """Check `files` (default: every environment file of `ESO_CONFIG_DIR`), print the result, return the exit status."""
    if files:
        paths = _expand(files)
    else:
        try:
            paths = find_environment_files(config_dir_from_environment())
        except ConfigError as error:
            print(error, file=out)
            return 1
    valid, problems = check_files(paths)
    for name in valid:
        print(f"{name}: ok", file=out)
    for problem in problems:
        print(problem, file=out)
    return 1 if problems else 0


def _expand(files: list[str]) -> list[Path]:
    """Turn the command's arguments into files; a folder stands for its environment files."""
    paths: list[Path] = []
    for name in files:
        path = Path(name)
        if path.is_dir():
            paths.extend(sorted(item for item in path.iterdir() if item.suffix in (".yaml", ".yml") and item.is_file()))
        else:
            paths.append(path)
    return list(dict.fromkeys(paths))


def add_check_command(subparsers: argparse._SubParsersAction) -> None:
    """Add `check` to the command line."""
    parser = subparsers.add_parser(
        "check",
        help="validate environment files without synthesizing",
        description="Validate environment files as synthesis does, without loading cdktf. Prints `FILE: ok` "
        "for each valid file and each problem as `FILE:LINE: FIELD: MESSAGE`. Exit status 1 when any "
        "file has a problem.",
    )
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="environment files or folders of them (default: every *.yaml in ESO_CONFIG_DIR, default `config`)",
    )
    parser.set_defaults(func=lambda args: run_check(args.files))
