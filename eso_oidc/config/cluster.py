"""Clusters no cloud manages (kubeadm, k3s, Talos, on-premises), which publish their own issuer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictStr

from eso_oidc.config.common import Kubeconfig, Settings
from eso_oidc.config.types import IssuerUrl


class DiscoveryDocuments(Settings):
    """Copies of the issuer's two OpenID Connect documents, and where they are published."""

    openid_configuration: StrictStr = Field(
        description="Copy of the cluster's `/.well-known/openid-configuration`, relative to the environment file."
    )
    jwks: StrictStr = Field(description="Copy of the cluster's `/openid/v1/jwks`, relative to the environment file.")
    publish: Literal["s3", "azure_blob", "gcs", "none"] = Field(
        description="Where the documents are served at `issuer_url`: `s3`, `azure_blob`, `gcs`, or `none` "
        "when you host them yourself."
    )


class SelfManagedCluster(Settings):
    """A cluster whose service-account issuer is published as static files."""

    type: Literal["self-managed"] = Field(description="Marks a cluster that no cloud manages.")
    issuer_url: IssuerUrl = Field(
        description="The cluster's `--service-account-issuer`, byte for byte: the HTTPS URL where the documents are served."
    )
    discovery: DiscoveryDocuments = Field(description="The issuer's discovery documents.")
    kubeconfig: Kubeconfig = Field(description="How Helm reaches the cluster.")
