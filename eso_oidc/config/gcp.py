"""Settings of environments whose secrets live in Google Cloud Secret Manager."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from eso_oidc.config.cluster import SelfManagedCluster
from eso_oidc.config.common import Kubeconfig, Settings
from eso_oidc.config.environment import Environment, cluster_union
from eso_oidc.config.types import (
    GcpLocation,
    GcpProjectId,
    GcpProjectNumber,
    GcpServiceAccountId,
    GkeClusterName,
    SecretManagerSecretId,
)
from eso_oidc.config.yaml_source import FieldPath

DIRECT = "direct"
SERVICE_ACCOUNT = "service_account"


class GkeCluster(Settings):
    """A Google Kubernetes Engine cluster with Workload Identity Federation for GKE enabled."""

    name: GkeClusterName = Field(description="GKE cluster name; looked up for the API endpoint and CA certificate.")
    location: GcpLocation = Field(
        description="Location of the cluster exactly as it was created: its region for a regional cluster, its "
        "zone for a zonal one. ESO builds its token request from it, and a zone given for a regional cluster "
        "makes that request fail with 404."
    )
    project_id: GcpProjectId | None = Field(
        default=None,
        description="Project of the cluster, when it is not gcp.project_id. Its workload identity pool "
        "`PROJECT_ID.svc.id.goog` is the one trusted. When unset, gcp.project_id.",
    )
    project_number: GcpProjectNumber | None = Field(
        default=None,
        description="Number of cluster.project_id, used in the direct-mode principal. When unset, looked up "
        "with the `google_project` data source. Only with cluster.project_id.",
    )
    kubeconfig: Kubeconfig | None = Field(
        default=None,
        description="Reach the cluster through this kubeconfig instead of its endpoint and `gke-gcloud-auth-plugin`.",
    )


def _no_duplicate_names(secrets: list[str]) -> list[str]:
    # Each secret's binding is named after the secret, and Terraform names turn '-' into '_'.
    seen: dict[str, str] = {}
    for secret in secrets:
        key = secret.replace("-", "_")
        if key in seen:
            if seen[key] == secret:
                raise ValueError(f"{secret!r} is listed twice; remove one")
            raise ValueError(
                f"{seen[key]!r} and {secret!r} would get the same Terraform resource name; "
                "grant access to one of them outside eso-oidc"
            )
        seen[key] = secret
    return secrets


class GcpSettings(Settings):
    """The Google Cloud project, the identity ESO reads as, and what it may read."""

    project_id: GcpProjectId = Field(description="Project that contains the secrets; also the provider's project.")
    project_number: GcpProjectNumber | None = Field(
        default=None,
        description="Number of gcp.project_id, used in the direct-mode principal, whose pool must be named by "
        "number. When unset, looked up with the `google_project` data source.",
    )
    secrets: Annotated[list[SecretManagerSecretId], AfterValidator(_no_duplicate_names)] = Field(
        default_factory=list,
        description="Ids of the secrets in gcp.project_id that ESO may read, each granted on its own; the "
        "secrets must exist. Empty: ESO may read every secret of the project.",
    )
    mode: Literal["direct", "service_account"] = Field(
        default=DIRECT,
        description="`direct`: IAM roles are granted to the Kubernetes service account's principal, with no "
        "Google service account. `service_account`: ESO impersonates a Google service account created for it.",
    )
    service_account_id: GcpServiceAccountId = Field(
        default="external-secrets",
        description="Account id of the Google service account created in `service_account` mode, in "
        "gcp.project_id. Only with that mode.",
    )


GcpCluster = cluster_union((GkeCluster, "managed"), (SelfManagedCluster, "self-managed"))


class GcpEnvironment(Environment):
    """An environment whose secrets live in Google Cloud Secret Manager."""

    cloud: Literal["gcp"] = Field(description="Cloud that holds the secrets.")
    cluster: GcpCluster = Field(description="The Kubernetes cluster ESO runs in: GKE, or self-managed.")
    gcp: GcpSettings = Field(description="Google Cloud project, identity and read access.")

    @property
    def cluster_project_id(self) -> str:
        """Project of the GKE cluster and of its workload identity pool."""
        return getattr(self.cluster, "project_id", None) or self.gcp.project_id

    @property
    def cluster_project_number(self) -> str | None:
        """Number of the cluster's project when the config gives it, else None (looked up)."""
        if getattr(self.cluster, "project_id", None) is not None:
            return getattr(self.cluster, "project_number", None)
        return self.gcp.project_number

    def cross_section_problems(self) -> list[tuple[FieldPath, str]]:
        """Return the settings that the chosen mode or cluster leaves unused, and unsupported clusters."""
        if isinstance(self.cluster, SelfManagedCluster):
            # TODO: self-managed clusters need a workload identity pool and provider of their own and
            # the store's `workloadIdentityFederation` auth; until that is built they are rejected.
            message = "self-managed clusters are not supported on cloud: gcp yet; use a GKE cluster"
            return [(("cluster", "type"), message)]
        if self.gcp.mode == SERVICE_ACCOUNT:
            return self._service_account_mode_problems(self.cluster)
        return self._direct_mode_problems(self.cluster)

    def _service_account_mode_problems(self, cluster: GkeCluster) -> list[tuple[FieldPath, str]]:
        message = (
            "is only used with gcp.mode: direct, because impersonating a Google service account needs no "
            "project number; remove it"
        )
        problems: list[tuple[FieldPath, str]] = []
        if self.gcp.project_number is not None:
            problems.append((("gcp", "project_number"), message))
        if cluster.project_number is not None:
            problems.append((("cluster", "project_number"), message))
        return problems

    def _direct_mode_problems(self, cluster: GkeCluster) -> list[tuple[FieldPath, str]]:
        problems: list[tuple[FieldPath, str]] = []
        if "service_account_id" in self.gcp.model_fields_set:
            message = "is only used with gcp.mode: service_account; set that mode or remove this setting"
            problems.append((("gcp", "service_account_id"), message))
        if cluster.project_number is not None and cluster.project_id is None:
            message = "is only used with cluster.project_id; set that too, or move the number to gcp.project_number"
            problems.append((("cluster", "project_number"), message))
        if cluster.project_id is not None and self.gcp.project_number is not None:
            message = (
                "is not used when cluster.project_id is set, because the principal needs the number of the "
                "cluster's project; move it to cluster.project_number or remove it"
            )
            problems.append((("gcp", "project_number"), message))
        return problems
