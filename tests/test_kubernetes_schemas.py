"""The Kubernetes objects in every example stack match the project's schemas of the fields it emits.

`tests/schemas/` contains hand-written JSON schemas with `additionalProperties: false` at every level,
so a misspelled key in a ClusterSecretStore or in the operator's Helm values fails here instead of
being ignored by the cluster.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import example_paths

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
EXAMPLE_NAMES = [path.stem for path in example_paths()]


def _validator(file_name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / file_name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


STORE_SCHEMA = _validator("cluster-secret-store.schema.json")
VALUES_SCHEMA = _validator("operator-values.schema.json")


def _errors(validator: Draft202012Validator, document: Any) -> list[str]:
    return [
        f"{'.'.join(str(part) for part in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def _releases(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return stack.get("resource", {}).get("helm_release", {})


def store_manifests(stack: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the ClusterSecretStores of the stack's store release, from its `values` JSON."""
    stores = []
    for name, release in sorted(_releases(stack).items()):
        if name.endswith("_stores"):
            for values in release["values"]:
                stores.extend(json.loads(values)["stores"])
    return stores


def operator_values(stack: dict[str, Any]) -> dict[str, Any]:
    """Return the values of the stack's external-secrets release."""
    (release,) = [release for release in _releases(stack).values() if release["chart"] == "external-secrets"]
    (values,) = release["values"]
    return json.loads(values)


def without_user_values(values: dict[str, Any], user_values: dict[str, Any]) -> dict[str, Any]:
    """Return `values` without the keys the user set, which the chart validates, not this project."""
    result = copy.deepcopy(values)
    for key, user_value in user_values.items():
        remaining = None
        if isinstance(user_value, dict) and isinstance(result.get(key), dict):
            remaining = without_user_values(result[key], user_value)
        if remaining:
            result[key] = remaining
        else:
            # A mapping left empty contained only user keys.
            result.pop(key, None)
    return result


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_store_manifests_match_schema(name, example_stacks):
    stores = store_manifests(example_stacks[name])

    assert stores, f"{name} renders no ClusterSecretStore"
    for store in stores:
        assert _errors(STORE_SCHEMA, store) == [], store["metadata"]["name"]


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_operator_values_match_schema(name, example_stacks, example_environments):
    user_values = example_environments[name].config.external_secrets.values

    values = without_user_values(operator_values(example_stacks[name]), user_values)

    assert _errors(VALUES_SCHEMA, values) == []


def test_store_schema_rejects_misspelled_key(example_stacks):
    for name, stack in example_stacks.items():
        store = copy.deepcopy(store_manifests(stack)[0])
        provider = next(iter(store["spec"]["provider"].values()))
        provider["regoin"] = "eu-central-1"

        assert any("regoin" in error for error in _errors(STORE_SCHEMA, store)), name


def test_store_schema_rejects_missing_namespace():
    store = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ClusterSecretStore",
        "metadata": {"name": "aws-parameter-store"},
        "spec": {
            "provider": {
                "aws": {"service": "ParameterStore", "region": "eu-central-1", "auth": {"jwt": {"serviceAccountRef": {"name": "eso"}}}}
            }
        },
    }

    assert _errors(STORE_SCHEMA, store) == [
        "spec.provider.aws.auth.jwt.serviceAccountRef: 'namespace' is a required property"
    ]


def test_values_schema_rejects_misspelled_annotation(example_stacks, example_environments):
    for name, stack in example_stacks.items():
        values = without_user_values(operator_values(stack), example_environments[name].config.external_secrets.values)
        values["serviceAccount"]["annotations"]["eks.amazonaws.com/rolearn"] = "arn"

        assert any("rolearn" in error for error in _errors(VALUES_SCHEMA, values)), name


def test_without_user_values_keeps_computed_keys():
    values = {"installCRDs": True, "replicaCount": 2, "serviceAccount": {"name": "eso", "extraLabels": {"a": "b"}}}

    remaining = without_user_values(values, {"replicaCount": 2, "serviceAccount": {"extraLabels": {"a": "b"}}})

    assert remaining == {"installCRDs": True, "serviceAccount": {"name": "eso"}}
