"""The JSON Schema of environment files, generated from the settings models.

Editors with the YAML language server read it through the first line of each environment file,
`# yaml-language-server: $schema=../schema/environment.schema.json`, to complete and flag settings.
The schema mirrors the models' types, patterns, defaults and descriptions. The loader stays the
authority: it also rejects what a schema cannot express (credentials, refused Helm values, two files
creating one resource).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.json_schema import models_json_schema
from pydantic_core import PydanticUndefined, to_jsonable_python

from eso_oidc.config.models import ENVIRONMENT_MODELS
from eso_oidc.errors import display_path

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCHEMA_PATH = PROJECT_DIR / "schema" / "environment.schema.json"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def field_default(field: FieldInfo) -> tuple[bool, Any]:
    """Return whether `field` has a default, and that default as JSON data (factories are called)."""
    if field.default is not PydanticUndefined:
        return True, to_jsonable_python(field.default)
    if field.default_factory is not None and not field.default_factory_takes_validated_data:
        value = field.default_factory()  # type: ignore[call-arg]
        return True, to_jsonable_python(value.model_dump(mode="json") if isinstance(value, BaseModel) else value)
    return False, None


def environment_schema() -> dict[str, Any]:
    """Return the JSON Schema of an environment file: one of the models, chosen by `cloud`."""
    models = [ENVIRONMENT_MODELS[cloud] for cloud in sorted(ENVIRONMENT_MODELS)]
    references, definitions = models_json_schema([(model, "validation") for model in models])
    defs: dict[str, Any] = definitions.get("$defs", {})
    for model in _reachable_models(models):
        _add_factory_defaults(model, defs.get(model.__name__))
    _drop_property_titles(defs)
    mapping = {cloud: references[(ENVIRONMENT_MODELS[cloud], "validation")]["$ref"] for cloud in sorted(ENVIRONMENT_MODELS)}
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "eso-oidc environment file",
        "description": "One environment: a Kubernetes cluster, the cloud that holds its secrets and the External "
        "Secrets Operator release. Generated from the settings models by `python -m eso_oidc schema --write`.",
        "type": "object",
        "required": ["cloud"],
        "properties": {
            "cloud": {"description": "Cloud that holds the secrets; decides which other settings exist.", "enum": sorted(ENVIRONMENT_MODELS)}
        },
        "oneOf": [{"$ref": reference} for reference in mapping.values()],
        "discriminator": {"propertyName": "cloud", "mapping": mapping},
        "$defs": defs,
    }


def schema_text() -> str:
    """Return the schema as it is committed: indented, keys in model order, ending in a newline."""
    return json.dumps(environment_schema(), indent=2, ensure_ascii=False) + "\n"


def _reachable_models(models: list[type[BaseModel]]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    pending = list(models)
    while pending:
        model = pending.pop()
        if model.__name__ in found:
            continue
        found[model.__name__] = model
        for field in model.model_fields.values():
            pending.extend(_models_in(field.annotation))
    return [found[name] for name in sorted(found)]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in getattr(annotation, "__args__", ()) or ():
        found.extend(_models_in(argument))
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and not getattr(annotation, "__args__", None):
        found.extend(_models_in(origin))
    return found


def _add_factory_defaults(model: type[BaseModel], definition: dict[str, Any] | None) -> None:
    """Add the defaults that pydantic leaves out because a factory makes them."""
    if definition is None:
        return
    properties = definition.get("properties", {})
    for name, field in model.model_fields.items():
        schema = properties.get(field.alias or name)
        if schema is None or "default" in schema or field.default_factory is None:
            continue
        has_default, value = field_default(field)
        if has_default:
            schema["default"] = value


def _drop_property_titles(defs: dict[str, Any]) -> None:
    """Remove the titles pydantic derives from field names ("Role Name"); descriptions explain more."""
    for definition in defs.values():
        for schema in definition.get("properties", {}).values():
            schema.pop("title", None)


def add_schema_command(subparsers: argparse._SubParsersAction) -> None:
    """Add `schema` to the command line."""
    parser = subparsers.add_parser(
        "schema",
        help="print or write the JSON Schema of environment files",
        description="Print the JSON Schema of environment files, generated from the settings models; "
        "--write stores it in schema/environment.schema.json, --check fails when that file is stale.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write schema/environment.schema.json")
    mode.add_argument("--check", action="store_true", help="exit 1 when the committed schema differs from the models")
    parser.set_defaults(func=_run_schema)


def _run_schema(args: argparse.Namespace) -> int:
    return write_or_check(SCHEMA_PATH, schema_text(), write=args.write, check=args.check, command="schema")


def write_or_check(path: Path, text: str, *, write: bool, check: bool, command: str) -> int:
    """Print `text`, write it to `path`, or compare it with `path`; return the exit status."""
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {display_path(path)}", file=sys.stderr)
        return 0
    if check:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != text:
            print(f"{display_path(path)} is stale; run `python -m eso_oidc {command} --write` and commit it", file=sys.stderr)
            return 1
        print(f"{display_path(path)}: up to date", file=sys.stderr)
        return 0
    sys.stdout.write(text)
    return 0
