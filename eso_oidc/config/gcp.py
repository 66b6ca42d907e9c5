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
    GcpWorkloadIdentityPoolId,
    GkeClusterName,
    SecretManagerSecretId,
)
from eso_oidc.config.yaml_source import FieldPath

DIRECT = "direct"
# The first external-secrets chart whose gcpsm `workloadIdentityFederation` auth works (it was
# added in 0.20.0 and fixed in 0.20.2).
WORKLOAD_IDENTITY_FEDERATION_CHART = (0, 20, 2)
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
    workload_identity_pool_id: GcpWorkloadIdentityPoolId = Field(
        default="external-secrets",
        description="Id of the workload identity pool created in gcp.project_id for a self-managed cluster's "
        "issuer. Only with a self-managed cluster. A deleted pool keeps its id for 30 days.",
    )
    workload_identity_pool_provider_id: GcpWorkloadIdentityPoolId = Field(
        default="kubernetes",
        description="Id of the pool's OIDC provider, which trusts the self-managed cluster's issuer. Only with a "
        "self-managed cluster.",
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
        """Return the settings that the chosen mode or cluster leaves unused, and unsupported combinations."""
        if isinstance(self.cluster, SelfManagedCluster):
            return self._self_managed_problems()
        problems = self._pool_setting_problems()
        if self.gcp.mode == SERVICE_ACCOUNT:
            return problems + self._service_account_mode_problems(self.cluster)
        return problems + self._direct_mode_problems(self.cluster)

    def _pool_setting_problems(self) -> list[tuple[FieldPath, str]]:
        problems: list[tuple[FieldPath, str]] = []
        for setting in ("workload_identity_pool_id", "workload_identity_pool_provider_id"):
            if setting in self.gcp.model_fields_set:
                problems.append((("gcp", setting), "is only used with a self-managed cluster; remove it"))
        return problems

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

    def _self_managed_problems(self) -> list[tuple[FieldPath, str]]:
        # eso_oidc.eso imports the config package, so it cannot be imported at module level here.
        from eso_oidc.eso import parse_version

        problems: list[tuple[FieldPath, str]] = []
        gcp = self.gcp
        if gcp.mode == SERVICE_ACCOUNT:
            # NOTE: impersonating a Google service account from a self-managed cluster would need the
            # store's `gcpServiceAccountEmail` and a grant to the pool principal; not built yet.
            problems.append(
                (
                    ("gcp", "mode"),
                    "a self-managed cluster reads Secret Manager in direct mode only, with IAM roles granted to "
                    "its service account's pool principal; set mode: direct or remove it",
                )
            )
        if "service_account_id" in gcp.model_fields_set:
            problems.append(
                (("gcp", "service_account_id"), "is only used with gcp.mode: service_account; remove it")
            )
        version = self.external_secrets.chart_version
        if parse_version(version) < WORKLOAD_IDENTITY_FEDERATION_CHART:
            minimum = ".".join(str(part) for part in WORKLOAD_IDENTITY_FEDERATION_CHART)
            problems.append(
                (
                    ("external_secrets", "chart_version"),
                    f"{version!r} is too old for a self-managed cluster on cloud: gcp, whose store authenticates "
                    f"with workloadIdentityFederation, which works from chart {minimum} on; pin {minimum} or later",
                )
            )
        return problems
