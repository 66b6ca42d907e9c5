"""The README's configuration reference, generated from the settings models.

Every setting gets a row: its dotted path, type, default and the description from its model. The
text sits between two markers in README.md, so the rest of the README stays hand-written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import types
import typing
from dataclasses import dataclass
from typing import Any, Iterator, Literal

from pydantic import BaseModel, Tag
from pydantic.fields import FieldInfo

from eso_oidc.config.environment import Environment
from eso_oidc.config.models import ENVIRONMENT_MODELS
from eso_oidc.schema import PROJECT_DIR, field_default, write_or_check

README_PATH = PROJECT_DIR / "README.md"
BEGIN_MARKER = "<!-- BEGIN CONFIG REFERENCE -->"
END_MARKER = "<!-- END CONFIG REFERENCE -->"

_TYPE_NAMES = {str: "string", bool: "boolean", int: "integer", float: "number"}


@dataclass(frozen=True)
class Row:
    """One setting of the reference table."""

    path: str
    variant: str
    type: str
    default: str
    description: str


def reference_markdown() -> str:
    """Return the reference: a table of the settings of every environment, then one per cloud."""
    clouds = sorted(ENVIRONMENT_MODELS)
    common = [name for name in Environment.model_fields if name != "cloud"]
    sections = [
        "Generated from the settings models by `python -m eso_oidc docs --write`; edit the models, not this "
        "table. Editors read the same rules from `schema/environment.schema.json`.",
        "",
        "### Every environment",
        "",
        *_table(
            [
                Row("cloud", "", f"one of {', '.join(f'`{cloud}`' for cloud in clouds)}", "required",
                    "Cloud that holds the secrets; decides which other settings exist."),
                *(row for name in common for row in _field_rows(name, Environment.model_fields[name])),
            ]
        ),
    ]
    for cloud in clouds:
        model = ENVIRONMENT_MODELS[cloud]
        own = [name for name in model.model_fields if name not in Environment.model_fields]
        sections += [
            "",
            f"### `cloud: {cloud}`",
            "",
            _inline(model.__doc__ or ""),
            "",
            *_table([row for name in own for row in _field_rows(name, model.model_fields[name])]),
        ]
    return "\n".join(sections) + "\n"


def updated_readme(readme: str, reference: str) -> str:
    """Return `readme` with the text between the markers replaced by `reference`."""
    pattern = re.compile(re.escape(BEGIN_MARKER) + r".*?" + re.escape(END_MARKER), re.DOTALL)
    if not pattern.search(readme):
        raise ValueError(f"README.md has no {BEGIN_MARKER} ... {END_MARKER} markers; add them where the reference goes")
    return pattern.sub(lambda _: f"{BEGIN_MARKER}\n{reference}{END_MARKER}", readme, count=1)


def _table(rows: list[Row]) -> list[str]:
    lines = ["| Setting | Type | Default | Description |", "|---|---|---|---|"]
    for row in rows:
        path = f"`{row.path}`" + (f" ({row.variant})" if row.variant else "")
        lines.append(f"| {path} | {_cell(row.type)} | {_cell(row.default)} | {_cell(row.description)} |")
    return lines


def _field_rows(path: str, field: FieldInfo, variant: str = "") -> Iterator[Row]:
    annotation = field.annotation
    variants = _tagged_models(annotation)
    if variants:
        forms = ", ".join(tag for tag, _ in variants)
        description = _inline(field.description or "")
        yield Row(path, variant, _type_name(annotation), _default_text(field), f"{description} Forms, marked in the rows below: {forms}.")
        for tag, model in variants:
            yield from _model_rows(path, model, tag)
        return
    yield Row(path, variant, _type_name(annotation), _default_text(field), _inline(field.description or ""))
    model = _single_model(annotation)
    if model is not None:
        suffix = "[]" if _is_list(annotation) else ""
        yield from _model_rows(path + suffix, model, variant)


def _model_rows(prefix: str, model: type[BaseModel], variant: str) -> Iterator[Row]:
    for name, field in model.model_fields.items():
        yield from _field_rows(f"{prefix}.{name}", field, variant)


def _default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    has_default, value = field_default(field)
    if not has_default:
        return ""
    if value is None:
        return "unset"
    if isinstance(value, dict) and value and _single_model(field.annotation) is not None:
        return "see below"
    return f"`{json.dumps(value) if not isinstance(value, str) else value}`"


def _type_name(annotation: Any) -> str:
    annotation = _strip_annotated(annotation)
    origin = typing.get_origin(annotation)
    arguments = [argument for argument in typing.get_args(annotation) if argument is not type(None)]
    if origin is Literal:
        return "one of " + ", ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin is list:
        return f"list of {_plural(_type_name(arguments[0]))}"
    if origin is dict:
        value_type = _type_name(arguments[1])
        return "mapping" if value_type == "any" else f"mapping of string to {value_type}"
    if origin in (typing.Union, types.UnionType):
        names = list(dict.fromkeys(_type_name(argument) for argument in arguments))
        return " or ".join(names)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    for base, name in _TYPE_NAMES.items():
        if isinstance(annotation, type) and issubclass(annotation, base):
            return name
    return "any"


def _plural(name: str) -> str:
    return {"mapping": "mappings"}.get(name, name + "s" if name in ("string", "integer", "boolean", "number") else name)


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _tagged_models(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """Return the (tag, model) members of a union that picks its model by a tag, as `cluster` does."""
    union = _strip_annotated(annotation)
    tagged: list[tuple[str, type[BaseModel]]] = []
    for member in typing.get_args(union):
        if typing.get_origin(member) is not typing.Annotated:
            continue
        model, *metadata = typing.get_args(member)
        tags = [item.tag for item in metadata if isinstance(item, Tag)]
        if tags and isinstance(model, type) and issubclass(model, BaseModel):
            tagged.append((tags[0], model))
    return tagged


def _single_model(annotation: Any) -> type[BaseModel] | None:
    annotation = _strip_annotated(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models = [
        argument
        for argument in (_strip_annotated(item) for item in typing.get_args(annotation))
        if isinstance(argument, type) and issubclass(argument, BaseModel)
    ]
    return models[0] if len(models) == 1 else None


def _is_list(annotation: Any) -> bool:
    return typing.get_origin(_strip_annotated(annotation)) is list


def _inline(text: str) -> str:
    return " ".join(text.split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def add_docs_command(subparsers: argparse._SubParsersAction) -> None:
    """Add `docs` to the command line."""
    parser = subparsers.add_parser(
        "docs",
        help="print or write the README's configuration reference",
        description="Print the configuration reference generated from the settings models; --write replaces "
        f"the text between {BEGIN_MARKER} and {END_MARKER} in README.md, --check fails when it is stale.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="update README.md")
    mode.add_argument("--check", action="store_true", help="exit 1 when README.md's reference differs from the models")
    parser.set_defaults(func=_run_docs)


def _run_docs(args: argparse.Namespace) -> int:
    reference = reference_markdown()
    if not (args.write or args.check):
        return write_or_check(README_PATH, reference, write=False, check=False, command="docs")
    readme = README_PATH.read_text(encoding="utf-8") if README_PATH.is_file() else ""
    try:
        text = updated_readme(readme, reference)
    except ValueError as error:
        print(f"eso-oidc: {error}", file=sys.stderr)
        return 1
    if args.check:
        return write_or_check(README_PATH, text, write=False, check=True, command="docs")
    return write_or_check(README_PATH, text, write=True, check=False, command="docs")
