"""The environment file model: one cluster, the cloud that holds its secrets, and the ESO release."""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import Discriminator, Field, Tag

from eso_oidc.config.common import Backend, ExternalSecrets, Settings
from eso_oidc.config.types import Tags
from eso_oidc.config.yaml_source import FieldPath

CLOUDS = ("aws", "azure", "gcp")


def cluster_type(value: Any) -> str:
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

    def cross_section_problems(self) -> list[tuple[FieldPath, str]]:
        """Return problems that involve settings of several sections, as (field path, message) pairs.

        Pydantic reports a model validator's error at the model, so checks that should point at one
        setting of another section are written here. The loader runs them after validation passes.
        """
        return []


CLUSTER_TYPES = ("managed", "self-managed")
"""Values of `cluster.type`. Pydantic puts them into error locations, from which they are removed."""


def cluster_union(*members: tuple[type, str]):  # type: ignore[no-untyped-def]
    """Return the annotation of a `cluster` field that picks its model by `cluster.type`."""
    tagged = tuple(Annotated[model, Tag(tag)] for model, tag in members)
    return Annotated[Union[tagged], Discriminator(cluster_type)]  # type: ignore[valid-type]
