"""The committed JSON Schema and README reference match the models, and the examples use them."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from eso_oidc.config.models import ENVIRONMENT_MODELS
from eso_oidc.reference import BEGIN_MARKER, END_MARKER, README_PATH, reference_markdown, updated_readme
from eso_oidc.schema import SCHEMA_PATH, environment_schema, schema_text
from tests.conftest import EXAMPLES_DIR

SCHEMA_LINE = "# yaml-language-server: $schema=../schema/environment.schema.json"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_current():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "schema/environment.schema.json is stale; run `python -m eso_oidc schema --write`"
    )


def test_readme_reference_is_current():
    readme = README_PATH.read_text(encoding="utf-8")

    assert updated_readme(readme, reference_markdown()) == readme, (
        "README.md's configuration reference is stale; run `python -m eso_oidc docs --write`"
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_names_schema_first(path):
    first_line = path.read_text(encoding="utf-8").splitlines()[0]

    assert first_line == SCHEMA_LINE, f"make this the first line of {path.name}: {SCHEMA_LINE}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_valid_against_schema(path, validator):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    errors = [f"{'.'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(data)]

    assert errors == []


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"aws": {"region": "eu-central-1", "role_nme": "x"}}, ["aws"]),
        ({"external_secrets": {"namespace": "External"}}, ["external_secrets", "namespace"]),
        ({"aws": {"region": "Frankfurt"}}, ["aws", "region"]),
        ({"cluster": {"name": "dev-eks", "issuer_url": "http://oidc.example.com"}}, ["cluster"]),
        ({"cloud": "alibaba"}, ["cloud"]),
    ],
    ids=["unknown-key", "kubernetes-name", "region", "http-issuer", "unknown-cloud"],
)
def test_schema_rejects_what_loader_rejects(change, path, validator):
    data = {"cloud": "aws", "cluster": {"name": "dev-eks"}, "aws": {"region": "eu-central-1"}, **change}

    paths = [list(error.absolute_path) for error in _leaf_errors(validator.iter_errors(data))]

    assert paths != []
    assert any(error_path[: len(path)] == path for error_path in paths)


def _leaf_errors(errors):
    """Yield the innermost errors: a failed `oneOf` reports its members' errors in `context`."""
    for error in errors:
        if error.context:
            yield from _leaf_errors(error.context)
        else:
            yield error


def test_schema_offers_every_cloud():
    schema = environment_schema()

    assert schema["properties"]["cloud"]["enum"] == sorted(ENVIRONMENT_MODELS)
    assert sorted(schema["discriminator"]["mapping"]) == sorted(ENVIRONMENT_MODELS)
    assert len(schema["oneOf"]) == len(ENVIRONMENT_MODELS)


def test_schema_describes_every_setting():
    undescribed = [
        f"{name}.{field}"
        for name, definition in environment_schema()["$defs"].items()
        for field, schema in definition.get("properties", {}).items()
        if not schema.get("description")
    ]

    assert undescribed == []


def test_schema_has_factory_defaults():
    definitions = environment_schema()["$defs"]

    assert definitions["ExternalSecrets"]["properties"]["values"]["default"] == {}
    assert definitions["AwsSettings"]["properties"]["parameter_store"]["default"] == {"paths": []}


def test_reference_lists_every_setting():
    reference = reference_markdown()

    for cloud, model in ENVIRONMENT_MODELS.items():
        assert f"### `cloud: {cloud}`" in reference
        for name in model.model_fields:
            assert f"| `{name}`" in reference, name
    assert "| `aws.parameter_store.paths` | list of strings | `[]` |" in reference
    assert "| `cluster.discovery.publish` (self-managed) | one of `s3`, `azure_blob`, `gcs`, `none` | required |" in reference
    assert "| `backend` | mapping | unset |" in reference


def test_readme_without_markers_rejected():
    with pytest.raises(ValueError) as raised:
        updated_readme("# eso-oidc\n", "text\n")

    assert str(raised.value) == (
        f"README.md has no {BEGIN_MARKER} ... {END_MARKER} markers; add them where the reference goes"
    )


def test_readme_text_outside_markers_kept():
    readme = f"# Title\n\nintro\n\n{BEGIN_MARKER}\nold\n{END_MARKER}\n\n## After\n"

    assert updated_readme(readme, "new\n") == f"# Title\n\nintro\n\n{BEGIN_MARKER}\nnew\n{END_MARKER}\n\n## After\n"
