"""Command line: `python -m eso_oidc COMMAND`. Synthesis itself runs through `main.py` (cdktf's app)."""

from __future__ import annotations

import argparse
import sys

from eso_oidc.check import add_check_command
from eso_oidc.discovery import add_discovery_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eso_oidc", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_check_command(commands)
    add_discovery_command(commands)
    add_schema_command(commands)
    add_docs_command(commands)
    return parser


def add_schema_command(commands: argparse._SubParsersAction) -> None:
    """Add `schema`, importing its module only when it runs, because `check` must start fast."""
    from eso_oidc.schema import add_schema_command as add

    add(commands)


def add_docs_command(commands: argparse._SubParsersAction) -> None:
    from eso_oidc.reference import add_docs_command as add

    add(commands)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
