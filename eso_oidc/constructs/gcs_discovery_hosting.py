"""A Cloud Storage bucket that serves a self-managed cluster's discovery documents at its issuer URL."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_google.storage_bucket import StorageBucket
from cdktf_cdktf_provider_google.storage_bucket_iam_member import StorageBucketIamMember
from cdktf_cdktf_provider_google.storage_bucket_object import StorageBucketObject
from constructs import Construct

from eso_oidc.eso import escape_templates
from eso_oidc.publishing import CONTENT_TYPE, PublishedDocuments

# Grants storage.objects.get only: anyone may read an object by name, but not list the bucket.
PUBLIC_READ_ROLE = "roles/storage.legacyObjectReader"


@dataclass(frozen=True)
class GcsDiscoveryHostingConfig:
    """The bucket to create, its project and location, and the documents to put into it."""

    project_id: str
    bucket: str
    location: str
    documents: PublishedDocuments


class GcsDiscoveryHosting(Construct):
    """A bucket with uniform bucket-level access whose objects `allUsers` may read.

    Uniform access disables object ACLs, so the public read is one bucket-level grant and covers
    every object in the bucket. The bucket must therefore contain the two documents only.
    """

    def __init__(self, scope: Construct, id_: str, *, config: GcsDiscoveryHostingConfig) -> None:
        super().__init__(scope, id_)
        documents = config.documents

        bucket = StorageBucket(
            self,
            "bucket",
            project=config.project_id,
            name=config.bucket,
            location=config.location,
            uniform_bucket_level_access=True,
            # "enforced" would block the public read below.
            public_access_prevention="inherited",
        )
        self.bucket_name: str = bucket.name

        StorageBucketIamMember(self, "public_read", bucket=bucket.name, role=PUBLIC_READ_ROLE, member="allUsers")

        StorageBucketObject(
            self,
            "openid_configuration",
            bucket=bucket.name,
            name=documents.openid_configuration_name,
            content=escape_templates(documents.openid_configuration),
            content_type=CONTENT_TYPE,
        )
        StorageBucketObject(
            self,
            "jwks",
            bucket=bucket.name,
            name=documents.jwks_name,
            content=escape_templates(documents.jwks),
            content_type=CONTENT_TYPE,
        )
