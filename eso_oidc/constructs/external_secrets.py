"""The External Secrets Operator release and, after it, its ClusterSecretStores."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_helm.release import Release
from constructs import Construct

from eso_oidc.config.common import ExternalSecrets
from eso_oidc.eso import to_json

STORES_CHART = Path(__file__).resolve().parent.parent / "charts" / "cluster-secret-stores"


@dataclass(frozen=True)
class ExternalSecretsOperatorConfig:
    """The release settings, the chart values computed for the cloud, and the store manifests."""

    settings: ExternalSecrets
    values: dict[str, Any]
    stores: list[dict[str, Any]] = field(default_factory=list)


class ExternalSecretsOperator(Construct):
    """A pinned `external-secrets` Helm release, then a release of the ClusterSecretStores that depends on it.

    The stores are a second release because the chart installs its CRDs as templates: a store in
    the same release or planned beside it fails on a fresh cluster, where the kind does not exist yet.
    """

    def __init__(self, scope: Construct, id_: str, *, config: ExternalSecretsOperatorConfig) -> None:
        super().__init__(scope, id_)
        settings = config.settings

        operator = Release(
            self,
            "operator",
            name=settings.release_name,
            repository=settings.chart_repository,
            chart="external-secrets",
            version=settings.chart_version,
            namespace=settings.namespace,
            create_namespace=True,
            wait=True,
            atomic=True,
            values=[to_json(config.values)],
        )
        self.namespace: str = settings.namespace
        self.service_account_name: str = settings.service_account
        self.store_names: list[str] = [store["metadata"]["name"] for store in config.stores]

        stores_chart = TerraformAsset(self, "stores_chart", path=str(STORES_CHART), type=AssetType.DIRECTORY)

        Release(
            self,
            "stores",
            name=f"{settings.release_name}-stores",
            chart=stores_chart.path,
            namespace=settings.namespace,
            wait=True,
            atomic=True,
            values=[to_json({"stores": config.stores})],
            depends_on=[operator],
        )
