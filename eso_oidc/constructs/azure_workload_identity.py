"""Microsoft Entra Workload ID: a managed identity that trusts one service account and may read one Key Vault."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import Postcondition, TerraformResourceLifecycle
from cdktf_cdktf_provider_azurerm.data_azurerm_key_vault import DataAzurermKeyVault
from cdktf_cdktf_provider_azurerm.federated_identity_credential import FederatedIdentityCredential
from cdktf_cdktf_provider_azurerm.key_vault_access_policy import KeyVaultAccessPolicyA
from cdktf_cdktf_provider_azurerm.role_assignment import RoleAssignment
from cdktf_cdktf_provider_azurerm.user_assigned_identity import UserAssignedIdentity
from constructs import Construct

from eso_oidc.config.azure import AzureSettings

# The audience Entra ID expects in a Kubernetes token it exchanges; ESO's Azure Key Vault provider
# always requests a service account token with this audience.
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"

SECRETS_READER_ROLE = "Key Vault Secrets User"
CERTIFICATES_READER_ROLE = "Key Vault Certificate User"


@dataclass(frozen=True)
class AzureWorkloadIdentityConfig:
    """Identity and vault settings, and the issuer and service account to trust.

    `issuer_url` may be a Terraform reference.
    """

    azure: AzureSettings
    issuer_url: str
    namespace: str
    service_account: str
    tags: dict[str, str] = field(default_factory=dict)


class AzureWorkloadIdentity(Construct):
    """A user-assigned managed identity, its federated credential for one service account, and vault read access."""

    def __init__(self, scope: Construct, id_: str, *, config: AzureWorkloadIdentityConfig) -> None:
        super().__init__(scope, id_)
        azure = config.azure
        vault = azure.key_vault

        identity = UserAssignedIdentity(
            self,
            "identity",
            name=azure.identity.name,
            resource_group_name=azure.identity.resource_group,
            location=azure.location,
            tags=dict(config.tags) or None,
        )
        self.identity_id: str = identity.id
        self.client_id: str = identity.client_id
        self.principal_id: str = identity.principal_id
        # The identity reports the tenant it lives in, so no `azurerm_client_config` lookup is needed.
        self.tenant_id: str = azure.tenant_id or identity.tenant_id

        # Entra ID compares issuer, subject and audience with the token's `iss`, `sub` and `aud`
        # exactly, so the issuer is passed through untouched (AKS issuers end with '/').
        FederatedIdentityCredential(
            self,
            "federated_credential",
            name=azure.identity.federated_credential_name,
            resource_group_name=azure.identity.resource_group,
            parent_id=identity.id,
            issuer=config.issuer_url,
            subject=f"system:serviceaccount:{config.namespace}:{config.service_account}",
            audience=[TOKEN_EXCHANGE_AUDIENCE],
        )

        if vault.id is not None:
            self.key_vault_id: str = vault.id
            # NOTE: the DNS suffix of the Azure public cloud. Sovereign clouds use other suffixes,
            # so a vault there must be looked up by name.
            self.key_vault_uri: str = f"https://{vault.vault_name}.vault.azure.net/"
        else:
            assert vault.name is not None and vault.resource_group is not None
            looked_up = DataAzurermKeyVault(
                self,
                "key_vault",
                name=vault.name,
                resource_group_name=vault.resource_group,
                lifecycle=TerraformResourceLifecycle(
                    postcondition=[_permission_model_condition(vault.name, vault.access)]
                ),
            )
            self.key_vault_id = looked_up.id
            self.key_vault_uri = looked_up.vault_uri

        if vault.access == "rbac":
            self._assign_reader_roles(vault.certificates)
        else:
            KeyVaultAccessPolicyA(
                self,
                "access_policy",
                key_vault_id=self.key_vault_id,
                tenant_id=self.tenant_id,
                object_id=self.principal_id,
                secret_permissions=["Get"],
                certificate_permissions=["Get"] if vault.certificates else None,
            )

    def _assign_reader_roles(self, certificates: bool) -> None:
        roles = {"secrets_reader": SECRETS_READER_ROLE}
        if certificates:
            roles["certificates_reader"] = CERTIFICATES_READER_ROLE
        for construct_id, role in sorted(roles.items()):
            RoleAssignment(
                self,
                construct_id,
                scope=self.key_vault_id,
                role_definition_name=role,
                principal_id=self.principal_id,
                # A new identity may not have replicated through Entra ID yet. With the principal type
                # given, Azure skips looking the principal up, so the assignment does not fail on that.
                principal_type="ServicePrincipal",
            )


def _permission_model_condition(vault_name: str, access: str) -> Postcondition:
    """Return a check that the vault uses the permission model the config grants access through.

    An access policy on a vault with Azure RBAC authorization, or a role assignment on a vault with
    access policies, is accepted by Azure but lets ESO read nothing.
    """
    # azurerm 4.x fills both attributes while `enable_rbac_authorization` is deprecated.
    rbac_enabled = "coalesce(self.rbac_authorization_enabled, self.enable_rbac_authorization)"
    if access == "rbac":
        return Postcondition(
            condition=f"${{{rbac_enabled}}}",
            error_message=f"Key Vault {vault_name} uses access policies, not Azure RBAC: set "
            "azure.key_vault.access to access_policy, or switch the vault to Azure RBAC authorization.",
        )
    return Postcondition(
        condition=f"${{!{rbac_enabled}}}",
        error_message=f"Key Vault {vault_name} uses Azure RBAC authorization, which ignores access policies: "
        "set azure.key_vault.access to rbac.",
    )
