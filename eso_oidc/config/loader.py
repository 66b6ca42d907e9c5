"""Load environment files: read, validate every file completely, and report all problems at once."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from eso_oidc.config.conflicts import EnvironmentResources, cloud_resources, find_collisions
from eso_oidc.config.credentials import find_credentials
from eso_oidc.config.cluster import SelfManagedCluster, check_self_managed
from eso_oidc.config.environment import CLOUDS, CLUSTER_TYPES, Environment
from eso_oidc.config.models import ENVIRONMENT_MODELS
from eso_oidc.config.yaml_source import Document, FieldPath, format_field_path, read_document, yaml_text
from eso_oidc.errors import ConfigError, Problem, display_path

DEFAULT_CONFIG_DIR = "config"
_STACK_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")


@dataclass(frozen=True)
class EnvironmentFile:
    """A validated environment: its name (the file stem, also the stack name), file and settings.

    `lines` maps each field path to its 1-based line in the file.
    """

    name: str
    path: Path
    config: Environment
    lines: dict[FieldPath, int] = field(default_factory=dict, compare=False, repr=False)


def config_dir_from_environment() -> Path:
    """Return the folder of environment files: `ESO_CONFIG_DIR`, or `config`."""
    return Path(os.environ.get("ESO_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


def selected_names_from_environment() -> list[str] | None:
    """Return the names listed in `ESO_ENVIRONMENTS` (comma-separated), or None for all."""
    raw = os.environ.get("ESO_ENVIRONMENTS", "").strip()
    if not raw:
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        raise ConfigError(
            [Problem("ESO_ENVIRONMENTS", 0, "", f"{raw!r} names no environment; list file stems separated by commas, or unset it")]
        )
    return names


def find_environment_files(config_dir: Path, names: list[str] | None = None) -> list[Path]:
    """List the environment files of `config_dir`, sorted, limited to `names` when given."""
    if not config_dir.is_dir():
        raise ConfigError([Problem(str(config_dir), 0, "", "folder of environment files not found; set ESO_CONFIG_DIR")])
    paths = sorted(
        path
        for path in config_dir.iterdir()
        if path.suffix in (".yaml", ".yml") and not path.name.startswith(".") and path.is_file()
    )
    stems = [path.stem for path in paths]
    duplicates = sorted({stem for stem in stems if stems.count(stem) > 1})
    if duplicates:
        raise ConfigError(
            [Problem(display_path(config_dir / f"{stem}.yaml"), 0, "", f"both {stem}.yaml and {stem}.yml exist; keep one") for stem in duplicates]
        )
    if names is None:
        if not paths:
            raise ConfigError([Problem(str(config_dir), 0, "", "no environment files (*.yaml) found")])
        return paths
    by_stem = dict(zip(stems, paths))
    unknown = [name for name in names if name not in by_stem]
    if unknown:
        available = ", ".join(stems) or "none"
        raise ConfigError(
            [Problem("ESO_ENVIRONMENTS", 0, "", f"environment {name!r} not found in {config_dir}; available: {available}") for name in unknown]
        )
    return [by_stem[name] for name in dict.fromkeys(names)]


def load_environments(paths: list[Path]) -> list[EnvironmentFile]:
    """Validate every file in `paths`; raise ConfigError with all problems of all files if any."""
    problems: list[Problem] = []
    environments: list[EnvironmentFile] = []
    for path in paths:
        result = load_environment(path)
        if isinstance(result, EnvironmentFile):
            environments.append(result)
        else:
            problems.extend(result)
    problems.extend(collision_problems(environments))
    if problems:
        raise ConfigError(problems)
    return environments


def collision_problems(environments: list[EnvironmentFile]) -> list[Problem]:
    """Return a problem in each file that would create a cloud resource another file creates too."""
    resources = [
        EnvironmentResources(display_path(environment.path), cloud_resources(environment.config), environment.lines)
        for environment in environments
    ]
    return [Problem(*collision) for collision in find_collisions(resources)]


def load_environment(path: Path) -> EnvironmentFile | list[Problem]:
    """Validate one environment file, returning it or its problems."""
    document = read_document(path)
    if isinstance(document, Problem):
        return [document]
    credentials = [document.problem(field_path, message) for field_path, message in find_credentials(document.data)]
    result = _validate(path, document)
    if not credentials:
        return result
    # A credential under an unknown key would also be reported as unknown; the credential matters more.
    others = [] if isinstance(result, EnvironmentFile) else [p for p in result if not _below_any(p, credentials)]
    return credentials + others


def _below_any(problem: Problem, credentials: list[Problem]) -> bool:
    return any(
        problem.field == credential.field or problem.field.startswith((f"{credential.field}.", f"{credential.field}["))
        for credential in credentials
    )


def _validate(path: Path, document: Document) -> EnvironmentFile | list[Problem]:
    if not _STACK_NAME.fullmatch(path.stem):
        return [
            Problem(
                document.name, 0, "",
                f"file name {path.stem!r} cannot be a stack name; use letters, digits, '-' and '_'",
            )
        ]
    model = _choose_model(document)
    if isinstance(model, Problem):
        return [model]
    try:
        config = model.model_validate(document.data)
    except ValidationError as error:
        return [_to_problem(document, model, detail) for detail in error.errors()]
    environment = EnvironmentFile(name=path.stem, path=path, config=config, lines=document.lines)
    problems = [document.problem(field_path, message) for field_path, message in _semantic_checks(environment)]
    return problems or environment


def _choose_model(document: Document) -> type[Environment] | Problem:
    cloud = document.data.get("cloud")
    if cloud is None:
        return document.problem((), f"required setting `cloud` is missing; set it to one of: {', '.join(CLOUDS)}")
    if cloud not in ENVIRONMENT_MODELS:
        supported = ", ".join(sorted(ENVIRONMENT_MODELS))
        return document.problem(("cloud",), f"{cloud!r} is not a supported cloud; use one of: {supported}")
    for other in CLOUDS:
        if other != cloud and other in document.data:
            return document.problem(
                (other,),
                f"this section is for cloud: {other}, but the file says cloud: {cloud}; "
                f"rename it to `{cloud}` or change `cloud`",
            )
    return ENVIRONMENT_MODELS[cloud]


def _semantic_checks(environment: EnvironmentFile) -> list[tuple[FieldPath, str]]:
    """Return checks that span several fields, as (field path, message) pairs."""
    from eso_oidc.eso import check_extra_values

    config = environment.config
    problems = check_extra_values(config) + config.cross_section_problems()
    if isinstance(config.cluster, SelfManagedCluster):  # type: ignore[attr-defined]
        aws = getattr(config, "aws", None)
        problems += check_self_managed(
            config.cluster,  # type: ignore[attr-defined]
            config.cloud,
            aws.region if aws is not None else None,
            environment.path,
        )
    return problems


def _to_problem(document: Document, model: type[BaseModel], detail: dict[str, Any]) -> Problem:
    field_path = _clean_location(detail["loc"])
    if detail["type"] == "union_tag_invalid":
        # The only tagged union is `cluster`, whose tag is `cluster.type`: point at that key.
        field_path = (*field_path, "type")
    return document.problem(field_path, _message(model, field_path, detail))


def _clean_location(location: tuple[Any, ...]) -> FieldPath:
    """Drop the union tags pydantic inserts into error locations (`cluster.managed.name`)."""
    parts = list(location)
    if len(parts) > 1 and parts[0] == "cluster" and parts[1] in CLUSTER_TYPES:
        del parts[1]
    return tuple(part for part in parts if isinstance(part, (str, int)))


def _message(model: type[BaseModel], field_path: FieldPath, detail: dict[str, Any]) -> str:
    kind = detail["type"]
    value = detail.get("input")
    if kind == "extra_forbidden":
        key = field_path[-1]
        allowed = _allowed_keys(model, field_path[:-1])
        hint = ""
        close = difflib.get_close_matches(str(key), allowed, n=1)
        if close:
            hint = f"; did you mean `{close[0]}`?"
        elif allowed:
            hint = f"; allowed: {', '.join(allowed)}"
        parent = format_field_path(field_path[:-1])
        if not parent:
            return f"`{key}` is not a top-level setting{hint}"
        return f"`{key}` is not a setting of `{parent}`{hint}"
    if kind == "missing":
        return "required setting is missing"
    if kind == "value_error":
        return str(detail["msg"]).removeprefix("Value error, ")
    if kind == "literal_error":
        expected = detail.get("ctx", {}).get("expected", "")
        return f"{value!r} is not allowed; use {expected}"
    if kind == "union_tag_invalid":
        return f"cluster type {detail.get('ctx', {}).get('tag')!r} is not supported; use self-managed, or leave `type` out for a managed cluster"
    if kind in ("string_type", "bool_type", "int_type", "dict_type", "list_type", "model_type", "float_type"):
        expected = {
            "string_type": "a string (quote numbers, dates and yes/no in YAML)",
            "bool_type": "true or false",
            "int_type": "a whole number",
            "float_type": "a number",
            "dict_type": "a mapping",
            "model_type": "a mapping",
            "list_type": "a list",
        }[kind]
        return f"expected {expected}, got {_describe(value)}"
    return f"{detail['msg']} (got {_describe(value)})"


def _describe(value: Any) -> str:
    kinds = {bool: "boolean", int: "number", float: "number", str: "string", list: "list", dict: "mapping", type(None): "null"}
    kind = kinds.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)) or value is None:
        return kind
    return f"{kind} {yaml_text(value)}"


def _allowed_keys(model: type[BaseModel], field_path: FieldPath) -> list[str]:
    """Return the setting names of the model found at `field_path`, or [] when it is not a model."""
    current: Any = model
    for part in field_path:
        if isinstance(part, int):
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_of(field.annotation)
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()) or ():
        found = _model_of(argument)
        if found is not None:
            return found
    metadata = getattr(annotation, "__origin__", None)
    if metadata is not None:
        return _model_of(metadata)
    return None
