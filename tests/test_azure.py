"""Behaviour of Azure environments: the Entra ID trust, Key Vault access, the ESO wiring and bad configs."""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from eso_oidc.config import load_environments
from eso_oidc.errors import ConfigError
from tests.test_discovery import _rsa_public_jwk

SUBSCRIPTION = "3f2b8c1e-7d4a-4b6e-9c05-2a1d8e7f6b34"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
AKS_ISSUER = f"https://germanywestcentral.oic.prod-aks.azure.com/{TENANT}/5c8d0f7e-1b2a-4c3d-9e8f-0a1b2c3d4e5f/"
VAULT_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-secrets/providers/Microsoft.KeyVault/vaults/kv-shared-prod"
)

IDENTITY = "azurerm_user_assigned_identity.workload_identity_identity"
LOOKED_UP_ISSUER = "${data.azurerm_kubernetes_cluster.cluster.oidc_issuer_url}"
LOOKED_UP_VAULT_ID = "${data.azurerm_key_vault.workload_identity_key_vault.id}"
LOOKED_UP_VAULT_URI = "${data.azurerm_key_vault.workload_identity_key_vault.vault_uri}"

# `azure.key_vault` sections.
NAMED_VAULT = "name: kv-prod\nresource_group: rg-prod\n"
POLICY_VAULT = NAMED_VAULT + "access: access_policy\n"


def azure_environment(cluster: str = "", azure: str = "", key_vault: str = "", rest: str = "") -> str:
    """Return a valid Azure environment file, with the given YAML lines added to its sections."""
    return "\n".join(
        [
            "cloud: azure",
            "cluster:",
            "  name: prod-aks",
            "  resource_group: rg-prod",
            textwrap.indent(textwrap.dedent(cluster), "  "),
            "azure:",
            f"  subscription_id: {SUBSCRIPTION}",
            "  location: germanywestcentral",
            "  identity:",
            "    name: external-secrets",
            "    resource_group: rg-prod",
            textwrap.indent(textwrap.dedent(azure), "  "),
            "  key_vault:",
            textwrap.indent(textwrap.dedent(key_vault or NAMED_VAULT), "    "),
            textwrap.dedent(rest),
        ]
    )


def resources(stack: dict[str, Any], kind: str) -> dict[str, Any]:
    return stack.get("resource", {}).get(kind, {})


def data_sources(stack: dict[str, Any], kind: str) -> dict[str, Any]:
    return stack.get("data", {}).get(kind, {})


def federated_credential(stack: dict[str, Any]) -> dict[str, Any]:
    return resources(stack, "azurerm_federated_identity_credential")["workload_identity_federated_credential"]


def operator_values(stack: dict[str, Any]) -> dict[str, Any]:
    return json.loads(resources(stack, "helm_release")["external_secrets_operator"]["values"][0])


def stores(stack: dict[str, Any]) -> list[dict[str, Any]]:
    return json.loads(resources(stack, "helm_release")["external_secrets_stores"]["values"][0])["stores"]


def problems(path) -> list[str]:
    """Return the problems reported for one environment file, as `field: message` lines."""
    with pytest.raises(ConfigError) as raised:
        load_environments([path])
    return [f"{problem.field}: {problem.message}" for problem in raised.value.problems]


@pytest.fixture(scope="module")
def default_stack(tmp_path_factory) -> dict[str, Any]:
    """The stack of the smallest AKS environment: looked-up issuer and vault, RBAC, secrets only."""
    from tests.conftest import synthesize_files

    config_dir = tmp_path_factory.mktemp("config")
    path = config_dir / "azure-default.yaml"
    path.write_text(azure_environment())
    return synthesize_files([path], tmp_path_factory.mktemp("out") / "cdktf.out")["azure-default"]


# The trust


def test_issuer_is_looked_up_value_verbatim(default_stack):
    assert federated_credential(default_stack)["issuer"] == LOOKED_UP_ISSUER


def test_issuer_override_keeps_trailing_slash(write_environment, synth):
    stack = synth(write_environment(azure_environment(cluster=f"issuer_url: {AKS_ISSUER}")))

    assert federated_credential(stack)["issuer"] == AKS_ISSUER
    assert stack["output"]["issuer_url"]["value"] == AKS_ISSUER


def test_subject_is_pinned_to_service_account(default_stack):
    assert federated_credential(default_stack)["subject"] == "system:serviceaccount:external-secrets:external-secrets"


def test_audience_is_pinned_to_token_exchange(default_stack):
    assert federated_credential(default_stack)["audience"] == ["api://AzureADTokenExchange"]


def test_subject_follows_configured_names(write_environment, synth):
    stack = synth(
        write_environment(azure_environment(rest="external_secrets:\n  namespace: eso\n  service_account: eso-reader\n"))
    )

    assert federated_credential(stack)["subject"] == "system:serviceaccount:eso:eso-reader"


def test_federated_credential_belongs_to_identity(default_stack):
    credential = federated_credential(default_stack)

    assert credential["parent_id"] == f"${{{IDENTITY}.id}}"
    assert credential["name"] == "kubernetes"


def test_override_without_trailing_slash_rejected(write_environment):
    issuer = AKS_ISSUER.rstrip("/")
    path = write_environment(azure_environment(cluster=f"issuer_url: {issuer}"))

    expected = (
        f"cluster.issuer_url: {issuer!r} does not end with '/'; AKS issuers always do, and Entra ID compares "
        "the federated credential's issuer with the token's `iss` byte for byte (AADSTS70021 when they differ): "
        f"write {issuer + '/'!r}, or leave issuer_url out to use the cluster's own"
    )

    assert problems(path) == [expected]


def test_override_compared_at_plan(write_environment, synth):
    stack = synth(write_environment(azure_environment(cluster=f"issuer_url: {AKS_ISSUER}")))
    [condition] = data_sources(stack, "azurerm_kubernetes_cluster")["cluster"]["lifecycle"]["postcondition"]

    assert condition["condition"] == (
        f'${{self.oidc_issuer_url == "{AKS_ISSUER}" || '
        f'trimsuffix(self.oidc_issuer_url, "/") != trimsuffix("{AKS_ISSUER}", "/")}}'
    )
    assert "only by the trailing slash" in condition["error_message"]


def test_cluster_without_oidc_issuer_stops_plan(default_stack):
    [condition] = data_sources(default_stack, "azurerm_kubernetes_cluster")["cluster"]["lifecycle"]["postcondition"]

    assert condition["condition"] == '${self.oidc_issuer_enabled && self.oidc_issuer_url != ""}'
    assert "--enable-oidc-issuer" in condition["error_message"]


def test_self_managed_cluster_uses_its_issuer(write_environment, synth):
    issuer = "https://oidc.example.com/cluster-a"
    text = azure_environment().replace(
        "cluster:\n  name: prod-aks\n  resource_group: rg-prod\n",
        "cluster:\n"
        "  type: self-managed\n"
        f"  issuer_url: {issuer}\n"
        "  discovery: {openid_configuration: oidc/openid-configuration.json, jwks: oidc/jwks.json, publish: none}\n"
        "  kubeconfig: {path: ~/.kube/cluster-a, context: admin}\n",
    )
    path = write_environment(text)
    # The discovery documents are checked when the file is loaded, so they must exist and match.
    documents = path.parent / "oidc"
    documents.mkdir()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    configuration = {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/openid/v1/jwks",
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    (documents / "openid-configuration.json").write_text(json.dumps(configuration), "utf-8")
    (documents / "jwks.json").write_text(json.dumps({"keys": [_rsa_public_jwk(key)]}), "utf-8")
    stack = synth(path)

    assert federated_credential(stack)["issuer"] == issuer
    assert "azurerm_kubernetes_cluster" not in stack.get("data", {})
    assert stack["provider"]["helm"][0]["kubernetes"] == {"config_path": "~/.kube/cluster-a", "config_context": "admin"}


# Key Vault access


def test_rbac_assigns_secrets_user_only(default_stack):
    assignments = resources(default_stack, "azurerm_role_assignment")

    assert sorted(assignments) == ["workload_identity_secrets_reader"]
    assignment = assignments["workload_identity_secrets_reader"]
    assert assignment["role_definition_name"] == "Key Vault Secrets User"
    assert assignment["scope"] == LOOKED_UP_VAULT_ID
    assert assignment["principal_id"] == f"${{{IDENTITY}.principal_id}}"
    assert assignment["principal_type"] == "ServicePrincipal"
    assert resources(default_stack, "azurerm_key_vault_access_policy") == {}


def test_rbac_with_certificates_adds_certificate_user(write_environment, synth):
    stack = synth(write_environment(azure_environment(key_vault=NAMED_VAULT + "certificates: true\n")))
    assignments = resources(stack, "azurerm_role_assignment")

    assert sorted(assignments) == ["workload_identity_certificates_reader", "workload_identity_secrets_reader"]
    assert assignments["workload_identity_certificates_reader"]["role_definition_name"] == "Key Vault Certificate User"
    assert assignments["workload_identity_certificates_reader"]["scope"] == LOOKED_UP_VAULT_ID


def test_access_policy_grants_get_on_secrets_only(write_environment, synth):
    stack = synth(write_environment(azure_environment(key_vault=POLICY_VAULT)))
    policies = resources(stack, "azurerm_key_vault_access_policy")

    assert sorted(policies) == ["workload_identity_access_policy"]
    policy = policies["workload_identity_access_policy"]
    assert policy["secret_permissions"] == ["Get"]
    assert "certificate_permissions" not in policy
    assert "key_permissions" not in policy
    assert "storage_permissions" not in policy
    assert policy["key_vault_id"] == LOOKED_UP_VAULT_ID
    assert policy["object_id"] == f"${{{IDENTITY}.principal_id}}"
    assert policy["tenant_id"] == f"${{{IDENTITY}.tenant_id}}"
    assert resources(stack, "azurerm_role_assignment") == {}


def test_access_policy_with_certificates_grants_get(write_environment, synth):
    text = azure_environment(key_vault=POLICY_VAULT + "certificates: true\n")
    policy = resources(synth(write_environment(text)), "azurerm_key_vault_access_policy")["workload_identity_access_policy"]

    assert policy["secret_permissions"] == ["Get"]
    assert policy["certificate_permissions"] == ["Get"]


def test_vault_permission_model_checked_at_plan(default_stack, write_environment, synth):
    [rbac] = data_sources(default_stack, "azurerm_key_vault")["workload_identity_key_vault"]["lifecycle"]["postcondition"]
    policy_stack = synth(write_environment(azure_environment(key_vault=POLICY_VAULT)))
    [policy] = data_sources(policy_stack, "azurerm_key_vault")["workload_identity_key_vault"]["lifecycle"]["postcondition"]

    assert rbac["condition"] == "${coalesce(self.rbac_authorization_enabled, self.enable_rbac_authorization)}"
    assert policy["condition"] == "${!coalesce(self.rbac_authorization_enabled, self.enable_rbac_authorization)}"


def test_vault_by_id_is_not_looked_up(write_environment, synth):
    stack = synth(write_environment(azure_environment(key_vault=f"id: {VAULT_ID}\n")))

    assert "azurerm_key_vault" not in stack.get("data", {})
    assert resources(stack, "azurerm_role_assignment")["workload_identity_secrets_reader"]["scope"] == VAULT_ID
    assert stores(stack)[0]["spec"]["provider"]["azurekv"]["vaultUrl"] == "https://kv-shared-prod.vault.azure.net/"
    assert stack["output"]["key_vault_uri"]["value"] == "https://kv-shared-prod.vault.azure.net/"


def test_vault_id_case_is_normalized(write_environment, synth):
    lowercase_id = VAULT_ID.replace("resourceGroups", "resourcegroups").replace("Microsoft.KeyVault", "microsoft.keyvault")
    stack = synth(write_environment(azure_environment(key_vault=f"id: {lowercase_id}\n")))

    assert resources(stack, "azurerm_role_assignment")["workload_identity_secrets_reader"]["scope"] == VAULT_ID


# ESO wiring


def test_pod_label_is_string_true(default_stack):
    label = operator_values(default_stack)["podLabels"]["azure.workload.identity/use"]

    assert label == "true"
    assert isinstance(label, str)


def test_service_account_annotations(default_stack):
    service_account = operator_values(default_stack)["serviceAccount"]

    assert service_account["name"] == "external-secrets"
    assert service_account["annotations"] == {
        "azure.workload.identity/client-id": f"${{{IDENTITY}.client_id}}",
        "azure.workload.identity/tenant-id": f"${{{IDENTITY}.tenant_id}}",
    }


def test_configured_tenant_is_used_literally(write_environment, synth):
    stack = synth(write_environment(azure_environment(azure=f"tenant_id: {TENANT}\n")))

    assert operator_values(stack)["serviceAccount"]["annotations"]["azure.workload.identity/tenant-id"] == TENANT
    assert stack["provider"]["azurerm"][0]["tenant_id"] == TENANT
    assert stack["output"]["tenant_id"]["value"] == TENANT


def test_store_manifest_for_chart_2_9_0(default_stack):
    assert stores(default_stack) == [
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": "azurekv"},
            "spec": {
                "provider": {
                    "azurekv": {
                        "authType": "WorkloadIdentity",
                        "vaultUrl": LOOKED_UP_VAULT_URI,
                        "serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"},
                    }
                }
            },
        }
    ]


def test_store_has_no_tenant_id(default_stack):
    # ESO rejects a tenant given both in the store and in the service account annotation.
    assert "tenantId" not in stores(default_stack)[0]["spec"]["provider"]["azurekv"]


def test_store_api_version_for_chart_0_15_1(write_environment, synth):
    stack = synth(write_environment(azure_environment(rest="external_secrets:\n  chart_version: 0.15.1\n")))

    assert stores(stack)[0]["apiVersion"] == "external-secrets.io/v1beta1"


def test_identity_label_override_rejected(write_environment):
    path = write_environment(
        azure_environment(rest="external_secrets:\n  values:\n    podLabels:\n      azure.workload.identity/use: 'false'\n")
    )

    assert problems(path) == [
        "external_secrets.values.podLabels[\"azure.workload.identity/use\"]: identity labels are set by eso-oidc; remove it"
    ]


# Providers and outputs


def test_azurerm_provider_has_features_block(default_stack):
    provider = default_stack["provider"]["azurerm"][0]

    assert provider["features"] == [{}]
    assert provider["subscription_id"] == SUBSCRIPTION
    assert "tenant_id" not in provider


def test_helm_connects_with_kubelogin(default_stack):
    kubernetes = default_stack["provider"]["helm"][0]["kubernetes"]

    assert kubernetes["host"] == "${data.azurerm_kubernetes_cluster.cluster.kube_config[0].host}"
    assert kubernetes["cluster_ca_certificate"] == (
        "${base64decode(data.azurerm_kubernetes_cluster.cluster.kube_config[0].cluster_ca_certificate)}"
    )
    assert kubernetes["exec"] == {
        "api_version": "client.authentication.k8s.io/v1beta1",
        "command": "kubelogin",
        "args": ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"],
    }
    assert "token" not in kubernetes
    assert "client_key" not in kubernetes


def test_kubeconfig_and_override_skip_cluster_lookup(write_environment, synth):
    cluster = f"issuer_url: {AKS_ISSUER}\nkubeconfig: {{path: ~/.kube/config, context: prod-aks}}\n"
    stack = synth(write_environment(azure_environment(cluster=cluster)))

    assert "azurerm_kubernetes_cluster" not in stack.get("data", {})
    assert stack["provider"]["helm"][0]["kubernetes"] == {"config_path": "~/.kube/config", "config_context": "prod-aks"}


def test_referenced_data_sources_declared(default_stack, write_environment, synth):
    policy_stack = synth(write_environment(azure_environment(key_vault=POLICY_VAULT)))
    for stack in (default_stack, policy_stack):
        text = json.dumps(stack)
        referenced = set(re.findall(r"\bdata\.([a-z0-9_]+)\.([a-z0-9_]+)", text))
        declared = {(kind, name) for kind, blocks in stack.get("data", {}).items() for name in blocks}

        assert referenced
        assert referenced <= declared


def test_outputs(default_stack):
    outputs = {name: output["value"] for name, output in default_stack["output"].items()}

    assert outputs["identity_client_id"] == f"${{{IDENTITY}.client_id}}"
    assert outputs["identity_principal_id"] == f"${{{IDENTITY}.principal_id}}"
    assert outputs["tenant_id"] == f"${{{IDENTITY}.tenant_id}}"
    assert outputs["key_vault_uri"] == LOOKED_UP_VAULT_URI
    assert outputs["store_names"] == ["azurekv"]
    assert outputs["issuer_url"] == LOOKED_UP_ISSUER


# Invalid environment files


INVALID_CONFIGS = [
    pytest.param(
        azure_environment().replace(SUBSCRIPTION, "3f2b8c1e-7d4a-4b6e-9c05"),
        "azure.subscription_id: '3f2b8c1e-7d4a-4b6e-9c05' is not a GUID (8-4-4-4-12 hexadecimal digits, as "
        "`az account show` prints it), such as '00000000-0000-0000-0000-000000000000'",
        id="bad-subscription-guid",
    ),
    pytest.param(
        azure_environment(azure="tenant_id: contoso.onmicrosoft.com\n"),
        "azure.tenant_id: 'contoso.onmicrosoft.com' is not a GUID (8-4-4-4-12 hexadecimal digits, as "
        "`az account show` prints it), such as '00000000-0000-0000-0000-000000000000'",
        id="tenant-domain-name",
    ),
    pytest.param(
        azure_environment(key_vault=NAMED_VAULT + "certificate: true\n"),
        "azure.key_vault.certificate: `certificate` is not a setting of `azure.key_vault`; did you mean `certificates`?",
        id="unknown-key",
    ),
    pytest.param(
        azure_environment(key_vault=f"name: kv-prod\nresource_group: rg-prod\nid: {VAULT_ID}\n"),
        "azure.key_vault: set either `name` and `resource_group`, or `id`, not both",
        id="vault-name-and-id",
    ),
    pytest.param(
        azure_environment(key_vault=f"id: {VAULT_ID.replace('/vaults/kv-shared-prod', '/vaults/kv')}\n"),
        f"azure.key_vault.id: {VAULT_ID.replace('/vaults/kv-shared-prod', '/vaults/kv')!r} is not a Key Vault "
        "resource id (`az keyvault show --query id`), such as '/subscriptions/00000000-0000-0000-0000-000000000000/"
        "resourceGroups/rg-platform/providers/Microsoft.KeyVault/vaults/kv-platform-prod'",
        id="vault-id-with-short-name",
    ),
    pytest.param(
        azure_environment(key_vault="access: rbac\n"),
        "azure.key_vault: set the vault's `name` and `resource_group`, or its `id`",
        id="vault-neither-name-nor-id",
    ),
    pytest.param(
        azure_environment(key_vault="name: kv-prod\n"),
        "azure.key_vault: `resource_group` is missing: set the resource group of vault 'kv-prod'",
        id="vault-name-without-resource-group",
    ),
    pytest.param(
        azure_environment(key_vault=NAMED_VAULT + "access: read\n"),
        "azure.key_vault.access: 'read' is not allowed; use 'rbac' or 'access_policy'",
        id="bad-access",
    ),
    pytest.param(
        azure_environment(key_vault=NAMED_VAULT + "certificates: 'no'\n"),
        "azure.key_vault.certificates: expected true or false, got string 'no'",
        id="certificates-not-boolean",
    ),
    pytest.param(
        azure_environment(key_vault="name: kv--prod\nresource_group: rg-prod\n"),
        "azure.key_vault.name: 'kv--prod' is not a Key Vault name (3 to 24 letters, digits and single '-', "
        "starting with a letter and ending with a letter or digit), such as 'kv-platform-prod'",
        id="bad-vault-name",
    ),
    pytest.param(
        azure_environment().replace("location: germanywestcentral", "location: Germany West Central"),
        "azure.location: 'Germany West Central' is not an Azure location name (lowercase letters and digits "
        "without spaces, as `az account list-locations` prints in `name`), such as 'germanywestcentral'",
        id="location-display-name",
    ),
    pytest.param(
        azure_environment().replace("  resource_group: rg-prod\n", "", 1),
        "cluster.resource_group: required setting is missing",
        id="cluster-without-resource-group",
    ),
    pytest.param(
        azure_environment(cluster="login: devicecode\n"),
        "cluster.login: 'devicecode' is not allowed; use 'azurecli', 'workloadidentity', 'msi', 'spn' or 'azd'",
        id="bad-login",
    ),
]


@pytest.mark.parametrize(("text", "expected"), INVALID_CONFIGS)
def test_invalid_config_message(write_environment, text, expected):
    assert problems(write_environment(text)) == [expected]


def test_invalid_config_names_file_and_line(write_environment):
    path = write_environment(azure_environment(key_vault=NAMED_VAULT + "access: read\n"))
    with pytest.raises(ConfigError) as raised:
        load_environments([path])
    [problem] = raised.value.problems
    line = path.read_text().splitlines().index("    access: read") + 1

    assert str(problem).endswith(f"test-env.yaml:{line}: azure.key_vault.access: 'read' is not allowed; use 'rbac' or 'access_policy'")


def test_misspelled_section_reports_both_problems(write_environment):
    path = write_environment(azure_environment().replace("  key_vault:", "  key_vualt:"))

    assert problems(path) == [
        "azure.key_vault: required setting is missing",
        "azure.key_vualt: `key_vualt` is not a setting of `azure`; did you mean `key_vault`?",
    ]
