"""An S3 bucket that serves a self-managed cluster's discovery documents at its issuer URL."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import (
    DataAwsIamPolicyDocument,
    DataAwsIamPolicyDocumentStatement,
    DataAwsIamPolicyDocumentStatementPrincipals,
)
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_object import S3Object
from constructs import Construct

from eso_oidc.eso import escape_templates
from eso_oidc.publishing import CONTENT_TYPE, PublishedDocuments


@dataclass(frozen=True)
class S3DiscoveryHostingConfig:
    """The bucket to create and the documents to put into it."""

    bucket: str
    documents: PublishedDocuments


class S3DiscoveryHosting(Construct):
    """A bucket whose two discovery document objects, and nothing else, anyone may read.

    Object ownership is enforced, so ACLs are disabled and cannot make other objects public. The
    public access block still rejects ACLs, but lets the bucket policy grant the public read.
    """

    def __init__(self, scope: Construct, id_: str, *, config: S3DiscoveryHostingConfig) -> None:
        super().__init__(scope, id_)
        documents = config.documents

        bucket = S3Bucket(self, "bucket", bucket=config.bucket)
        self.bucket_name: str = bucket.bucket

        ownership = S3BucketOwnershipControls(
            self,
            "ownership_controls",
            bucket=bucket.id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )

        public_access = S3BucketPublicAccessBlock(
            self,
            "public_access_block",
            bucket=bucket.id,
            block_public_acls=True,
            ignore_public_acls=True,
            block_public_policy=False,
            restrict_public_buckets=False,
        )

        openid_configuration = S3Object(
            self,
            "openid_configuration",
            bucket=bucket.id,
            key=documents.openid_configuration_name,
            content=escape_templates(documents.openid_configuration),
            content_type=CONTENT_TYPE,
            depends_on=[ownership],
        )
        jwks = S3Object(
            self,
            "jwks",
            bucket=bucket.id,
            key=documents.jwks_name,
            content=escape_templates(documents.jwks),
            content_type=CONTENT_TYPE,
            depends_on=[ownership],
        )

        public_read = DataAwsIamPolicyDocument(
            self,
            "public_read",
            statement=[
                DataAwsIamPolicyDocumentStatement(
                    sid="PublicReadDiscoveryDocuments",
                    effect="Allow",
                    actions=["s3:GetObject"],
                    principals=[DataAwsIamPolicyDocumentStatementPrincipals(type="*", identifiers=["*"])],
                    resources=[
                        f"{bucket.arn}/{documents.openid_configuration_name}",
                        f"{bucket.arn}/{documents.jwks_name}",
                    ],
                )
            ],
        )

        # With the public access block still blocking public policies, PutBucketPolicy is denied.
        policy = S3BucketPolicy(
            self, "policy", bucket=bucket.id, policy=public_read.json, depends_on=[public_access]
        )

        # Anything that fetches the documents, such as IAM creating the OIDC provider, waits for these.
        self.document_dependables: list[ITerraformDependable] = [openid_configuration, jwks, policy]
