"""Find environment files that would create the same cloud resource or share one Terraform state.

Each file is valid alone, but when two environments create an IAM role of the same name in one AWS
account, the second apply fails because the role exists. When two environments keep their state in
the same place, applying the second plans to destroy what the first created. Every cloud registers a
function in `RESOURCE_FINDERS` that lists the named resources an environment creates and the scope in
which each name must be unique, and `state_resources` describes the state of any environment. Files
whose resources share kind, name and scope are reported, each naming the others.

Clouds without a finder are checked for shared state only.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from eso_oidc.config.aws import AwsEnvironment, EksCluster
from eso_oidc.config.cluster import SelfManagedCluster
from eso_oidc.config.common import Backend
from eso_oidc.config.environment import Environment
from eso_oidc.config.yaml_source import FieldPath, format_field_path


@dataclass(frozen=True)
class CloudResource:
    """A named resource that an environment creates, and the scope in which its name is unique.

    Two resources collide when `kind`, `key` and `scope` are equal. `scope` contains None where a
    setting that would tell scopes apart is unset, so that two files that both leave it unset
    collide. The message reads "`subject`, which OTHER FILES also `verbs` `where`; `fix`". `subject`
    names the setting at `field_path` and what it would do, and `verbs` contains the verb for one
    other file and for several. In `where` and `fix`, `{all_files}` becomes "both" or "all N", and
    `{other_environments}` becomes "the other environment" or "the other environments".
    """

    kind: str
    key: str
    scope: tuple[str | None, ...]
    field_path: FieldPath
    subject: str
    where: str
    fix: str
    verbs: tuple[str, str] = ("creates", "create")


@dataclass(frozen=True)
class EnvironmentResources:
    """The resources of one environment file, with the line of each setting that names them."""

    file: str
    resources: list[CloudResource]
    lines: dict[FieldPath, int]

    def line_of(self, field_path: FieldPath) -> int:
        for end in range(len(field_path), -1, -1):
            line = self.lines.get(tuple(field_path[:end]))
            if line:
                return line
        return 0


ResourceFinder = Callable[[Any], list[CloudResource]]

RESOURCE_FINDERS: dict[str, ResourceFinder] = {}
"""Function per value of `cloud` that returns the named resources an environment creates."""


def register_resource_finder(cloud: str) -> Callable[[ResourceFinder], ResourceFinder]:
    """Register the decorated function as the resource finder of `cloud`."""

    def register(finder: ResourceFinder) -> ResourceFinder:
        RESOURCE_FINDERS[cloud] = finder
        return finder

    return register


def cloud_resources(config: Environment) -> list[CloudResource]:
    """Return the Terraform state and the named cloud resources of `config`.

    A cloud without a finder contributes only its state.
    """
    finder = RESOURCE_FINDERS.get(config.cloud)
    return state_resources(config.backend) + (finder(config) if finder else [])


def find_collisions(environments: list[EnvironmentResources]) -> list[tuple[str, int, str, str]]:
    """Return (file, line, field path, message) for every resource that two or more files create."""
    owners: dict[tuple[str, str, tuple[str | None, ...]], list[tuple[EnvironmentResources, CloudResource]]] = (
        defaultdict(list)
    )
    for environment in environments:
        for resource in environment.resources:
            resource = _name_default_state(environment, resource)
            owners[(resource.kind, resource.key, resource.scope)].append((environment, resource))

    collisions: list[tuple[str, int, str, str]] = []
    for group in owners.values():
        files = {environment.file for environment, _ in group}
        if len(files) < 2:
            continue
        for environment, resource in group:
            others = sorted(
                f"{other.file} (line {other.line_of(other_resource.field_path)})"
                for other, other_resource in group
                if other.file != environment.file
            )
            verb = resource.verbs[0] if len(others) == 1 else resource.verbs[1]
            where = _name_files(resource.where, len(files))
            fix = _name_files(resource.fix, len(files))
            message = f"{resource.subject}, which {_join(others)} also {verb}{' ' + where if where else ''}; {fix}"
            line = environment.line_of(resource.field_path)
            collisions.append((environment.file, line, format_field_path(resource.field_path), message))
    return collisions


def _name_files(text: str, count: int) -> str:
    """Fill in the placeholders of `CloudResource.where` and `.fix` for `count` colliding files."""
    all_files = "both" if count == 2 else f"all {count}"
    other_environments = "the other environment" if count == 2 else "the other environments"
    return text.replace("{all_files}", all_files).replace("{other_environments}", other_environments)


MAX_NAMED_FILES = 3


def _join(names: list[str]) -> str:
    """Join `names` as English does: "a", "a and b", "a, b and c", "a, b, c and 4 more files".

    Past `MAX_NAMED_FILES` the rest are counted, so that N colliding files print N lines, not N².
    """
    if len(names) > MAX_NAMED_FILES:
        return f"{', '.join(names[:MAX_NAMED_FILES])} and {len(names) - MAX_NAMED_FILES} more files"
    if len(names) <= 2:
        return " and ".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


# Terraform state. Two stacks that share a state plan to destroy each other's resources, because
# the state lists resources that the configuration of the stack being applied does not contain.

STATE_KIND = "terraform-state"
STATE_FIX = "applying one would plan to destroy the resources of {other_environments}"
_DEFAULT_STATE_KEY = "local-default"
"""Key of the default local state, which is named after the file and resolved in `find_collisions`."""


def state_resources(backend: Backend | None) -> list[CloudResource]:
    """Describe where the Terraform state of an environment with `backend` is kept.

    The places match `_configure_backend` in `eso_oidc/stack.py`. The S3 region is not compared,
    because bucket names are global. A GCS prefix is compared without surrounding slashes, because
    the backend keeps the state at `<prefix>/default.tfstate` either way.
    """
    if backend is None:
        return [
            CloudResource(
                kind=STATE_KIND,
                key=_DEFAULT_STATE_KEY,
                scope=("state",),
                field_path=("backend",),
                subject="unset, so the Terraform state would be kept in the local file {path}",
                where="",
                fix=f"{STATE_FIX}; set a backend with a distinct state in one of them",
                verbs=("uses", "use"),
            )
        ]
    if backend.s3 is not None:
        s3 = backend.s3
        return [
            _state(
                f"s3:{s3.bucket}/{s3.key}",
                ("backend", "s3", "key"),
                f"{s3.key!r} would keep the Terraform state in s3://{s3.bucket}/{s3.key}",
                "set a distinct backend.s3.key in each",
            )
        ]
    if backend.azurerm is not None:
        azurerm = backend.azurerm
        # Storage account names are lowercase only, while container and blob names are compared exactly.
        return [
            _state(
                f"azurerm:{azurerm.storage_account_name.lower()}/{azurerm.container_name}/{azurerm.key}",
                ("backend", "azurerm", "key"),
                f"{azurerm.key!r} would keep the Terraform state in blob {azurerm.key} of container "
                f"{azurerm.container_name} in storage account {azurerm.storage_account_name}",
                "set a distinct backend.azurerm.key in each",
            )
        ]
    if backend.gcs is not None:
        gcs = backend.gcs
        prefix = gcs.prefix.strip("/")
        return [
            _state(
                f"gcs:{gcs.bucket}/{prefix}",
                ("backend", "gcs", "prefix"),
                f"{gcs.prefix!r} would keep the Terraform state in gs://{gcs.bucket}/{prefix}",
                "set a distinct backend.gcs.prefix in each",
            )
        ]
    if backend.local is not None:
        path = backend.local.path
        return [
            _state(
                _local_state_key(path),
                ("backend", "local", "path"),
                f"{path!r} would keep the Terraform state in the local file {path}",
                "set a distinct backend.local.path in each",
            )
        ]
    return []


def _state(key: str, field_path: FieldPath, subject: str, fix: str) -> CloudResource:
    return CloudResource(
        kind=STATE_KIND,
        key=key,
        scope=("state",),
        field_path=field_path,
        subject=subject,
        where="",
        fix=f"{STATE_FIX}; {fix}",
        verbs=("uses", "use"),
    )


def _local_state_key(path: str) -> str:
    """Return a key that is equal for two spellings of one local state file.

    A relative path is relative to the project folder, where `main.py` and `check` run, so it is
    resolved against the current folder.
    """
    return f"local:{os.path.normpath(os.path.abspath(path))}"


def _name_default_state(environment: EnvironmentResources, resource: CloudResource) -> CloudResource:
    """Resolve the default local state file, `terraform.<stem>.tfstate`, from the environment's file name."""
    if resource.key != _DEFAULT_STATE_KEY:
        return resource
    path = f"terraform.{Path(environment.file).stem}.tfstate"
    return replace(resource, key=_local_state_key(path), subject=resource.subject.format(path=path))


# Self-managed clusters publish their discovery documents in a bucket or storage account that the
# stack creates and sets the access policy of. Its name is global, so two environments collide
# whatever their prefixes.


def _discovery_hosting(config: Any) -> list[CloudResource]:
    """List the bucket or storage account that a self-managed cluster's discovery documents are published in."""
    cluster = config.cluster
    if not isinstance(cluster, SelfManagedCluster):
        return []
    discovery = cluster.discovery
    global_fix = "names are global and each environment creates its own, whatever the prefix"
    if discovery.publish == "s3" and discovery.s3 is not None:
        bucket = discovery.s3.bucket
        return [
            CloudResource(
                kind="s3-bucket",
                key=bucket,
                scope=("aws",),
                field_path=("cluster", "discovery", "s3", "bucket"),
                subject=f"{bucket!r} would create S3 bucket {bucket} for the discovery documents",
                where="",
                fix=f"S3 bucket {global_fix}; set a different cluster.discovery.s3.bucket in one of them",
            )
        ]
    if discovery.publish == "gcs" and discovery.gcs is not None:
        bucket = discovery.gcs.bucket
        return [
            CloudResource(
                kind="gcs-bucket",
                key=bucket,
                scope=("gcp",),
                field_path=("cluster", "discovery", "gcs", "bucket"),
                subject=f"{bucket!r} would create Cloud Storage bucket {bucket} for the discovery documents",
                where="",
                fix=f"bucket {global_fix}; set a different cluster.discovery.gcs.bucket in one of them",
            )
        ]
    if discovery.publish == "azure_blob" and discovery.azure_blob is not None:
        account = discovery.azure_blob.storage_account_name
        return [
            CloudResource(
                kind="azure-storage-account",
                key=account.lower(),
                scope=("azure",),
                field_path=("cluster", "discovery", "azure_blob", "storage_account_name"),
                subject=f"{account!r} would create storage account {account} for the discovery documents",
                where="",
                fix=f"storage account {global_fix}; set a different cluster.discovery.azure_blob.storage_account_name "
                "in one of them",
            )
        ]
    return []


@register_resource_finder("aws")
def aws_resources(config: AwsEnvironment) -> list[CloudResource]:
    """List the IAM role (with its read policy), the IAM OIDC provider and the discovery bucket an AWS environment creates.

    IAM names are unique per account. When aws.account_id is unset in two files, they are taken to
    deploy to the same account. A file that leaves it unset is never compared with one that sets it,
    because the account it deploys to is not known before apply.
    """
    aws = config.aws
    account = aws.account_id
    if account:
        where = f"in AWS account {account}"
        account_fix = ""
    else:
        where = "in the same AWS account as far as eso-oidc can tell, because aws.account_id is unset in {all_files}"
        account_fix = "set aws.account_id in each if they deploy to different accounts, or "
    resources = [
        CloudResource(
            kind="iam-role",
            # IAM role and policy names are unique per account regardless of case.
            key=aws.role_name.lower(),
            scope=("aws", account),
            field_path=("aws", "role_name"),
            subject=f"{aws.role_name!r} would create IAM role {aws.role_name} and policy {aws.role_name}-read",
            where=where,
            fix=f"{account_fix}set a different aws.role_name in one of them",
        )
    ]
    if aws.oidc_provider_arn is None:
        resources.append(_aws_oidc_provider(config, where, account_fix))
    return resources + _discovery_hosting(config)


def _aws_oidc_provider(config: AwsEnvironment, where: str, account_fix: str) -> CloudResource:
    """Describe the IAM OIDC provider of the issuer, which IAM allows once per account and URL."""
    cluster = config.cluster
    fix = f"{account_fix}create the provider in one of them and set aws.oidc_provider_arn to its ARN in the others"
    if isinstance(cluster, EksCluster) and cluster.issuer_url is None:
        return CloudResource(
            kind="iam-oidc-provider",
            key=f"eks:{config.aws.region}:{cluster.name}",
            scope=("aws", config.aws.account_id),
            field_path=("cluster", "name"),
            subject=f"{cluster.name!r} would create the IAM OIDC provider of EKS cluster {cluster.name} in "
            f"{config.aws.region}",
            where=where,
            fix=fix,
        )
    issuer_url = str(cluster.issuer_url)
    return CloudResource(
        kind="iam-oidc-provider",
        key=issuer_url.removeprefix("https://").rstrip("/"),
        scope=("aws", config.aws.account_id),
        field_path=("cluster", "issuer_url"),
        subject=f"{issuer_url!r} would create the IAM OIDC provider of this issuer",
        where=where,
        fix=fix,
    )


# The Azure and GCP finders read their settings by name instead of importing the models, so that
# they work whichever of those models is installed.


@register_resource_finder("azure")
def azure_resources(config: Any) -> list[CloudResource]:
    """List the user-assigned managed identity and the discovery storage account an Azure environment creates."""
    azure = config.azure
    identity = azure.identity
    where = f"in subscription {azure.subscription_id}, resource group {identity.resource_group}"
    return [
        CloudResource(
            kind="azure-user-assigned-identity",
            # Azure resource names and resource groups are case-insensitive.
            key=identity.name.lower(),
            scope=("azure", azure.subscription_id.lower(), identity.resource_group.lower()),
            field_path=("azure", "identity", "name"),
            subject=f"{identity.name!r} would create managed identity {identity.name}",
            where=where,
            fix="set a different azure.identity.name or azure.identity.resource_group in one of them",
        )
    ] + _discovery_hosting(config)


@register_resource_finder("gcp")
def gcp_resources(config: Any) -> list[CloudResource]:
    """List the Google service account, workload identity pool and discovery bucket a GCP environment creates.

    `service_account` mode creates a service account. A self-managed cluster gets a workload identity
    pool with one provider. Pool ids are unique per project, and a deleted pool keeps its id for 30 days.
    """
    gcp = config.gcp
    resources = _discovery_hosting(config)
    if isinstance(config.cluster, SelfManagedCluster):
        pool_id = gcp.workload_identity_pool_id
        provider_id = gcp.workload_identity_pool_provider_id
        # Provider ids are unique within their pool, so the pool id alone decides a collision.
        resources.append(
            CloudResource(
                kind="gcp-workload-identity-pool",
                key=pool_id,
                scope=("gcp", gcp.project_id),
                field_path=("gcp", "workload_identity_pool_id"),
                subject=f"{pool_id!r} would create workload identity pool {pool_id} with provider {provider_id}",
                where=f"in project {gcp.project_id}",
                fix="set a different gcp.workload_identity_pool_id in one of them",
            )
        )
    if getattr(gcp, "mode", None) == "service_account":
        resources.append(
            CloudResource(
                kind="gcp-service-account",
                key=gcp.service_account_id,
                scope=("gcp", gcp.project_id),
                field_path=("gcp", "service_account_id"),
                subject=f"{gcp.service_account_id!r} would create Google service account {gcp.service_account_id}",
                where=f"in project {gcp.project_id}",
                fix="set a different gcp.service_account_id in one of them",
            )
        )
    return resources
