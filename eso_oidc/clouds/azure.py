"""Azure: the provider, the AKS cluster lookup, Microsoft Entra Workload ID and the Key Vault store."""

from __future__ import annotations

import json
from typing import Any

from cdktf import Fn, Postcondition, TerraformResourceLifecycle, TerraformStack
from cdktf_cdktf_provider_azurerm.data_azurerm_kubernetes_cluster import DataAzurermKubernetesCluster
from cdktf_cdktf_provider_azurerm.provider import AzurermProvider, AzurermProviderFeatures

from eso_oidc.clouds import CloudWiring, kubeconfig_connection
from eso_oidc.config import EnvironmentFile
from eso_oidc.config.azure import AksCluster, AzureEnvironment
from eso_oidc.config.cluster import SelfManagedCluster
from eso_oidc.config.common import ExternalSecrets
from eso_oidc.constructs.azure_blob_discovery_hosting import (
    AzureBlobDiscoveryHosting,
    AzureBlobDiscoveryHostingConfig,
)
from eso_oidc.constructs.azure_workload_identity import AzureWorkloadIdentity, AzureWorkloadIdentityConfig
from eso_oidc.eso import cluster_secret_store, escape_templates, service_account_ref
from eso_oidc.publishing import read_published_documents

KEY_VAULT_STORE = "azurekv"

# Application id of the Azure Kubernetes Service AAD Server. Every AKS cluster with Microsoft Entra
# ID integration accepts tokens issued for it, and it is the same in every tenant.
AKS_ENTRA_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


def build(stack: TerraformStack, environment: EnvironmentFile) -> CloudWiring:
    config = environment.config
    assert isinstance(config, AzureEnvironment)
    azure = config.azure
    cluster = config.cluster

    AzurermProvider(
        stack,
        "azurerm",
        features=[AzurermProviderFeatures()],
        subscription_id=azure.subscription_id,
        tenant_id=azure.tenant_id,
    )

    aks = _aks_lookup(stack, cluster) if isinstance(cluster, AksCluster) else None
    # A self-managed cluster always names its issuer; an AKS cluster may override the looked-up one.
    issuer_url = cluster.issuer_url or aks.oidc_issuer_url

    identity = AzureWorkloadIdentity(
        stack,
        "workload_identity",
        config=AzureWorkloadIdentityConfig(
            azure=azure,
            issuer_url=issuer_url,
            namespace=config.external_secrets.namespace,
            service_account=config.external_secrets.service_account,
            tags=dict(config.tags),
        ),
    )

    if cluster.kubeconfig is not None:
        kubernetes = kubeconfig_connection(cluster.kubeconfig)
    else:
        assert isinstance(cluster, AksCluster)
        kubernetes = _aks_connection(aks, cluster.login)

    outputs: dict[str, Any] = {}
    if isinstance(cluster, SelfManagedCluster):
        # No workload identity webhook runs on such a cluster. The store's serviceAccountRef makes
        # ESO request the token itself, so the pod label that the webhook reads is left out.
        pod_labels: dict[str, str] = {}
        outputs["kube_apiserver_flags"] = cluster.kube_apiserver_flags()
        if cluster.discovery.azure_blob is not None:
            outputs["discovery_web_endpoint"] = _publish_in_blob_storage(stack, environment, cluster, config)
    else:
        # The AKS workload identity webhook injects the identity's environment into pods with this
        # label. Kubernetes label values are strings, so "true", never the boolean.
        pod_labels = {"azure.workload.identity/use": "true"}

    return CloudWiring(
        kubernetes=kubernetes,
        service_account_annotations={
            "azure.workload.identity/client-id": identity.client_id,
            "azure.workload.identity/tenant-id": identity.tenant_id,
        },
        pod_labels=pod_labels,
        stores=[key_vault_store(config.external_secrets, identity.key_vault_uri)],
        outputs={
            **outputs,
            "identity_client_id": identity.client_id,
            "identity_principal_id": identity.principal_id,
            "tenant_id": identity.tenant_id,
            "key_vault_uri": identity.key_vault_uri,
            "issuer_url": issuer_url,
        },
    )


def _publish_in_blob_storage(
    stack: TerraformStack, environment: EnvironmentFile, cluster: SelfManagedCluster, config: AzureEnvironment
) -> str:
    """Create the storage account that serves the discovery documents, and return its web endpoint."""
    blob = cluster.discovery.azure_blob
    assert blob is not None
    hosting = AzureBlobDiscoveryHosting(
        stack,
        "discovery_hosting",
        config=AzureBlobDiscoveryHostingConfig(
            storage_account_name=blob.storage_account_name,
            resource_group_name=blob.resource_group_name,
            location=blob.location,
            web_endpoint=blob.web_endpoint(cluster.issuer_url),
            documents=read_published_documents(cluster, environment.path, blob.prefix),
            tags=dict(config.tags),
        ),
    )
    return hosting.web_endpoint


def _aks_lookup(stack: TerraformStack, cluster: AksCluster) -> Any:
    """Return the AKS cluster data source, or None when the config supplies all it would give.

    Its postcondition stops the plan when the cluster's issuer cannot be the one to trust: an
    AKS cluster without OIDC issuer, or an `issuer_url` override that differs from the cluster's
    issuer only by the trailing slash.
    """
    if cluster.issuer_url is not None and cluster.kubeconfig is not None:
        return None
    # NOTE: Terraform stores data sources in its state, and this one includes the cluster's
    # kubeconfig. With Entra ID integration and local accounts disabled, it contains no credential.
    return DataAzurermKubernetesCluster(
        stack,
        "cluster",
        name=cluster.name,
        resource_group_name=cluster.resource_group,
        lifecycle=TerraformResourceLifecycle(postcondition=[_issuer_condition(cluster)]),
    )


def _issuer_condition(cluster: AksCluster) -> Postcondition:
    if cluster.issuer_url is None:
        return Postcondition(
            condition="${self.oidc_issuer_enabled && self.oidc_issuer_url != \"\"}",
            error_message=f"AKS cluster {cluster.name} has no OIDC issuer. Enable it with `az aks update "
            f"--resource-group {cluster.resource_group} --name {cluster.name} --enable-oidc-issuer "
            "--enable-workload-identity`.",
        )
    override = _hcl_string(cluster.issuer_url)
    return Postcondition(
        condition=f"${{self.oidc_issuer_url == {override} || "
        f"trimsuffix(self.oidc_issuer_url, \"/\") != trimsuffix({override}, \"/\")}}",
        error_message=f"The issuer_url override {escape_templates(cluster.issuer_url)} differs from the OIDC "
        f"issuer of AKS cluster {cluster.name} only by the trailing slash. Entra ID matches the issuer byte for byte "
        "(AADSTS70021), so use the cluster's issuer exactly or leave issuer_url out.",
    )


def _hcl_string(value: str) -> str:
    """Quote `value` as an HCL string literal that Terraform does not interpolate."""
    return escape_templates(json.dumps(value))


def _aks_connection(aks: DataAzurermKubernetesCluster, login: str) -> dict[str, Any]:
    # A short-lived Entra ID token from `kubelogin get-token` on every run, so that none is stored
    # in the state. Clusters with only local accounts need `cluster.kubeconfig` instead.
    kube_config = aks.kube_config.get(0)
    return {
        "host": kube_config.host,
        "cluster_ca_certificate": Fn.base64decode(kube_config.cluster_ca_certificate),
        "exec": {
            "api_version": "client.authentication.k8s.io/v1beta1",
            "command": "kubelogin",
            "args": ["get-token", "--login", login, "--server-id", AKS_ENTRA_SERVER_ID],
        },
    }


def key_vault_store(settings: ExternalSecrets, vault_uri: str) -> dict[str, Any]:
    """Return the ClusterSecretStore that reads the vault as the operator's service account.

    ESO requests the service account's token itself and reads the client and tenant ids from its
    annotations. The store sets no `tenantId`: ESO rejects a tenant given both there and in the
    `azure.workload.identity/tenant-id` annotation ("multiple tenantID found").
    """
    return cluster_secret_store(
        KEY_VAULT_STORE,
        settings.chart_version,
        {
            "azurekv": {
                "authType": "WorkloadIdentity",
                "vaultUrl": vault_uri,
                "serviceAccountRef": service_account_ref(settings),
            }
        },
    )
