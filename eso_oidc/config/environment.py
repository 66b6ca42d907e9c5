"""The environment file model: one cluster, the cloud that holds its secrets, and the ESO release."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Field, Tag

from eso_oidc.config.aws import AwsSettings, EksCluster
from eso_oidc.config.common import Backend, ExternalSecrets, Settings
from eso_oidc.config.types import Tags

CLOUDS = ("aws", "azure", "gcp")


def _cluster_type(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("type", "managed"))
    return str(getattr(value, "type", "managed"))


class Environment(Settings):
    """Settings every environment file has besides its cloud section."""

    cloud: str
    external_secrets: ExternalSecrets = Field(
        default_factory=ExternalSecrets, description="The External Secrets Operator release."
    )
    backend: Backend | None = Field(
        default=None,
        description="Terraform state backend. When unset, local state in `terraform.<environment>.tfstate` "
        "in the project folder.",
    )
    tags: Tags = Field(default_factory=dict, description="Tags or labels put on every cloud resource created.")


class AwsEnvironment(Environment):
    """An environment whose secrets live in AWS."""

    cloud: Literal["aws"] = Field(description="Cloud that holds the secrets.")
    cluster: Annotated[
        Union[Annotated[EksCluster, Tag("managed")]],
        Discriminator(_cluster_type),
    ] = Field(description="The Kubernetes cluster ESO runs in.")
    aws: AwsSettings = Field(description="AWS account, IAM role and read access.")


ENVIRONMENT_MODELS: dict[str, type[Environment]] = {
    "aws": AwsEnvironment,
}

# Values of `cluster.type`; pydantic puts them into error locations, from which they are removed.
CLUSTER_TYPES = ("managed",)
