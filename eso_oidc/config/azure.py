"""Settings of environments whose secrets live in Azure Key Vault."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, model_validator

from eso_oidc.config.cluster import SelfManagedCluster
from eso_oidc.config.common import Kubeconfig, Settings
from eso_oidc.config.environment import Environment, cluster_union
from eso_oidc.config.types import (
    AksClusterName,
    AksIssuerUrl,
    AzureGuid,
    AzureLocation,
    FederatedCredentialName,
    KeyVaultId,
    KeyVaultName,
    ResourceGroupName,
    UserAssignedIdentityName,
)


class AksCluster(Settings):
    """An Azure Kubernetes Service cluster, looked up by name and resource group."""

    name: AksClusterName = Field(description="AKS cluster name; looked up for the issuer and the API endpoint.")
    resource_group: ResourceGroupName = Field(description="Resource group of the cluster.")
    issuer_url: AksIssuerUrl | None = Field(
        default=None,
        description="OIDC issuer to trust instead of the cluster's own `oidc_issuer_url`. It must end with '/', "
        "as every AKS issuer does.",
    )
    kubeconfig: Kubeconfig | None = Field(
        default=None,
        description="Reach the cluster through this kubeconfig instead of its endpoint and `kubelogin`.",
    )
    login: Literal["azurecli", "workloadidentity", "msi", "spn", "azd"] = Field(
        default="azurecli",
        description="`kubelogin get-token --login` mode with which Helm gets its Entra ID token for the cluster: "
        "`azurecli` uses the `az login` session. Not used with `kubeconfig`.",
    )


class ManagedIdentity(Settings):
    """The user-assigned managed identity ESO signs in as."""

    name: UserAssignedIdentityName = Field(
        default="external-secrets", description="Name of the user-assigned managed identity; created."
    )
    resource_group: ResourceGroupName = Field(description="Existing resource group the identity is created in.")
    federated_credential_name: FederatedCredentialName = Field(
        default="kubernetes",
        description="Name of the federated identity credential that trusts the service account's tokens.",
    )


class KeyVault(Settings):
    """The Key Vault ESO reads, and how it is granted read access."""

    name: KeyVaultName | None = Field(
        default=None, description="Vault name, looked up with `resource_group`. Set this or `id`."
    )
    resource_group: ResourceGroupName | None = Field(
        default=None, description="Resource group of the vault named by `name`."
    )
    id: KeyVaultId | None = Field(
        default=None,
        description="Resource id of the vault, which is then not looked up (for a vault in another subscription). "
        "Its URI is taken to be https://NAME.vault.azure.net/ (Azure public cloud). Set this or `name`.",
    )
    access: Literal["rbac", "access_policy"] = Field(
        default="rbac",
        description="Permission model of the vault: `rbac` assigns the role Key Vault Secrets User on the vault, "
        "which also lets ESO list secrets (`dataFrom.find`). `access_policy` adds an access policy with Get on "
        "secrets only, so ESO can read secrets by name but not list them.",
    )
    certificates: StrictBool = Field(
        default=False,
        description="Also let ESO read certificates (`cert/NAME` keys): the role Key Vault Certificate User, or "
        "Get on certificates. When false, secrets only.",
    )

    @model_validator(mode="after")
    def _name_or_id(self) -> KeyVault:
        named = self.name is not None or self.resource_group is not None
        if named and self.id is not None:
            raise ValueError("set either `name` and `resource_group`, or `id`, not both")
        if not named and self.id is None:
            raise ValueError("set the vault's `name` and `resource_group`, or its `id`")
        if self.id is None and self.name is None:
            raise ValueError("`name` is missing: set the vault's name next to `resource_group`, or its `id` instead")
        if self.id is None and self.resource_group is None:
            raise ValueError(f"`resource_group` is missing: set the resource group of vault {self.name!r}")
        return self

    @property
    def vault_name(self) -> str:
        """The vault's name, from `name` or from the last segment of `id`."""
        if self.name is not None:
            return self.name
        assert self.id is not None
        return self.id.rsplit("/", 1)[-1]


class AzureSettings(Settings):
    """The Azure subscription, the identity ESO signs in as and the vault it reads."""

    subscription_id: AzureGuid = Field(
        description="Subscription of the identity and of the looked-up cluster and vault."
    )
    tenant_id: AzureGuid | None = Field(
        default=None,
        description="Microsoft Entra tenant that Terraform signs in to and that the service account annotation "
        "names for ESO. When unset, the tenant of the credentials Terraform runs with, as the created identity "
        "reports it.",
    )
    location: AzureLocation = Field(description="Azure region the managed identity is created in.")
    identity: ManagedIdentity = Field(description="The managed identity ESO signs in as.")
    key_vault: KeyVault = Field(description="The Key Vault ESO reads.")


AzureCluster = cluster_union((AksCluster, "managed"), (SelfManagedCluster, "self-managed"))


class AzureEnvironment(Environment):
    """An environment whose secrets live in Azure Key Vault."""

    cloud: Literal["azure"] = Field(description="Cloud that holds the secrets.")
    cluster: AzureCluster = Field(description="The Kubernetes cluster ESO runs in: AKS, or self-managed.")
    azure: AzureSettings = Field(description="Azure subscription, managed identity and Key Vault access.")
