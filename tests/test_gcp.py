"""GCP: Workload Identity Federation for GKE, the Secret Manager store, and invalid GCP environment files."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from eso_oidc.clouds.gcp import gcp_stores
from eso_oidc.config import load_environments
from eso_oidc.constructs.gcp_workload_identity import gke_principal, gke_service_account_member
from eso_oidc.errors import ConfigError

PRINCIPAL = (
    "principal://iam.googleapis.com/projects/412345678901/locations/global/workloadIdentityPools/"
    "acme-prod.svc.id.goog/subject/ns/eso/sa/eso-reader"
)


def environment_text(gcp: str = "", cluster: str = "") -> str:
    """Return a GKE environment file with the given extra lines in its `gcp` and `cluster` sections."""
    return textwrap.dedent(
        """\
        cloud: gcp
        cluster:
          name: prod-gke
          location: europe-west1
        {cluster}
        gcp:
          project_id: acme-prod
        {gcp}
        external_secrets:
          namespace: eso
          service_account: eso-reader
        backend:
          gcs: {{bucket: acme-state, prefix: eso/prod}}
        """
    ).format(
        gcp=textwrap.indent(textwrap.dedent(gcp), "  ").rstrip("\n"),
        cluster=textwrap.indent(textwrap.dedent(cluster), "  ").rstrip("\n"),
    )


def problems_of(write_environment, text: str) -> list[tuple[int, str, str]]:
    """Return (line, field, message) of every problem of one environment file."""
    with pytest.raises(ConfigError) as raised:
        load_environments([write_environment(text)])
    return [(problem.line, problem.field, problem.message) for problem in raised.value.problems]


def helm_values(stack: dict) -> dict:
    return json.loads(stack["resource"]["helm_release"]["external_secrets_operator"]["values"][0])


def store_values(stack: dict) -> list[dict]:
    return json.loads(stack["resource"]["helm_release"]["external_secrets_stores"]["values"][0])["stores"]


# The principal and the member strings.


def test_principal_names_pool_by_number_and_subject():
    principal = gke_principal("412345678901", "acme-prod", "eso", "eso-reader")

    assert principal == PRINCIPAL
    # GKE issues the tokens for the project's pool, so the pool pins the audience.
    assert "/workloadIdentityPools/acme-prod.svc.id.goog/" in principal
    assert principal.endswith("/subject/ns/eso/sa/eso-reader")


def test_service_account_member_names_pool_and_subject():
    member = gke_service_account_member("acme-prod", "eso", "eso-reader")

    assert member == "serviceAccount:acme-prod.svc.id.goog[eso/eso-reader]"


# Direct mode.


def test_direct_mode_grants_each_secret(write_environment, synth):
    text = environment_text(gcp='project_number: "412345678901"\nsecrets: [db-password, api_token]\n')
    stack = synth(write_environment(text))

    bindings = stack["resource"]["google_secret_manager_secret_iam_member"]
    assert sorted(bindings) == [
        "workload_identity_secret_accessor_api_token",
        "workload_identity_secret_accessor_db_password",
    ]
    binding = bindings["workload_identity_secret_accessor_db_password"]
    assert binding["secret_id"] == "db-password"
    assert binding["project"] == "acme-prod"
    assert binding["role"] == "roles/secretmanager.secretAccessor"
    assert binding["member"] == PRINCIPAL
    assert bindings["workload_identity_secret_accessor_api_token"]["secret_id"] == "api_token"
    assert "google_project_iam_member" not in stack["resource"]
    assert "google_service_account" not in stack["resource"]


def test_direct_mode_number_from_config_skips_lookup(write_environment, synth):
    stack = synth(write_environment(environment_text(gcp="project_number: 412345678901\n")))

    assert "google_project" not in stack["data"]
    assert stack["output"]["principal"]["value"] == PRINCIPAL
    assert "service_account_email" not in stack["output"]


def test_direct_mode_looks_up_missing_number(write_environment, synth):
    stack = synth(write_environment(environment_text()))

    assert stack["data"]["google_project"]["workload_identity_cluster_project"]["project_id"] == "acme-prod"
    expected = PRINCIPAL.replace("412345678901", "${data.google_project.workload_identity_cluster_project.number}")
    assert stack["output"]["principal"]["value"] == expected
    binding = stack["resource"]["google_project_iam_member"]["workload_identity_project_accessor"]
    assert binding["member"] == expected


def test_direct_mode_without_secrets_grants_project(write_environment, synth):
    stack = synth(write_environment(environment_text(gcp="project_number: 412345678901\n")))

    binding = stack["resource"]["google_project_iam_member"]["workload_identity_project_accessor"]
    assert binding == {
        "//": binding["//"],
        "member": PRINCIPAL,
        "project": "acme-prod",
        "role": "roles/secretmanager.secretAccessor",
    }
    assert "google_secret_manager_secret_iam_member" not in stack["resource"]


def test_direct_mode_has_no_identity_annotation(write_environment, synth):
    stack = synth(write_environment(environment_text(gcp="project_number: 412345678901\n")))

    assert helm_values(stack)["serviceAccount"]["annotations"] == {}


def test_cluster_in_other_project_uses_its_pool(write_environment, synth):
    text = environment_text(cluster="project_id: acme-gke\nproject_number: 998877665544\n")
    stack = synth(write_environment(text))

    assert stack["output"]["principal"]["value"] == (
        "principal://iam.googleapis.com/projects/998877665544/locations/global/workloadIdentityPools/"
        "acme-gke.svc.id.goog/subject/ns/eso/sa/eso-reader"
    )
    assert stack["resource"]["google_project_iam_member"]["workload_identity_project_accessor"]["project"] == "acme-prod"
    assert stack["data"]["google_container_cluster"]["cluster"]["project"] == "acme-gke"
    workload_identity = store_values(stack)[0]["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]
    assert workload_identity["clusterProjectID"] == "acme-gke"


# Service account mode.


def test_service_account_mode_lets_subject_impersonate(write_environment, synth):
    text = environment_text(gcp="mode: service_account\nservice_account_id: eso-prod-reader\n")
    stack = synth(write_environment(text))

    account = stack["resource"]["google_service_account"]["workload_identity_service_account"]
    assert account["account_id"] == "eso-prod-reader"
    assert account["project"] == "acme-prod"
    user = stack["resource"]["google_service_account_iam_member"]["workload_identity_workload_identity_user"]
    assert user["role"] == "roles/iam.workloadIdentityUser"
    assert user["member"] == "serviceAccount:acme-prod.svc.id.goog[eso/eso-reader]"
    assert user["service_account_id"] == "${google_service_account.workload_identity_service_account.name}"


def test_service_account_mode_grants_account(write_environment, synth):
    text = environment_text(gcp="mode: service_account\nsecrets: [db-password]\n")
    stack = synth(write_environment(text))

    email = "${google_service_account.workload_identity_service_account.email}"
    binding = stack["resource"]["google_secret_manager_secret_iam_member"]["workload_identity_secret_accessor_db_password"]
    assert binding["member"] == f"serviceAccount:{email}"
    assert binding["role"] == "roles/secretmanager.secretAccessor"
    assert helm_values(stack)["serviceAccount"]["annotations"] == {"iam.gke.io/gcp-service-account": email}
    assert stack["output"]["service_account_email"]["value"] == email
    assert "principal" not in stack["output"]
    assert "google_project" not in stack.get("data", {})


# The store and the cluster connection.


def test_store_workload_identity_block(write_environment):
    config = load_environments([write_environment(environment_text())])[0].config

    store = gcp_stores(config)[0]

    assert store["metadata"]["name"] == "gcpsm"
    assert store["apiVersion"] == "external-secrets.io/v1"
    assert store["spec"]["provider"] == {
        "gcpsm": {
            "projectID": "acme-prod",
            "auth": {
                "workloadIdentity": {
                    "clusterLocation": "europe-west1",
                    "clusterName": "prod-gke",
                    "clusterProjectID": "acme-prod",
                    "serviceAccountRef": {"name": "eso-reader", "namespace": "eso"},
                }
            },
        }
    }


def test_store_copies_zone_verbatim(write_environment):
    text = environment_text().replace("location: europe-west1", "location: europe-west1-b")
    config = load_environments([write_environment(text)])[0].config

    workload_identity = gcp_stores(config)[0]["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]

    assert workload_identity["clusterLocation"] == "europe-west1-b"


def test_store_for_old_chart_is_v1beta1(write_environment):
    text = environment_text().replace("service_account: eso-reader", "service_account: eso-reader\n  chart_version: 0.15.1")
    config = load_environments([write_environment(text)])[0].config

    store = gcp_stores(config)[0]

    assert store["apiVersion"] == "external-secrets.io/v1beta1"
    # Chart 0.15.x requires both in its schema.
    workload_identity = store["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentity"]
    assert workload_identity["clusterLocation"] == "europe-west1"
    assert workload_identity["clusterName"] == "prod-gke"


def test_helm_connects_with_auth_plugin(write_environment, synth):
    stack = synth(write_environment(environment_text(gcp="project_number: 412345678901\n")))

    cluster = stack["data"]["google_container_cluster"]["cluster"]
    assert cluster["name"] == "prod-gke"
    assert cluster["location"] == "europe-west1"
    assert cluster["project"] == "acme-prod"
    kubernetes = stack["provider"]["helm"][0]["kubernetes"]
    assert kubernetes["host"] == "https://${data.google_container_cluster.cluster.endpoint}"
    assert kubernetes["cluster_ca_certificate"] == (
        "${base64decode(data.google_container_cluster.cluster.master_auth[0].cluster_ca_certificate)}"
    )
    assert kubernetes["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert "token" not in kubernetes
    assert "google_client_config" not in stack["data"]


def test_cluster_lookup_checks_workload_pool(write_environment, synth):
    stack = synth(write_environment(environment_text(gcp="project_number: 412345678901\n")))

    postcondition = stack["data"]["google_container_cluster"]["cluster"]["lifecycle"]["postcondition"][0]
    assert postcondition["condition"] == (
        '${try(self.workload_identity_config[0].workload_pool, "") == "acme-prod.svc.id.goog"}'
    )
    assert "--workload-pool=acme-prod.svc.id.goog" in postcondition["error_message"]


def test_kubeconfig_replaces_cluster_lookup(write_environment, synth):
    text = environment_text(
        gcp="project_number: 412345678901\n", cluster="kubeconfig: {path: ~/.kube/config, context: prod}\n"
    )
    stack = synth(write_environment(text))

    assert stack["provider"]["helm"][0]["kubernetes"] == {"config_path": "~/.kube/config", "config_context": "prod"}
    assert "data" not in stack


# Invalid environment files.


def test_unquoted_project_number_is_accepted(write_environment):
    config = load_environments([write_environment(environment_text(gcp="project_number: 412345678901\n"))])[0].config

    assert config.gcp.project_number == "412345678901"


def invalid(text: str, line: int, field: str, message: str, name: str) -> Any:
    """Return a table row: an environment file and the one problem expected in it."""
    return pytest.param(text, (line, field, message), id=name)


PROJECT_ID_RULE = (
    "is not a Google Cloud project id (6 to 30 lowercase letters, digits and '-', starting with a letter "
    "and not ending with '-'), such as 'acme-prod'"
)

INVALID_FILES = [
    invalid(
        environment_text().replace("project_id: acme-prod", "project_id: Acme_Prod"),
        7,
        "gcp.project_id",
        f"'Acme_Prod' {PROJECT_ID_RULE}",
        "bad project id",
    ),
    invalid(
        environment_text().replace("project_id: acme-prod", "project_id: acme-prod-"),
        7,
        "gcp.project_id",
        f"'acme-prod-' {PROJECT_ID_RULE}",
        "project id ending with a hyphen",
    ),
    invalid(
        environment_text().replace("project_id: acme-prod", "project_id: ab12"),
        7,
        "gcp.project_id",
        f"'ab12' {PROJECT_ID_RULE}",
        "project id too short",
    ),
    invalid(
        environment_text().replace("project_id: acme-prod", 'project_id: "412345678901"'),
        7,
        "gcp.project_id",
        "'412345678901' is a project number; use the project id, such as 'acme-prod'",
        "project number where the id belongs",
    ),
    invalid(
        environment_text(gcp="project_number: acme-prod\n"),
        8,
        "gcp.project_number",
        (
            "'acme-prod' is a project id, but a project number is required here; use the number from "
            "`gcloud projects describe acme-prod --format='value(projectNumber)'`, or null to look it up"
        ),
        "project id where the number belongs",
    ),
    invalid(
        environment_text(gcp="project_number: 4123-4567\n"),
        8,
        "gcp.project_number",
        (
            "'4123-4567' is not a Google Cloud project number (digits only, such as '123456789012'); "
            "use the project's number, or null to look it up"
        ),
        "project number with a hyphen",
    ),
    invalid(
        environment_text(gcp="project_number: true\n"),
        8,
        "gcp.project_number",
        "expected a string (quote numbers, dates and yes/no in YAML), got boolean true",
        "boolean project number",
    ),
    invalid(
        environment_text(gcp="mode: workload_identity\n"),
        8,
        "gcp.mode",
        "'workload_identity' is not allowed; use 'direct' or 'service_account'",
        "unknown mode",
    ),
    invalid(
        environment_text(gcp="secret: [db-password]\n"),
        8,
        "gcp.secret",
        "`secret` is not a setting of `gcp`; did you mean `secrets`?",
        "unknown key",
    ),
    invalid(
        environment_text(gcp="service_account_id: eso-reader\n"),
        8,
        "gcp.service_account_id",
        "is only used with gcp.mode: service_account; set that mode or remove this setting",
        "service account id in direct mode",
    ),
    invalid(
        environment_text(gcp="mode: service_account\nproject_number: 412345678901\n"),
        9,
        "gcp.project_number",
        (
            "is only used with gcp.mode: direct, because impersonating a Google service account needs no "
            "project number; remove it"
        ),
        "project number in service account mode",
    ),
    invalid(
        environment_text(gcp="mode: service_account\nservice_account_id: eso\n"),
        9,
        "gcp.service_account_id",
        (
            "'eso' is not a Google service account id (6 to 30 lowercase letters, digits and '-', "
            "starting with a letter), such as 'external-secrets'"
        ),
        "short service account id",
    ),
    invalid(
        environment_text(gcp="secrets: [db-password, db-password]\n"),
        8,
        "gcp.secrets",
        "'db-password' is listed twice; remove one",
        "secret listed twice",
    ),
    invalid(
        environment_text(gcp="secrets: [db-password, db_password]\n"),
        8,
        "gcp.secrets",
        (
            "'db-password' and 'db_password' would get the same Terraform resource name; "
            "grant access to one of them outside eso-oidc"
        ),
        "secrets with one terraform name",
    ),
    invalid(
        environment_text(gcp="secrets: [projects/acme/secrets/db]\n"),
        8,
        "gcp.secrets[0]",
        (
            "'projects/acme/secrets/db' is not a Secret Manager secret id (at most 255 letters, digits, "
            "'_' and '-'), such as 'db-password'"
        ),
        "secret resource name",
    ),
    invalid(
        environment_text().replace("location: europe-west1", "location: Europe West"),
        4,
        "cluster.location",
        (
            "'Europe West' is not a Google Cloud region or zone (a region for regional clusters, "
            "a zone for zonal ones), such as 'europe-west1'"
        ),
        "bad location",
    ),
    invalid(
        environment_text(cluster="project_number: 998877665544\n"),
        5,
        "cluster.project_number",
        "is only used with cluster.project_id; set that too, or move the number to gcp.project_number",
        "cluster project number without its project",
    ),
    invalid(
        environment_text(gcp="project_number: 412345678901\n", cluster="project_id: acme-gke\n"),
        8,
        "gcp.project_number",
        (
            "is not used when cluster.project_id is set, because the principal needs the number of the "
            "cluster's project; move it to cluster.project_number or remove it"
        ),
        "project number of the wrong project",
    ),
    invalid(
        environment_text().replace("cloud: gcp", "cloud: gcp\naws: {region: eu-central-1}"),
        2,
        "aws",
        "this section is for cloud: aws, but the file says cloud: gcp; rename it to `gcp` or change `cloud`",
        "aws section in a gcp file",
    ),
]


@pytest.mark.parametrize(("text", "expected"), INVALID_FILES)
def test_invalid_gcp_file_is_reported(write_environment, text, expected):
    assert problems_of(write_environment, text) == [expected]


def test_self_managed_cluster_checks_its_documents(write_environment):
    text = environment_text().replace(
        "  name: prod-gke\n  location: europe-west1\n",
        "  type: self-managed\n  issuer_url: https://issuer.example.com\n"
        "  discovery: {openid_configuration: oidc.json, jwks: jwks.json, publish: none}\n"
        "  kubeconfig: {path: ~/.kube/config}\n",
    )

    # Self-managed clusters are supported; tests/test_self_managed.py covers them. Here the
    # documents are missing, which is reported on their settings.
    problems = problems_of(write_environment, text)

    assert [(line, field) for line, field, _ in problems] == [
        (5, "cluster.discovery.jwks"),
        (5, "cluster.discovery.openid_configuration"),
    ]
    for _, _, message in problems:
        assert " not found, so copy it from the cluster with " in message
