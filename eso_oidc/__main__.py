"""Command line: `python -m eso_oidc COMMAND`. Synthesis itself runs through `main.py` (cdktf's app)."""

from __future__ import annotations

import argparse
import sys

from eso_oidc.discovery import add_discovery_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eso_oidc", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_discovery_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
