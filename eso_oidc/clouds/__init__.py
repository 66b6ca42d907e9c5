"""Per-cloud wiring of a stack: providers, cluster lookup, trust construct, stores and outputs.

`eso_oidc.stack` imports only the module of the environment's cloud, so that a stack loads only the
provider bindings it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eso_oidc.config.common import Kubeconfig

CLOUD_MODULES = {
    "aws": "eso_oidc.clouds.aws",
    "azure": "eso_oidc.clouds.azure",
    "gcp": "eso_oidc.clouds.gcp",
}


@dataclass(frozen=True)
class CloudWiring:
    """The results of a cloud module's `build`, which the stack passes on to Helm and to the outputs.

    `kubernetes` holds the arguments of the Helm provider's `kubernetes` block; `outputs` maps
    output names to values, which may be Terraform references.
    """

    kubernetes: dict[str, Any]
    service_account_annotations: dict[str, str]
    stores: list[dict[str, Any]]
    pod_labels: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def kubeconfig_connection(kubeconfig: Kubeconfig) -> dict[str, Any]:
    """Return Helm provider `kubernetes` arguments that use a kubeconfig file."""
    connection: dict[str, Any] = {"config_path": kubeconfig.path}
    if kubeconfig.context:
        connection["config_context"] = kubeconfig.context
    return connection
