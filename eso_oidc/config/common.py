"""Settings every environment has, whatever its cloud: the ESO release, the state backend, kubeconfig."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from eso_oidc.config.types import ChartRepository, ChartVersion, KubernetesName


class Settings(BaseModel):
    """Base of every settings model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Kubeconfig(Settings):
    """A kubeconfig file through which Helm reaches the cluster, instead of the cloud's cluster lookup."""

    path: StrictStr = Field(description="Path of the kubeconfig file, as Terraform sees it when it runs; `~` is expanded.")
    context: StrictStr | None = Field(
        default=None, description="Context to use. When unset, the file's current context."
    )


class ExternalSecrets(Settings):
    """The External Secrets Operator release and the identity it runs as."""

    namespace: KubernetesName = Field(
        default="external-secrets", description="Namespace of the release; created when missing."
    )
    service_account: KubernetesName = Field(
        default="external-secrets",
        description="Name of the operator's Kubernetes service account: the only subject the cloud trusts.",
    )
    release_name: KubernetesName = Field(default="external-secrets", description="Helm release name of the operator.")
    chart_repository: ChartRepository = Field(
        default="https://charts.external-secrets.io",
        description="Helm repository of the `external-secrets` chart; point it at a mirror if you use one.",
    )
    chart_version: ChartVersion = Field(
        default="2.9.0",
        description="Pinned version of the `external-secrets` chart. Decides the ClusterSecretStore API version: "
        "`external-secrets.io/v1beta1` below 0.16.0, `external-secrets.io/v1` from 0.16.0 on.",
    )
    values: dict[StrictStr, Any] = Field(
        default_factory=dict,
        description="Extra Helm values, merged over the computed ones. Values that would break the trust "
        "(service account name and annotations, namespace override) are rejected.",
    )


class S3Backend(Settings):
    """Terraform state in an S3 bucket."""

    bucket: StrictStr = Field(description="Bucket name.")
    key: StrictStr = Field(description="Object key of the state file.")
    region: StrictStr = Field(description="Region of the bucket.")
    encrypt: StrictBool = Field(default=True, description="Encrypt the state object at rest.")
    use_lockfile: StrictBool = Field(default=True, description="Lock the state with an S3 lock file.")
    dynamodb_table: StrictStr | None = Field(default=None, description="DynamoDB table for state locking (legacy).")


class AzurermBackend(Settings):
    """Terraform state in an Azure Storage blob container."""

    storage_account_name: StrictStr = Field(description="Storage account name.")
    container_name: StrictStr = Field(description="Blob container name.")
    key: StrictStr = Field(description="Blob name of the state file.")
    resource_group_name: StrictStr | None = Field(default=None, description="Resource group of the storage account.")
    use_azuread_auth: StrictBool = Field(default=True, description="Authenticate with Entra ID, not an access key.")


class GcsBackend(Settings):
    """Terraform state in a Google Cloud Storage bucket."""

    bucket: StrictStr = Field(description="Bucket name.")
    prefix: StrictStr = Field(description="Object prefix of the state.")


class LocalBackend(Settings):
    """Terraform state in a local file."""

    path: StrictStr = Field(
        description="Path of the state file: absolute, or relative to the project folder (the stack runs in "
        "`cdktf.out/stacks/<environment>/`, so a relative path is written with `../../../` before it)."
    )


class Backend(Settings):
    """The Terraform state backend of the environment. Exactly one kind is set."""

    s3: S3Backend | None = Field(default=None, description="State in S3.")
    azurerm: AzurermBackend | None = Field(default=None, description="State in Azure Blob Storage.")
    gcs: GcsBackend | None = Field(default=None, description="State in Google Cloud Storage.")
    local: LocalBackend | None = Field(default=None, description="State in a local file.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Backend:
        chosen = [name for name in ("s3", "azurerm", "gcs", "local") if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise ValueError(
                f"set exactly one of s3, azurerm, gcs or local, not {len(chosen)}"
                + (f" ({', '.join(chosen)})" if chosen else "")
            )
        return self
