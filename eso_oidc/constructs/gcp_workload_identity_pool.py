"""A workload identity pool whose OIDC provider trusts a self-managed cluster's service account tokens."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_google.data_google_project import DataGoogleProject
from cdktf_cdktf_provider_google.iam_workload_identity_pool import IamWorkloadIdentityPool
from cdktf_cdktf_provider_google.iam_workload_identity_pool_provider import (
    IamWorkloadIdentityPoolProvider,
    IamWorkloadIdentityPoolProviderOidc,
)
from constructs import Construct

from eso_oidc.eso import escape_templates


def pool_principal(project_number: str, pool_id: str, subject: str) -> str:
    """Return the IAM principal of one token subject of a workload identity pool."""
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/"
        f"workloadIdentityPools/{pool_id}/subject/{subject}"
    )


def pool_provider_audience(project_number: str, pool_id: str, provider_id: str) -> str:
    """Return the audience of tokens for a pool provider: its full resource name without `https:`."""
    return (
        f"//iam.googleapis.com/projects/{project_number}/locations/global/"
        f"workloadIdentityPools/{pool_id}/providers/{provider_id}"
    )


@dataclass(frozen=True)
class GcpWorkloadIdentityPoolConfig:
    """The pool and provider to create, the issuer they trust and the one subject they accept.

    `jwks_json` is the issuer's key set as JSON text. `project_number` is None when it must be
    looked up.
    """

    project_id: str
    project_number: str | None
    pool_id: str
    provider_id: str
    issuer_url: str
    jwks_json: str
    subject: str


class GcpWorkloadIdentityPool(Construct):
    """A pool and an OIDC provider for one issuer, accepting only tokens of one subject for one audience.

    The provider carries the key set itself, so Google verifies tokens without fetching anything
    from the issuer URL. `google.subject` is the token's `sub`, which the principal names.
    """

    def __init__(self, scope: Construct, id_: str, *, config: GcpWorkloadIdentityPoolConfig) -> None:
        super().__init__(scope, id_)

        project_number = config.project_number
        if project_number is None:
            project_number = DataGoogleProject(self, "project", project_id=config.project_id).number

        pool = IamWorkloadIdentityPool(
            self,
            "pool",
            project=config.project_id,
            workload_identity_pool_id=config.pool_id,
            display_name=config.pool_id,
            description="Service account tokens of a self-managed Kubernetes cluster, for the External Secrets Operator",
        )

        self.audience: str = pool_provider_audience(project_number, config.pool_id, config.provider_id)
        self.principal: str = pool_principal(project_number, config.pool_id, config.subject)

        provider = IamWorkloadIdentityPoolProvider(
            self,
            "provider",
            project=config.project_id,
            workload_identity_pool_id=pool.workload_identity_pool_id,
            workload_identity_pool_provider_id=config.provider_id,
            display_name=config.provider_id,
            description=f"Issuer {config.issuer_url}"[:256],
            attribute_mapping={"google.subject": "assertion.sub"},
            # Only the operator's service account may exchange tokens through this provider.
            attribute_condition=f"assertion.sub == '{config.subject}'",
            oidc=IamWorkloadIdentityPoolProviderOidc(
                issuer_uri=config.issuer_url,
                allowed_audiences=[self.audience],
                jwks_json=escape_templates(config.jwks_json),
            ),
        )
        self.provider_name: str = provider.name
        # IAM grants to `principal` wait for these, so that they name a pool that exists.
        self.pool_dependables: list[ITerraformDependable] = [pool, provider]
