"""Settings of environments whose secrets live in AWS."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictStr, model_validator

from eso_oidc.config.cluster import SelfManagedCluster
from eso_oidc.config.common import Kubeconfig, Settings
from eso_oidc.config.environment import Environment, cluster_union
from eso_oidc.config.types import (
    AwsAccountId,
    AwsRegion,
    EksClusterName,
    EndpointUrl,
    IamPath,
    IamPolicyArn,
    IamRoleName,
    IssuerUrl,
    KmsKeyArn,
    OidcProviderArn,
    ParameterPath,
    SecretNamePrefix,
)


class EksCluster(Settings):
    """An Amazon EKS cluster, looked up by name."""

    name: EksClusterName = Field(description="EKS cluster name; looked up for the issuer and the API endpoint.")
    issuer_url: IssuerUrl | None = Field(
        default=None,
        description="OIDC issuer to trust instead of the cluster's own `identity[0].oidc[0].issuer`.",
    )
    kubeconfig: Kubeconfig | None = Field(
        default=None,
        description="Reach the cluster through this kubeconfig instead of its endpoint and `aws eks get-token`.",
    )


class ParameterStore(Settings):
    """Read access to SSM Parameter Store."""

    paths: list[ParameterPath] = Field(
        default_factory=list,
        description="Path prefixes ESO may read, each with everything below it. Empty: no Parameter Store "
        "access and no store for it.",
    )


class SecretsManager(Settings):
    """Read access to AWS Secrets Manager."""

    name_prefixes: list[SecretNamePrefix] = Field(
        default_factory=list,
        description="Secret name prefixes ESO may read. Empty: no Secrets Manager access and no store for it.",
    )


class AwsEndpoints(Settings):
    """Service endpoints that replace AWS's own, for emulators such as LocalStack or moto."""

    iam: EndpointUrl | None = Field(default=None, description="IAM endpoint (OIDC provider, role, policy).")
    sts: EndpointUrl | None = Field(
        default=None, description="STS endpoint, which the provider calls to check credentials and read the account id."
    )
    eks: EndpointUrl | None = Field(default=None, description="EKS endpoint (the cluster lookup).")
    s3: EndpointUrl | None = Field(
        default=None,
        description="S3 endpoint. When set, buckets are addressed by path (`s3_use_path_style`), as emulators need.",
    )


class AwsSettings(Settings):
    """The AWS account, the IAM role ESO assumes and what it may read."""

    region: AwsRegion = Field(description="Region of the cluster and of the secrets.")
    account_id: AwsAccountId | None = Field(
        default=None,
        description="Account Terraform must run in (the provider's `allowed_account_ids`). When unset, any.",
    )
    oidc_provider_arn: OidcProviderArn | None = Field(
        default=None,
        description="Existing IAM OIDC provider of the issuer to reuse. When unset, one is created.",
    )
    audience: StrictStr = Field(
        default="sts.amazonaws.com",
        description="Token audience: the OIDC provider's client id and the role trust's `aud` condition.",
    )
    role_name: IamRoleName = Field(default="external-secrets", description="Name of the IAM role ESO assumes.")
    role_path: IamPath = Field(default="/", description="IAM path of the role and its policy.")
    permissions_boundary_arn: IamPolicyArn | None = Field(
        default=None, description="Permissions boundary of the role. When unset, none."
    )
    parameter_store: ParameterStore = Field(default_factory=ParameterStore, description="Parameter Store access.")
    secrets_manager: SecretsManager = Field(default_factory=SecretsManager, description="Secrets Manager access.")
    kms_key_arns: list[KmsKeyArn] = Field(
        default_factory=list,
        description="Customer-managed KMS keys that encrypt the secrets; `kms:Decrypt` is granted on these "
        "only. Empty: no KMS permission (AWS-managed keys need none).",
    )
    endpoints: AwsEndpoints = Field(
        default_factory=AwsEndpoints,
        description="Endpoint URL per service, for testing against an emulator. When unset, AWS's own endpoints.",
    )

    @model_validator(mode="after")
    def _reads_something(self) -> AwsSettings:
        if not self.parameter_store.paths and not self.secrets_manager.name_prefixes:
            raise ValueError(
                "ESO would have nothing to read: set aws.parameter_store.paths or aws.secrets_manager.name_prefixes"
            )
        return self


AwsCluster = cluster_union((EksCluster, "managed"), (SelfManagedCluster, "self-managed"))


class AwsEnvironment(Environment):
    """An environment whose secrets live in AWS."""

    cloud: Literal["aws"] = Field(description="Cloud that holds the secrets.")
    cluster: AwsCluster = Field(description="The Kubernetes cluster ESO runs in: EKS, or self-managed.")
    aws: AwsSettings = Field(description="AWS account, IAM role and read access.")
