"""One environment file becomes one stack: state backend, the cloud's trust, ESO and the outputs."""

from __future__ import annotations

import importlib
import os

from cdktf import (
    AzurermBackend,
    GcsBackend,
    LocalBackend,
    S3Backend,
    TerraformLocal,
    TerraformOutput,
    TerraformStack,
    TerraformVariable,
)
from constructs import Construct

from eso_oidc.clouds import CLOUD_MODULES, CloudWiring
from eso_oidc.config import EnvironmentFile
from eso_oidc.config.common import Backend
from eso_oidc.eso import operator_values


class EnvironmentStack(TerraformStack):
    """The stack of one environment file, named after the file's stem."""

    def __init__(self, scope: Construct, id_: str, *, config: EnvironmentFile) -> None:
        super().__init__(scope, id_)
        # Import the bindings only after the cheap registration in eso_oidc.constructs has run.
        from cdktf_cdktf_provider_helm.provider import HelmProvider
        from eso_oidc.constructs.external_secrets import ExternalSecretsOperator, ExternalSecretsOperatorConfig

        settings = config.config

        _configure_backend(self, settings.backend, config.name)

        cloud = importlib.import_module(CLOUD_MODULES[settings.cloud])
        wiring: CloudWiring = cloud.build(self, config)

        HelmProvider(self, "helm", kubernetes=wiring.kubernetes)

        operator = ExternalSecretsOperator(
            self,
            "external_secrets",
            config=ExternalSecretsOperatorConfig(
                settings=settings.external_secrets,
                values=operator_values(
                    settings.external_secrets,
                    service_account_annotations=wiring.service_account_annotations,
                    pod_labels=wiring.pod_labels,
                ),
                stores=wiring.stores,
            ),
        )

        for name, value in sorted(wiring.outputs.items()):
            TerraformOutput(self, name, value=value)
        TerraformOutput(self, "namespace", value=operator.namespace)
        TerraformOutput(self, "service_account", value=operator.service_account_name)
        TerraformOutput(self, "store_names", value=operator.store_names)


    def _allocate_logical_id(self, tf_element):  # type: ignore[no-untyped-def]
        """Name each Terraform block after its construct path below the stack, without a hash.

        `workload_identity/role` becomes `workload_identity_role`. Construct ids are fixed nouns, so
        these names stay put between versions and are unique within the stack.

        jsii calls this from Node once per element. `Construct.toString()` returns the path in one
        round trip where `node.path` takes two, which made synthesis about 20% faster per stack.
        TerraformLocal and TerraformVariable override toString to return a reference token, so
        they, and a bare construct Node, take `node.path`.
        """
        if isinstance(tf_element, Construct) and not isinstance(tf_element, (TerraformLocal, TerraformVariable)):
            path = tf_element.to_string()
        else:
            node = tf_element.node if hasattr(tf_element, "node") else tf_element
            path = node.path
        return "_".join(path.split("/")[1:]).replace("-", "_")


def local_state_path(path: str) -> str:
    """Return a project-relative state path as seen from the stack folder, where Terraform runs.

    cdktf writes each stack to `cdktf.out/stacks/<name>/`, three levels below the project folder. A
    fixed relative path keeps the output free of absolute paths, so it is the same on every machine.
    """
    if os.path.isabs(path):
        return path
    return f"../../../{path}"


def _configure_backend(stack: TerraformStack, backend: Backend | None, name: str) -> None:
    if backend is None or backend.local is not None:
        state_file = backend.local.path if backend and backend.local else f"terraform.{name}.tfstate"
        LocalBackend(stack, path=local_state_path(state_file))
    elif backend.s3 is not None:
        s3 = backend.s3
        S3Backend(
            stack, bucket=s3.bucket, key=s3.key, region=s3.region, encrypt=s3.encrypt, dynamodb_table=s3.dynamodb_table
        )
        if s3.use_lockfile:
            stack.add_override("terraform.backend.s3.use_lockfile", True)
    elif backend.azurerm is not None:
        azurerm = backend.azurerm
        AzurermBackend(
            stack,
            storage_account_name=azurerm.storage_account_name,
            container_name=azurerm.container_name,
            key=azurerm.key,
            resource_group_name=azurerm.resource_group_name,
            use_azuread_auth=azurerm.use_azuread_auth,
        )
    elif backend.gcs is not None:
        GcsBackend(stack, bucket=backend.gcs.bucket, prefix=backend.gcs.prefix)
