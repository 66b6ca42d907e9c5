"""Find environment files that would create the same cloud resource.

Each file is valid alone, but when two environments create an IAM role of the same name in one AWS
account, the second apply fails because the role exists. Every
cloud registers a function in `RESOURCE_FINDERS` that lists the named resources an environment
creates and the scope in which each name must be unique. Files whose resources share kind, name and
scope are reported, each naming the others.

Clouds without a finder are not checked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable

from eso_oidc.config.aws import AwsEnvironment, EksCluster
from eso_oidc.config.environment import Environment
from eso_oidc.config.yaml_source import FieldPath, format_field_path


@dataclass(frozen=True)
class CloudResource:
    """A named resource that an environment creates, and the scope in which its name is unique.

    Two resources collide when `kind`, `key` and `scope` are equal. `scope` contains None where a
    setting that would tell scopes apart is unset, so that two files that both leave it unset
    collide. `value` is the setting at `field_path` that names the resource, and `description`,
    `where` and `fix` make up the message.
    """

    kind: str
    key: str
    scope: tuple[str | None, ...]
    field_path: FieldPath
    value: str
    description: str
    where: str
    fix: str


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
    """Return the named resources that `config` creates, or [] for a cloud without a finder."""
    finder = RESOURCE_FINDERS.get(config.cloud)
    return finder(config) if finder else []


def find_collisions(environments: list[EnvironmentResources]) -> list[tuple[str, int, str, str]]:
    """Return (file, line, field path, message) for every resource that two or more files create."""
    owners: dict[tuple[str, str, tuple[str | None, ...]], list[tuple[EnvironmentResources, CloudResource]]] = (
        defaultdict(list)
    )
    for environment in environments:
        for resource in environment.resources:
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
            verb = "creates" if len(others) == 1 else "create"
            message = (
                f"{resource.value!r} would create {resource.description}, which {' and '.join(others)} "
                f"also {verb} {resource.where}; {resource.fix}"
            )
            line = environment.line_of(resource.field_path)
            collisions.append((environment.file, line, format_field_path(resource.field_path), message))
    return collisions


@register_resource_finder("aws")
def aws_resources(config: AwsEnvironment) -> list[CloudResource]:
    """List the IAM role (with its read policy) and the IAM OIDC provider an AWS environment creates."""
    aws = config.aws
    account = aws.account_id
    if account:
        where = f"in AWS account {account}"
        account_fix = ""
    else:
        where = "in the same AWS account as far as eso-oidc can tell, because aws.account_id is unset in both"
        account_fix = "set aws.account_id in each if they deploy to different accounts, or "
    resources = [
        CloudResource(
            kind="iam-role",
            # IAM role and policy names are unique per account regardless of case.
            key=aws.role_name.lower(),
            scope=("aws", account),
            field_path=("aws", "role_name"),
            value=aws.role_name,
            description=f"IAM role {aws.role_name} and policy {aws.role_name}-read",
            where=where,
            fix=f"{account_fix}set a different aws.role_name in one of them",
        )
    ]
    if aws.oidc_provider_arn is None:
        resources.append(_aws_oidc_provider(config, where, account_fix))
    return resources


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
            value=cluster.name,
            description=f"the IAM OIDC provider of EKS cluster {cluster.name} in {config.aws.region}",
            where=where,
            fix=fix,
        )
    issuer_url = str(cluster.issuer_url)
    return CloudResource(
        kind="iam-oidc-provider",
        key=issuer_url.removeprefix("https://").rstrip("/"),
        scope=("aws", config.aws.account_id),
        field_path=("cluster", "issuer_url"),
        value=issuer_url,
        description="the IAM OIDC provider of this issuer",
        where=where,
        fix=fix,
    )


# The Azure and GCP finders read their settings by name instead of importing the models, so that
# they work whichever of those models is installed.


@register_resource_finder("azure")
def azure_resources(config: Any) -> list[CloudResource]:
    """List the user-assigned managed identity an Azure environment creates."""
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
            value=identity.name,
            description=f"managed identity {identity.name}",
            where=where,
            fix="set a different azure.identity.name or azure.identity.resource_group in one of them",
        )
    ]


@register_resource_finder("gcp")
def gcp_resources(config: Any) -> list[CloudResource]:
    """List the Google service account a GCP environment creates in `service_account` mode."""
    gcp = config.gcp
    if getattr(gcp, "mode", None) != "service_account":
        return []
    # TODO: list the workload identity pool and provider once self-managed clusters on GCP create them.
    # Their ids are unique per project, and a deleted pool keeps its id for 30 days.
    return [
        CloudResource(
            kind="gcp-service-account",
            key=gcp.service_account_id,
            scope=("gcp", gcp.project_id),
            field_path=("gcp", "service_account_id"),
            value=gcp.service_account_id,
            description=f"Google service account {gcp.service_account_id}",
            where=f"in project {gcp.project_id}",
            fix="set a different gcp.service_account_id in one of them",
        )
    ]
