"""Helm values and ClusterSecretStore manifests that eso-oidc gives the External Secrets Operator.

Plain data only, so that the rules can be checked without synthesizing anything.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from eso_oidc.config.common import ExternalSecrets
from eso_oidc.config.yaml_source import FieldPath, yaml_text

STORE_KIND = "ClusterSecretStore"

# Annotations and labels through which a cloud's workload identity finds the operator's identity.
IDENTITY_ANNOTATIONS = (
    "eks.amazonaws.com/role-arn",
    "eks.amazonaws.com/audience",
    "azure.workload.identity/client-id",
    "azure.workload.identity/tenant-id",
    "iam.gke.io/gcp-service-account",
)
IDENTITY_POD_LABELS = ("azure.workload.identity/use",)


def parse_version(version: str) -> tuple[int, int, int]:
    """Return the numeric MAJOR.MINOR.PATCH of a chart version, ignoring any pre-release suffix."""
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    if not match:
        raise ValueError(f"{version!r} is not a chart version")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def store_api_version(chart_version: str) -> str:
    """Return the ClusterSecretStore API version that chart `chart_version` serves.

    `external-secrets.io/v1` arrived in 0.16.0 and 0.17.0 stopped serving `v1beta1`.
    """
    if parse_version(chart_version) < (0, 16, 0):
        return "external-secrets.io/v1beta1"
    return "external-secrets.io/v1"


def cluster_secret_store(name: str, chart_version: str, provider: dict[str, Any]) -> dict[str, Any]:
    """Return a ClusterSecretStore manifest for `provider` (the `spec.provider` mapping)."""
    return {
        "apiVersion": store_api_version(chart_version),
        "kind": STORE_KIND,
        "metadata": {"name": name},
        "spec": {"provider": provider},
    }


def service_account_ref(config: ExternalSecrets) -> dict[str, str]:
    """Return the store's reference to the operator's service account; cluster-scoped stores need the namespace."""
    return {"name": config.service_account, "namespace": config.namespace}


def operator_values(
    config: ExternalSecrets,
    *,
    service_account_annotations: dict[str, str],
    pod_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return the chart values: the computed ones with the config's extra values merged over them."""
    computed: dict[str, Any] = {
        "installCRDs": True,
        "serviceAccount": {
            "create": True,
            "name": config.service_account,
            "annotations": dict(service_account_annotations),
        },
    }
    if pod_labels:
        computed["podLabels"] = dict(pod_labels)
    return merge_values(computed, escape_templates(config.values))


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base`: mappings merge key by key, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def escape_templates(value: Any) -> Any:
    """Escape Terraform template sequences in user strings, so that `${...}` reaches Helm literally."""
    if isinstance(value, str):
        return value.replace("${", "$${").replace("%{", "%%{")
    if isinstance(value, dict):
        return {key: escape_templates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [escape_templates(item) for item in value]
    return value


def to_json(value: Any) -> str:
    """Serialize Helm values deterministically, readable in a plan."""
    return json.dumps(value, indent=2, sort_keys=True)


def check_extra_values(config: Any) -> list[tuple[FieldPath, str]]:
    """Return the extra Helm values that would break the trust, as (field path, message) pairs.

    A mapping replaced by null or by another type would drop the computed values inside it, so the
    mappings that hold identity settings must stay mappings.
    """
    values: dict[str, Any] = config.external_secrets.values
    base: FieldPath = ("external_secrets", "values")
    problems: list[tuple[FieldPath, str]] = []

    service_account = values.get("serviceAccount", {})
    if not isinstance(service_account, dict):
        problems.append(((*base, "serviceAccount"), _replaced_mapping_message(service_account)))
        service_account = {}
    if "name" in service_account:
        problems.append(
            ((*base, "serviceAccount", "name"), "is set from external_secrets.service_account; set it there and remove it here")
        )
    if "create" in service_account and service_account["create"] is not True:
        problems.append(
            (
                (*base, "serviceAccount", "create"),
                f"{yaml_text(service_account['create'])} would leave the trusted service account missing; remove it",
            )
        )
    annotations = service_account.get("annotations", {})
    if not isinstance(annotations, dict):
        problems.append(((*base, "serviceAccount", "annotations"), _replaced_mapping_message(annotations)))
        annotations = {}
    for key in sorted(set(annotations) & set(IDENTITY_ANNOTATIONS)):
        problems.append(
            ((*base, "serviceAccount", "annotations", key), "identity annotations are set by eso-oidc from the cloud's resources; remove it")
        )

    labels = values.get("podLabels", {})
    if not isinstance(labels, dict):
        problems.append(((*base, "podLabels"), _replaced_mapping_message(labels)))
        labels = {}
    for key in sorted(set(labels) & set(IDENTITY_POD_LABELS)):
        problems.append(((*base, "podLabels", key), "identity labels are set by eso-oidc; remove it"))

    if "namespaceOverride" in values:
        problems.append(((*base, "namespaceOverride"), "the namespace is external_secrets.namespace; set it there and remove it here"))
    if values.get("installCRDs", True) is not True:
        problems.append(((*base, "installCRDs"), "the ClusterSecretStores need the chart's CRDs; remove it"))
    crds = values.get("crds", {})
    if not isinstance(crds, dict):
        problems.append(((*base, "crds"), _replaced_mapping_message(crds, "the chart's CRD settings")))
    elif crds.get("createClusterSecretStore", True) is not True:
        problems.append(((*base, "crds", "createClusterSecretStore"), "the ClusterSecretStores need this CRD; remove it"))
    return problems


def _replaced_mapping_message(value: Any, contents: str = "the identity settings eso-oidc puts inside it") -> str:
    return (
        f"must be a mapping, got {yaml_text(value)}, which would drop {contents}; "
        "give a mapping of the keys you want to add, or remove it"
    )
