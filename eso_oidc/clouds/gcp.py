"""Google Cloud: the provider, GKE or a self-managed issuer, Workload Identity Federation and the store."""

from __future__ import annotations

from typing import Any

from cdktf import Fn, Postcondition, TerraformResourceLifecycle, TerraformStack
from cdktf_cdktf_provider_google.data_google_container_cluster import DataGoogleContainerCluster
from cdktf_cdktf_provider_google.provider import GoogleProvider

from eso_oidc.clouds import CloudWiring, kubeconfig_connection
from eso_oidc.config import EnvironmentFile
from eso_oidc.config.cluster import SelfManagedCluster
from eso_oidc.config.gcp import SERVICE_ACCOUNT, GcpEnvironment, GkeCluster
from eso_oidc.constructs.gcp_workload_identity import GcpWorkloadIdentity, GcpWorkloadIdentityConfig, workload_pool
from eso_oidc.constructs.gcp_workload_identity_pool import GcpWorkloadIdentityPool, GcpWorkloadIdentityPoolConfig
from eso_oidc.constructs.gcs_discovery_hosting import GcsDiscoveryHosting, GcsDiscoveryHostingConfig
from eso_oidc.eso import cluster_secret_store, service_account_ref
from eso_oidc.publishing import google_jwks_json, read_published_documents

SECRET_MANAGER = "gcpsm"
SERVICE_ACCOUNT_ANNOTATION = "iam.gke.io/gcp-service-account"


def build(stack: TerraformStack, environment: EnvironmentFile) -> CloudWiring:
    config = environment.config
    assert isinstance(config, GcpEnvironment)
    gcp = config.gcp
    cluster = config.cluster

    # The resources created here (a service account and IAM members) take no labels; the tags
    # become default labels for any that do.
    GoogleProvider(stack, "google", project=gcp.project_id, default_labels=dict(config.tags) or None)

    if isinstance(cluster, SelfManagedCluster):
        return _build_self_managed(stack, environment, cluster)

    identity = GcpWorkloadIdentity(
        stack,
        "workload_identity",
        config=GcpWorkloadIdentityConfig(
            gcp=gcp,
            cluster_project_id=config.cluster_project_id,
            cluster_project_number=config.cluster_project_number,
            namespace=config.external_secrets.namespace,
            service_account=config.external_secrets.service_account,
        ),
    )

    if cluster.kubeconfig is not None:
        kubernetes = kubeconfig_connection(cluster.kubeconfig)
    else:
        kubernetes = _gke_connection(_gke_lookup(stack, cluster, config.cluster_project_id))

    annotations: dict[str, str] = {}
    outputs: dict[str, Any] = {}
    if gcp.mode == SERVICE_ACCOUNT:
        assert identity.service_account_email is not None
        # With this annotation ESO exchanges the token for one of the Google service account;
        # without it, ESO uses the federated token itself (direct mode).
        annotations[SERVICE_ACCOUNT_ANNOTATION] = identity.service_account_email
        outputs["service_account_email"] = identity.service_account_email
    else:
        outputs["principal"] = identity.principal

    return CloudWiring(
        kubernetes=kubernetes,
        service_account_annotations=annotations,
        stores=gcp_stores(config),
        outputs=outputs,
    )


def _gke_lookup(stack: TerraformStack, cluster: GkeCluster, project_id: str) -> DataGoogleContainerCluster:
    pool = workload_pool(project_id)
    # Without Workload Identity Federation for GKE on the cluster, the bindings are created but ESO
    # gets no token; stop at plan instead.
    enabled = f'${{try(self.workload_identity_config[0].workload_pool, "") == "{pool}"}}'
    return DataGoogleContainerCluster(
        stack,
        "cluster",
        name=cluster.name,
        location=cluster.location,
        project=project_id,
        lifecycle=TerraformResourceLifecycle(
            postcondition=[
                Postcondition(
                    condition=enabled,
                    error_message=_workload_pool_missing_message(cluster, project_id, pool),
                )
            ]
        ),
    )


def _workload_pool_missing_message(cluster: GkeCluster, project_id: str, pool: str) -> str:
    # Terraform's own messages are full sentences, so this one is too.
    command = (
        f"gcloud container clusters update {cluster.name} --location={cluster.location} "
        f"--project={project_id} --workload-pool={pool}"
    )
    return (
        f"Cluster {cluster.name} has no workload pool {pool}, so Workload Identity Federation for GKE "
        f"is off. Run `{command}` to turn it on."
    )


def _gke_connection(gke: DataGoogleContainerCluster) -> dict[str, Any]:
    # A short-lived token from gke-gcloud-auth-plugin on every run, so that none is stored in the
    # state. The flag makes it use Application Default Credentials, as the google provider does.
    # NOTE: `endpoint` is the control plane's IP address; a cluster reachable only through its
    # DNS-based endpoint needs cluster.kubeconfig.
    return {
        "host": f"https://{gke.endpoint}",
        "cluster_ca_certificate": Fn.base64decode(gke.master_auth.get(0).cluster_ca_certificate),
        "exec": {
            "api_version": "client.authentication.k8s.io/v1beta1",
            "command": "gke-gcloud-auth-plugin",
            "args": ["--use_application_default_credentials"],
        },
    }


def gcp_stores(config: GcpEnvironment) -> list[dict[str, Any]]:
    """Return the Secret Manager ClusterSecretStore of the project.

    The cluster's name, location and project are given, not left to ESO's metadata lookup: chart
    0.15.x requires the first two, and ESO builds its token request from all three.
    """
    settings = config.external_secrets
    workload_identity = {
        "clusterLocation": config.cluster.location,
        "clusterName": config.cluster.name,
        "clusterProjectID": config.cluster_project_id,
        "serviceAccountRef": service_account_ref(settings),
    }
    return [
        cluster_secret_store(
            SECRET_MANAGER,
            settings.chart_version,
            {"gcpsm": {"projectID": config.gcp.project_id, "auth": {"workloadIdentity": workload_identity}}},
        )
    ]


def _build_self_managed(stack: TerraformStack, environment: EnvironmentFile, cluster: SelfManagedCluster) -> CloudWiring:
    """Trust a self-managed cluster's issuer through a workload identity pool of its own."""
    config = environment.config
    assert isinstance(config, GcpEnvironment)
    gcp = config.gcp
    settings = config.external_secrets
    outputs: dict[str, Any] = {}

    gcs = cluster.discovery.gcs
    if gcs is not None:
        hosting = GcsDiscoveryHosting(
            stack,
            "discovery_hosting",
            config=GcsDiscoveryHostingConfig(
                project_id=gcp.project_id,
                bucket=gcs.bucket,
                location=gcs.location,
                documents=read_published_documents(cluster, environment.path, gcs.prefix),
            ),
        )
        outputs["discovery_bucket"] = hosting.bucket_name

    _, jwks_path = cluster.discovery.paths(environment.path)
    pool = GcpWorkloadIdentityPool(
        stack,
        "identity_federation",
        config=GcpWorkloadIdentityPoolConfig(
            project_id=gcp.project_id,
            project_number=gcp.project_number,
            pool_id=gcp.workload_identity_pool_id,
            provider_id=gcp.workload_identity_pool_provider_id,
            issuer_url=cluster.issuer_url,
            jwks_json=google_jwks_json(jwks_path),
            subject=f"system:serviceaccount:{settings.namespace}:{settings.service_account}",
        ),
    )

    GcpWorkloadIdentity(
        stack,
        "workload_identity",
        config=GcpWorkloadIdentityConfig(
            gcp=gcp,
            cluster_project_id=gcp.project_id,
            cluster_project_number=gcp.project_number,
            namespace=settings.namespace,
            service_account=settings.service_account,
            principal=pool.principal,
            grants_depend_on=tuple(pool.pool_dependables),
        ),
    )

    # ESO requests a token with this audience for the service account itself, so no annotation is needed.
    workload_identity_federation = {"audience": pool.audience, "serviceAccountRef": service_account_ref(settings)}
    stores = [
        cluster_secret_store(
            SECRET_MANAGER,
            settings.chart_version,
            {"gcpsm": {"projectID": gcp.project_id, "auth": {"workloadIdentityFederation": workload_identity_federation}}},
        )
    ]

    return CloudWiring(
        kubernetes=kubeconfig_connection(cluster.kubeconfig),
        service_account_annotations={},
        stores=stores,
        outputs={
            **outputs,
            "principal": pool.principal,
            "audience": pool.audience,
            "issuer_url": cluster.issuer_url,
            "kube_apiserver_flags": cluster.kube_apiserver_flags(),
        },
    )
