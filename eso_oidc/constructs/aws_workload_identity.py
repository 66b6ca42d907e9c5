"""IAM Roles for Service Accounts: trust one service account's tokens and let it read secrets."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, ITerraformDependable, Token
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementCondition,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from eso_oidc.config.aws import AwsSettings


@dataclass(frozen=True)
class AwsWorkloadIdentityConfig:
    """Inputs of the role's trust and read policy. `issuer_url` may be a Terraform reference."""

    aws: AwsSettings
    issuer_url: str
    namespace: str
    service_account: str
    # Resources the issuer's documents need before IAM can fetch them, such as their hosting.
    oidc_provider_depends_on: tuple[ITerraformDependable, ...] = ()


class AwsWorkloadIdentity(Construct):
    """IAM OIDC provider (created or reused), a role only one service account can assume, and its read policy."""

    def __init__(self, scope: Construct, id_: str, *, config: AwsWorkloadIdentityConfig) -> None:
        super().__init__(scope, id_)
        aws = config.aws

        partition = DataAwsPartition(self, "partition")

        caller = DataAwsCallerIdentity(self, "caller")

        if aws.oidc_provider_arn is None:
            provider = IamOpenidConnectProvider(
                self,
                "oidc_provider",
                url=config.issuer_url,
                client_id_list=[aws.audience],
                depends_on=list(config.oidc_provider_depends_on) or None,
            )
            self.oidc_provider_arn: str = provider.arn
        else:
            self.oidc_provider_arn = aws.oidc_provider_arn

        # IAM condition keys name the issuer without its scheme: `oidc.eks.REGION.amazonaws.com/id/X:sub`.
        issuer_key = _issuer_host_and_path(config.issuer_url)
        trust = DataAwsIamPolicyDocument(
            self,
            "trust",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="ServiceAccountWebIdentity",
                    effect="Allow",
                    actions=["sts:AssumeRoleWithWebIdentity"],
                    principals=[
                        DataAwsIamPolicyDocumentStatementPrincipals(type="Federated", identifiers=[self.oidc_provider_arn])
                    ],
                    condition=[
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals",
                            variable=f"{issuer_key}:sub",
                            values=[f"system:serviceaccount:{config.namespace}:{config.service_account}"],
                        ),
                        DataAwsIamPolicyDocumentStatementCondition(
                            test="StringEquals", variable=f"{issuer_key}:aud", values=[aws.audience]
                        ),
                    ],
                )
            ],
        )

        role = IamRole(
            self,
            "role",
            name=aws.role_name,
            path=aws.role_path,
            assume_role_policy=trust.json,
            permissions_boundary=aws.permissions_boundary_arn,
            description=f"External Secrets Operator, service account {config.namespace}/{config.service_account}",
        )
        self.role_arn: str = role.arn
        self.role_name: str = role.name

        read = DataAwsIamPolicyDocument(
            self, "read", statement=_read_statements(aws, partition.partition, caller.account_id)
        )

        policy = IamPolicy(
            self,
            "read_policy",
            name=f"{aws.role_name}-read",
            path=aws.role_path,
            policy=read.json,
            description="Read access of the External Secrets Operator",
        )
        self.policy_arn: str = policy.arn

        IamRolePolicyAttachment(self, "read_policy_attachment", role=role.name, policy_arn=policy.arn)


def _issuer_host_and_path(issuer_url: str) -> str:
    if Token.is_unresolved(issuer_url):
        return Fn.replace(issuer_url, "https://", "")
    return issuer_url.removeprefix("https://")


def _read_statements(aws: AwsSettings, partition: str, account_id: str) -> list[DataAwsIamPolicyDocumentStatement]:
    """Return the read policy's statements.

    They carry no `sub` or `aud` conditions: those claims exist only in the
    AssumeRoleWithWebIdentity request, so such a condition here would deny every read.
    """
    region = aws.region
    statements = []
    if aws.parameter_store.paths:
        parameter_arns = []
        for path in aws.parameter_store.paths:
            bare = path.rstrip("/")
            # GetParametersByPath is authorised against the path's own ARN, the reads below it against `path/*`.
            parameter_arns.append(f"arn:{partition}:ssm:{region}:{account_id}:parameter{bare}")
            parameter_arns.append(f"arn:{partition}:ssm:{region}:{account_id}:parameter{bare}/*")
        statements.append(
            DataAwsIamPolicyDocumentStatement(
                sid="ReadParameters",
                effect="Allow",
                actions=["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
                resources=parameter_arns,
            )
        )
        statements.append(
            DataAwsIamPolicyDocumentStatement(
                sid="DescribeParameters", effect="Allow", actions=["ssm:DescribeParameters"], resources=["*"]
            )
        )
    if aws.secrets_manager.name_prefixes:
        statements.append(
            DataAwsIamPolicyDocumentStatement(
                sid="ReadSecrets",
                effect="Allow",
                actions=[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:ListSecretVersionIds",
                ],
                resources=[
                    f"arn:{partition}:secretsmanager:{region}:{account_id}:secret:{prefix}*"
                    for prefix in aws.secrets_manager.name_prefixes
                ],
            )
        )
        statements.append(
            DataAwsIamPolicyDocumentStatement(
                sid="ListSecrets",
                effect="Allow",
                actions=["secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue"],
                resources=["*"],
            )
        )
    if aws.kms_key_arns:
        statements.append(
            DataAwsIamPolicyDocumentStatement(
                sid="DecryptSecrets", effect="Allow", actions=["kms:Decrypt"], resources=list(aws.kms_key_arns)
            )
        )
    return statements
