"""Workload Identity Federation for GKE: let one Kubernetes service account read Secret Manager."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_google.data_google_project import DataGoogleProject
from cdktf_cdktf_provider_google.project_iam_member import ProjectIamMember
from cdktf_cdktf_provider_google.secret_manager_secret_iam_member import SecretManagerSecretIamMember
from cdktf_cdktf_provider_google.service_account import ServiceAccount
from cdktf_cdktf_provider_google.service_account_iam_member import ServiceAccountIamMember
from constructs import Construct

from eso_oidc.config.gcp import SERVICE_ACCOUNT, GcpSettings

SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"
WORKLOAD_IDENTITY_USER_ROLE = "roles/iam.workloadIdentityUser"


def workload_pool(project_id: str) -> str:
    """Return the workload identity pool of the GKE clusters of `project_id`."""
    return f"{project_id}.svc.id.goog"


def gke_principal(project_number: str, project_id: str, namespace: str, service_account: str) -> str:
    """Return the IAM principal of a Kubernetes service account of a GKE cluster in `project_id`.

    IAM accepts the pool's project only by number here: with the project id the binding is
    created without error but never matches a token.
    """
    return (
        f"principal://iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/"
        f"{workload_pool(project_id)}/subject/ns/{namespace}/sa/{service_account}"
    )


def gke_service_account_member(project_id: str, namespace: str, service_account: str) -> str:
    """Return the IAM member of a Kubernetes service account that may impersonate a Google service account."""
    return f"serviceAccount:{workload_pool(project_id)}[{namespace}/{service_account}]"


@dataclass(frozen=True)
class GcpWorkloadIdentityConfig:
    """The read access to grant, and the Kubernetes service account and cluster project it is for.

    `cluster_project_number` is None when the number must be looked up, which only `direct` mode needs.
    """

    gcp: GcpSettings
    cluster_project_id: str
    cluster_project_number: str | None
    namespace: str
    service_account: str
    # In direct mode, the principal to grant instead of the GKE one, such as a workload identity
    # pool's subject for a self-managed cluster.
    principal: str | None = None
    # Resources the grants wait for, such as the pool that `principal` names.
    grants_depend_on: tuple[ITerraformDependable, ...] = ()


class GcpWorkloadIdentity(Construct):
    """Secret Manager read access for one Kubernetes service account, direct or through a Google service account.

    The trust is pinned on both token claims: GKE issues the tokens for the pool
    `PROJECT_ID.svc.id.goog` (the audience), and the member names the namespace and service
    account (the subject).
    """

    def __init__(self, scope: Construct, id_: str, *, config: GcpWorkloadIdentityConfig) -> None:
        super().__init__(scope, id_)
        gcp = config.gcp

        self.service_account_email: str | None = None
        if gcp.mode == SERVICE_ACCOUNT:
            self.principal: str = gke_service_account_member(
                config.cluster_project_id, config.namespace, config.service_account
            )
            account = ServiceAccount(
                self,
                "service_account",
                project=gcp.project_id,
                account_id=gcp.service_account_id,
                display_name="External Secrets Operator",
                description=f"Impersonated by the Kubernetes service account {config.namespace}/{config.service_account}",
            )
            ServiceAccountIamMember(
                self,
                "workload_identity_user",
                service_account_id=account.name,
                role=WORKLOAD_IDENTITY_USER_ROLE,
                member=self.principal,
            )
            self.service_account_email = account.email
            reader = f"serviceAccount:{account.email}"
        elif config.principal is not None:
            self.principal = config.principal
            reader = self.principal
        else:
            project_number = config.cluster_project_number
            if project_number is None:
                project_number = DataGoogleProject(self, "cluster_project", project_id=config.cluster_project_id).number
            self.principal = gke_principal(
                project_number, config.cluster_project_id, config.namespace, config.service_account
            )
            reader = self.principal

        depends_on = list(config.grants_depend_on) or None
        if gcp.secrets:
            for secret in sorted(gcp.secrets):
                SecretManagerSecretIamMember(
                    self,
                    f"secret_accessor_{secret}",
                    project=gcp.project_id,
                    secret_id=secret,
                    role=SECRET_ACCESSOR_ROLE,
                    member=reader,
                    depends_on=depends_on,
                )
        else:
            ProjectIamMember(
                self,
                "project_accessor",
                project=gcp.project_id,
                role=SECRET_ACCESSOR_ROLE,
                member=reader,
                depends_on=depends_on,
            )
