"""AWS: the provider, the EKS cluster lookup or a self-managed issuer, IAM web identity trust and the AWS stores."""

from __future__ import annotations

from typing import Any

from cdktf import Fn, ITerraformDependable, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_eks_cluster import DataAwsEksCluster
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints

from eso_oidc.clouds import CloudWiring, kubeconfig_connection
from eso_oidc.config import EnvironmentFile
from eso_oidc.config.aws import AwsEndpoints, AwsEnvironment, EksCluster
from eso_oidc.config.cluster import SelfManagedCluster
from eso_oidc.constructs.aws_workload_identity import AwsWorkloadIdentity, AwsWorkloadIdentityConfig
from eso_oidc.constructs.s3_discovery_hosting import S3DiscoveryHosting, S3DiscoveryHostingConfig
from eso_oidc.eso import cluster_secret_store, service_account_ref
from eso_oidc.publishing import read_published_documents

PARAMETER_STORE = "aws-parameter-store"
SECRETS_MANAGER = "aws-secrets-manager"


def build(stack: TerraformStack, environment: EnvironmentFile) -> CloudWiring:
    config = environment.config
    assert isinstance(config, AwsEnvironment)
    aws = config.aws
    cluster = config.cluster

    AwsProvider(
        stack,
        "aws",
        region=aws.region,
        allowed_account_ids=[aws.account_id] if aws.account_id else None,
        default_tags=[AwsProviderDefaultTags(tags=dict(config.tags))] if config.tags else None,
        **_endpoint_arguments(aws.endpoints),
    )

    outputs: dict[str, Any] = {}
    provider_depends_on: tuple[ITerraformDependable, ...] = ()
    if isinstance(cluster, SelfManagedCluster):
        # The issuer is the config's; there is no cloud to look it up in.
        issuer_url: str = cluster.issuer_url
        kubernetes = kubeconfig_connection(cluster.kubeconfig)
        s3 = cluster.discovery.s3
        if s3 is not None:
            hosting = S3DiscoveryHosting(
                stack,
                "discovery_hosting",
                config=S3DiscoveryHostingConfig(
                    bucket=s3.bucket,
                    documents=read_published_documents(cluster, environment.path, s3.prefix),
                ),
            )
            provider_depends_on = tuple(hosting.document_dependables)
            outputs["discovery_bucket"] = hosting.bucket_name
        outputs["kube_apiserver_flags"] = cluster.kube_apiserver_flags()
    else:
        eks = _eks_lookup(stack, cluster)
        issuer_url = cluster.issuer_url or eks.identity.get(0).oidc.get(0).issuer
        if cluster.kubeconfig is not None:
            kubernetes = kubeconfig_connection(cluster.kubeconfig)
        else:
            kubernetes = _eks_connection(eks, cluster.name, aws.region)

    identity = AwsWorkloadIdentity(
        stack,
        "workload_identity",
        config=AwsWorkloadIdentityConfig(
            aws=aws,
            issuer_url=issuer_url,
            namespace=config.external_secrets.namespace,
            service_account=config.external_secrets.service_account,
            oidc_provider_depends_on=provider_depends_on,
        ),
    )

    return CloudWiring(
        kubernetes=kubernetes,
        # ESO requests the token for `auth.jwt.serviceAccountRef` with the audience in this
        # annotation, so the token, the provider's client id and the trust's `aud` all use aws.audience.
        service_account_annotations={
            "eks.amazonaws.com/role-arn": identity.role_arn,
            "eks.amazonaws.com/audience": aws.audience,
        },
        stores=aws_stores(config),
        outputs={
            **outputs,
            "role_arn": identity.role_arn,
            "oidc_provider_arn": identity.oidc_provider_arn,
            "issuer_url": issuer_url,
        },
    )


def _endpoint_arguments(endpoints: AwsEndpoints) -> dict[str, Any]:
    """Return the AWS provider arguments that send calls to the configured endpoints, or none."""
    urls = endpoints.model_dump(exclude_none=True)
    if not urls:
        return {}
    arguments: dict[str, Any] = {"endpoints": [AwsProviderEndpoints(**urls)]}
    if endpoints.s3 is not None:
        # Emulators serve buckets at http://HOST:PORT/BUCKET, not at BUCKET.HOST.
        arguments["s3_use_path_style"] = True
    return arguments


def _eks_lookup(stack: TerraformStack, cluster: EksCluster) -> Any:
    """Return the EKS cluster data source, or None when the config supplies all it would give."""
    if cluster.issuer_url is not None and cluster.kubeconfig is not None:
        return None
    return DataAwsEksCluster(stack, "cluster", name=cluster.name)


def _eks_connection(eks: DataAwsEksCluster, cluster_name: str, region: str) -> dict[str, Any]:
    # A short-lived token from `aws eks get-token` on every run, so that none is stored in the state.
    return {
        "host": eks.endpoint,
        "cluster_ca_certificate": Fn.base64decode(eks.certificate_authority.get(0).data),
        "exec": {
            "api_version": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region],
        },
    }


def aws_stores(config: AwsEnvironment) -> list[dict[str, Any]]:
    """Return one ClusterSecretStore per AWS service the config grants access to.

    Each authenticates with `auth.jwt.serviceAccountRef`: ESO requests the service account's token
    itself, so the stores work with or without the EKS pod identity webhook.
    """
    aws = config.aws
    settings = config.external_secrets
    auth = {"jwt": {"serviceAccountRef": service_account_ref(settings)}}
    stores = []
    if aws.parameter_store.paths:
        stores.append(
            cluster_secret_store(
                PARAMETER_STORE,
                settings.chart_version,
                {"aws": {"service": "ParameterStore", "region": aws.region, "auth": auth}},
            )
        )
    if aws.secrets_manager.name_prefixes:
        stores.append(
            cluster_secret_store(
                SECRETS_MANAGER,
                settings.chart_version,
                {"aws": {"service": "SecretsManager", "region": aws.region, "auth": auth}},
            )
        )
    return stores
