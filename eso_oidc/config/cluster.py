"""Clusters no cloud manages (kubeadm, k3s, Talos, on-premises), which publish their own issuer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, StrictStr, model_validator

from eso_oidc.config.common import Kubeconfig, Settings
from eso_oidc.config.types import (
    AzureLocation,
    GcsBucketName,
    GcsLocation,
    IssuerUrl,
    ObjectPrefix,
    ResourceGroupName,
    S3BucketName,
    StorageAccountName,
)
from eso_oidc.config.yaml_source import FieldPath
from eso_oidc.discovery import check_discovery_documents, expected_jwks_uri

PUBLISH_TARGETS = ("s3", "azure_blob", "gcs")

# The cloud whose provider a publishing target needs; a stack configures only its own cloud's provider.
PUBLISH_TARGET_CLOUDS = {"s3": "aws", "azure_blob": "azure", "gcs": "gcp"}


def _with_prefix(base_url: str, prefix: str | None) -> str:
    return f"{base_url}/{prefix}" if prefix else base_url


class S3Publishing(Settings):
    """An S3 bucket created to serve the discovery documents, in the region of `aws.region`."""

    bucket: S3BucketName = Field(description="Name of the bucket to create. Without dots, so that its TLS certificate matches.")
    prefix: ObjectPrefix | None = Field(
        default=None,
        description="Key prefix of the two objects, such as `cluster-a`. When unset, they sit at the bucket's root.",
    )

    def issuer_url(self, region: str) -> str:
        """Return the issuer URL the objects are served at: the bucket's virtual-hosted HTTPS URL plus prefix."""
        domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        return _with_prefix(f"https://{self.bucket}.s3.{region}.{domain}", self.prefix)


class AzureBlobPublishing(Settings):
    """A storage account created to serve the discovery documents as a static website (container `$web`)."""

    storage_account_name: StorageAccountName = Field(description="Name of the storage account to create.")
    resource_group_name: ResourceGroupName = Field(
        description="Existing resource group the storage account is created in."
    )
    location: AzureLocation = Field(description="Azure region of the storage account, such as `westeurope`.")
    prefix: ObjectPrefix | None = Field(
        default=None,
        description="Blob name prefix of the two documents in `$web`, such as `cluster-a`. When unset, they "
        "sit at the website's root.",
    )

    def issuer_url_problem(self, issuer_url: str) -> str | None:
        """Return why `issuer_url` cannot be this account's web endpoint plus prefix, or None when it can.

        Azure picks the zone of the endpoint (`z6` in `https://NAME.z6.web.core.windows.net`) when
        it creates the account, so only its form is checked here. The storage account carries a
        postcondition that compares the real endpoint when Terraform creates it.
        """
        # NOTE: only the Azure public cloud's endpoint suffix is accepted; sovereign clouds use others.
        expected = _with_prefix(f"https://{self.storage_account_name}.zNN.web.core.windows.net", self.prefix)
        pattern = _with_prefix(
            rf"https://{re.escape(self.storage_account_name)}\.z[0-9]+\.web\.core\.windows\.net",
            re.escape(self.prefix) if self.prefix else None,
        )
        if re.fullmatch(pattern, issuer_url.rstrip("/")):
            return None
        return (
            f"{issuer_url!r} is not the static website endpoint of storage account "
            f"{self.storage_account_name!r} plus prefix; expected {expected!r}, where zNN is the zone "
            "Azure gave the account (`az storage account show --query primaryEndpoints.web`)"
        )

    @staticmethod
    def web_endpoint(issuer_url: str) -> str:
        """Return the web endpoint that `issuer_url` names, with the trailing `/` that Azure reports."""
        host = issuer_url.removeprefix("https://").split("/", 1)[0]
        return f"https://{host}/"


class GcsPublishing(Settings):
    """A Cloud Storage bucket created to serve the discovery documents."""

    bucket: GcsBucketName = Field(description="Name of the bucket to create.")
    location: GcsLocation = Field(description="Location of the bucket, such as `EU` or `europe-west3`.")
    prefix: ObjectPrefix | None = Field(
        default=None,
        description="Object name prefix of the two documents, such as `cluster-a`. When unset, they sit at "
        "the bucket's root.",
    )

    def issuer_url(self) -> str:
        """Return the issuer URL the objects are served at: the bucket's path-style HTTPS URL plus prefix."""
        return _with_prefix(f"https://storage.googleapis.com/{self.bucket}", self.prefix)


class DiscoveryDocuments(Settings):
    """Copies of the issuer's two OpenID Connect documents, and where they are published."""

    openid_configuration: StrictStr = Field(
        description="Copy of the cluster's `/.well-known/openid-configuration`, relative to the environment file."
    )
    jwks: StrictStr = Field(description="Copy of the cluster's `/openid/v1/jwks`, relative to the environment file.")
    publish: Literal["s3", "azure_blob", "gcs", "none"] = Field(
        description="Where the documents are served at `issuer_url`: `s3` (cloud aws), `azure_blob` (cloud azure), "
        "`gcs` (cloud gcp), or `none` when you host them yourself. The section of the same name configures it."
    )
    s3: S3Publishing | None = Field(default=None, description="The bucket, when `publish: s3`.")
    azure_blob: AzureBlobPublishing | None = Field(
        default=None, description="The storage account, when `publish: azure_blob`."
    )
    gcs: GcsPublishing | None = Field(default=None, description="The bucket, when `publish: gcs`.")

    @model_validator(mode="after")
    def _one_target(self) -> DiscoveryDocuments:
        for target in PUBLISH_TARGETS:
            if target == self.publish and getattr(self, target) is None:
                raise ValueError(f"publish: {target} needs the section `{target}` next to it; add it")
            if target != self.publish and getattr(self, target) is not None:
                raise ValueError(
                    f"the section `{target}` is set, but publish is {self.publish!r}; "
                    f"remove the section or set publish: {target}"
                )
        return self

    def paths(self, environment_file: Path) -> tuple[Path, Path]:
        """Return the OpenID configuration and key set files, resolved against the environment file's folder."""
        folder = environment_file.parent
        return folder / self.openid_configuration, folder / self.jwks


class SelfManagedCluster(Settings):
    """A cluster whose service-account issuer is published as static files."""

    type: Literal["self-managed"] = Field(description="Marks a cluster that no cloud manages.")
    issuer_url: IssuerUrl = Field(
        description="The cluster's `--service-account-issuer`, byte for byte: the HTTPS URL where the documents are served."
    )
    discovery: DiscoveryDocuments = Field(description="The issuer's discovery documents.")
    kubeconfig: Kubeconfig = Field(description="How Helm reaches the cluster.")

    @property
    def jwks_uri(self) -> str:
        """The URL of the key set: the issuer URL followed by `/openid/v1/jwks`."""
        return expected_jwks_uri(self.issuer_url)

    def kube_apiserver_flags(self) -> list[str]:
        """Return the kube-apiserver flags that make the cluster issue tokens for this issuer."""
        return [f"--service-account-issuer={self.issuer_url}", f"--service-account-jwks-uri={self.jwks_uri}"]


def check_self_managed(cluster: SelfManagedCluster, cloud: str, region: str | None, environment_file: Path) -> list[tuple[FieldPath, str]]:
    """Return the problems of a self-managed cluster that span fields or files, as (field path, message) pairs.

    `region` is the AWS region, which decides the URL of an S3 bucket; None for other clouds.
    """
    problems: list[tuple[FieldPath, str]] = []
    discovery = cluster.discovery
    target = discovery.publish
    if target != "none" and PUBLISH_TARGET_CLOUDS[target] != cloud:
        allowed = [name for name, owner in PUBLISH_TARGET_CLOUDS.items() if owner == cloud]
        problems.append(
            (
                ("cluster", "discovery", "publish"),
                f"publish: {target} needs cloud: {PUBLISH_TARGET_CLOUDS[target]}; with cloud: {cloud} use "
                f"{' or '.join(allowed)}, or none to host the documents yourself",
            )
        )
    else:
        issuer_problem = _issuer_url_problem(cluster, region)
        if issuer_problem:
            problems.append((("cluster", "issuer_url"), issuer_problem))

    openid_configuration, jwks = discovery.paths(environment_file)
    for document, message in check_discovery_documents(cluster.issuer_url, openid_configuration, jwks):
        problems.append((("cluster", "discovery", document), message))
    return problems


def _issuer_url_problem(cluster: SelfManagedCluster, region: str | None) -> str | None:
    discovery = cluster.discovery
    issuer_url = cluster.issuer_url
    if discovery.azure_blob is not None:
        return discovery.azure_blob.issuer_url_problem(issuer_url)
    if discovery.s3 is not None and region is not None:
        expected = discovery.s3.issuer_url(region)
        where = f"bucket {discovery.s3.bucket!r} in {region}"
    elif discovery.gcs is not None:
        expected = discovery.gcs.issuer_url()
        where = f"bucket {discovery.gcs.bucket!r}"
    else:
        return None
    if issuer_url.rstrip("/") == expected:
        return None
    return f"{issuer_url!r} is not where {where} serves the documents; expected {expected!r}"
