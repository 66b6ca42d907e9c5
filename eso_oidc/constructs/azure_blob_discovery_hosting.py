"""A storage account whose static website serves a self-managed cluster's discovery documents."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import Postcondition, TerraformResourceLifecycle
from cdktf_cdktf_provider_azurerm.storage_account import StorageAccount
from cdktf_cdktf_provider_azurerm.storage_account_static_website import StorageAccountStaticWebsiteA
from cdktf_cdktf_provider_azurerm.storage_blob import StorageBlob
from constructs import Construct

from eso_oidc.eso import escape_templates
from eso_oidc.publishing import CONTENT_TYPE, PublishedDocuments

# The container Azure creates for the static website and serves at the account's web endpoint.
WEBSITE_CONTAINER = "$web"


@dataclass(frozen=True)
class AzureBlobDiscoveryHostingConfig:
    """The storage account to create, the web endpoint it must get, and the documents to put into it.

    `web_endpoint` is the endpoint that the issuer URL names, with Azure's trailing `/`.
    """

    storage_account_name: str
    resource_group_name: str
    location: str
    web_endpoint: str
    documents: PublishedDocuments
    tags: dict[str, str] = field(default_factory=dict)


class AzureBlobDiscoveryHosting(Construct):
    """A storage account with static website hosting, and the two documents as blobs in `$web`.

    The website endpoint serves `$web` to anyone, while blob public access stays disabled, so the
    account's other containers remain private. Azure assigns the zone of the web endpoint
    (`z6` in `https://NAME.z6.web.core.windows.net/`) when it creates the account. A postcondition
    stops the apply when that zone differs from the one in the issuer URL.
    """

    def __init__(self, scope: Construct, id_: str, *, config: AzureBlobDiscoveryHostingConfig) -> None:
        super().__init__(scope, id_)
        documents = config.documents

        account = StorageAccount(
            self,
            "storage_account",
            name=config.storage_account_name,
            resource_group_name=config.resource_group_name,
            location=config.location,
            account_kind="StorageV2",
            account_tier="Standard",
            account_replication_type="LRS",
            min_tls_version="TLS1_2",
            https_traffic_only_enabled=True,
            allow_nested_items_to_be_public=False,
            tags=config.tags or None,
            lifecycle=TerraformResourceLifecycle(
                postcondition=[
                    Postcondition(
                        condition=f'${{self.primary_web_endpoint == "{config.web_endpoint}"}}',
                        error_message=f"Storage account {config.storage_account_name} got a web endpoint other "
                        f"than {config.web_endpoint}, which issuer_url names. Read the real one with `az storage "
                        f"account show --name {config.storage_account_name} --query primaryEndpoints.web`, set "
                        "cluster.issuer_url and the cluster's --service-account-issuer to it plus the prefix, "
                        "fetch the discovery documents again and apply again.",
                    )
                ]
            ),
        )
        self.storage_account_name: str = account.name
        self.web_endpoint: str = account.primary_web_endpoint

        website = StorageAccountStaticWebsiteA(self, "static_website", storage_account_id=account.id)

        StorageBlob(
            self,
            "openid_configuration",
            name=documents.openid_configuration_name,
            storage_account_name=account.name,
            storage_container_name=WEBSITE_CONTAINER,
            type="Block",
            content_type=CONTENT_TYPE,
            source_content=escape_templates(documents.openid_configuration),
            depends_on=[website],
        )
        StorageBlob(
            self,
            "jwks",
            name=documents.jwks_name,
            storage_account_name=account.name,
            storage_container_name=WEBSITE_CONTAINER,
            type="Block",
            content_type=CONTENT_TYPE,
            source_content=escape_templates(documents.jwks),
            depends_on=[website],
        )
