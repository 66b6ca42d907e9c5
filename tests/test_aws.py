"""Behaviour of AWS EKS environments: the trust, the read policy, the stores and the Helm values."""

from __future__ import annotations

import json

import pytest

from eso_oidc.eso import store_api_version

BASE = """\
cloud: aws
cluster:
  name: dev-eks
aws:
  region: eu-central-1
  parameter_store:
    paths: [/dev/]
{extra}
"""

EKS_ISSUER = "${data.aws_eks_cluster.cluster.identity[0].oidc[0].issuer}"
ISSUER_KEY = '${replace(data.aws_eks_cluster.cluster.identity[0].oidc[0].issuer, "https://", "")}'
PARTITION = "${data.aws_partition.workload_identity_partition.partition}"
ACCOUNT = "${data.aws_caller_identity.workload_identity_caller.account_id}"


def environment(write_environment, aws_extra: str = "", extra: str = "") -> object:
    text = BASE.format(extra=extra)
    if aws_extra:
        text = text.replace("  parameter_store:\n", aws_extra + "  parameter_store:\n")
    return write_environment(text)


def trust_statement(stack):
    statements = stack["data"]["aws_iam_policy_document"]["workload_identity_trust"]["statement"]
    assert len(statements) == 1
    return statements[0]


def read_statements(stack):
    statements = stack["data"]["aws_iam_policy_document"]["workload_identity_read"]["statement"]
    return {statement["sid"]: statement for statement in statements}


def helm_values(stack, release: str) -> dict:
    return json.loads(stack["resource"]["helm_release"][release]["values"][0])


def test_trust_is_pinned_to_the_service_account(write_environment, synth):
    stack = synth(environment(write_environment, extra="external_secrets: {namespace: eso, service_account: eso-reader}"))
    statement = trust_statement(stack)
    conditions = {condition["variable"]: condition for condition in statement["condition"]}

    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["principals"] == [
        {"type": "Federated", "identifiers": ["${aws_iam_openid_connect_provider.workload_identity_oidc_provider.arn}"]}
    ]
    assert set(conditions) == {f"{ISSUER_KEY}:sub", f"{ISSUER_KEY}:aud"}
    assert conditions[f"{ISSUER_KEY}:sub"]["test"] == "StringEquals"
    assert conditions[f"{ISSUER_KEY}:sub"]["values"] == ["system:serviceaccount:eso:eso-reader"]
    assert conditions[f"{ISSUER_KEY}:aud"]["test"] == "StringEquals"
    assert conditions[f"{ISSUER_KEY}:aud"]["values"] == ["sts.amazonaws.com"]


def test_oidc_provider_uses_cluster_issuer_and_audience(write_environment, synth):
    stack = synth(environment(write_environment))
    provider = stack["resource"]["aws_iam_openid_connect_provider"]["workload_identity_oidc_provider"]

    assert provider["url"] == EKS_ISSUER
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    assert "thumbprint_list" not in provider


def test_issuer_override_gives_literal_condition_keys(write_environment, synth):
    path = write_environment(
        BASE.format(extra="").replace(
            "  name: dev-eks\n", "  name: dev-eks\n  issuer_url: https://oidc.example.com/id/ABC\n"
        )
    )
    stack = synth(path)
    conditions = {condition["variable"] for condition in trust_statement(stack)["condition"]}

    assert conditions == {"oidc.example.com/id/ABC:sub", "oidc.example.com/id/ABC:aud"}
    assert stack["resource"]["aws_iam_openid_connect_provider"]["workload_identity_oidc_provider"]["url"] == (
        "https://oidc.example.com/id/ABC"
    )


def test_custom_audience_is_one_value_everywhere(write_environment, synth):
    stack = synth(environment(write_environment, aws_extra="  audience: eso.example.com\n"))
    conditions = {condition["variable"]: condition["values"] for condition in trust_statement(stack)["condition"]}
    annotations = helm_values(stack, "external_secrets_operator")["serviceAccount"]["annotations"]

    assert stack["resource"]["aws_iam_openid_connect_provider"]["workload_identity_oidc_provider"]["client_id_list"] == [
        "eso.example.com"
    ]
    assert conditions[f"{ISSUER_KEY}:aud"] == ["eso.example.com"]
    assert annotations["eks.amazonaws.com/audience"] == "eso.example.com"


def test_reused_oidc_provider_creates_none(write_environment, synth):
    arn = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/ABC"
    stack = synth(environment(write_environment, aws_extra=f"  oidc_provider_arn: {arn}\n"))

    assert "aws_iam_openid_connect_provider" not in stack["resource"]
    assert trust_statement(stack)["principals"][0]["identifiers"] == [arn]
    assert stack["output"]["oidc_provider_arn"]["value"] == arn


def test_read_policy_has_no_claim_conditions(example_stacks):
    for name, stack in example_stacks.items():
        documents = stack.get("data", {}).get("aws_iam_policy_document", {})
        if "workload_identity_read" not in documents:
            continue
        for statement in documents["workload_identity_read"]["statement"]:
            assert "condition" not in statement, (name, statement["sid"])
            assert ":sub" not in json.dumps(statement), (name, statement["sid"])
            assert ":aud" not in json.dumps(statement), (name, statement["sid"])


def test_parameter_arns_include_the_bare_path(write_environment, synth):
    path = write_environment(BASE.format(extra="").replace("paths: [/dev/]", "paths: [/dev/, /shared/app]"))
    statements = read_statements(synth(path))

    assert statements["ReadParameters"]["resources"] == [
        f"arn:{PARTITION}:ssm:eu-central-1:{ACCOUNT}:parameter/dev",
        f"arn:{PARTITION}:ssm:eu-central-1:{ACCOUNT}:parameter/dev/*",
        f"arn:{PARTITION}:ssm:eu-central-1:{ACCOUNT}:parameter/shared/app",
        f"arn:{PARTITION}:ssm:eu-central-1:{ACCOUNT}:parameter/shared/app/*",
    ]
    assert statements["ReadParameters"]["actions"] == [
        "ssm:GetParameter",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
    ]
    assert statements["DescribeParameters"]["resources"] == ["*"]


def test_secrets_manager_only_with_prefixes(write_environment, synth):
    without = read_statements(synth(environment(write_environment)))
    with_prefixes = synth(
        environment(write_environment, aws_extra="  secrets_manager:\n    name_prefixes: [dev/, shared/db-]\n")
    )

    assert set(without) == {"ReadParameters", "DescribeParameters"}
    statements = read_statements(with_prefixes)
    assert statements["ReadSecrets"]["resources"] == [
        f"arn:{PARTITION}:secretsmanager:eu-central-1:{ACCOUNT}:secret:dev/*",
        f"arn:{PARTITION}:secretsmanager:eu-central-1:{ACCOUNT}:secret:shared/db-*",
    ]
    assert statements["ListSecrets"]["actions"] == ["secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue"]
    assert statements["ListSecrets"]["resources"] == ["*"]
    store_names = [store["metadata"]["name"] for store in helm_values(with_prefixes, "external_secrets_stores")["stores"]]
    assert store_names == ["aws-parameter-store", "aws-secrets-manager"]


def test_kms_only_when_configured(write_environment, synth):
    key = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    without = read_statements(synth(environment(write_environment)))
    with_key = read_statements(synth(environment(write_environment, aws_extra=f"  kms_key_arns: [{key}]\n")))

    assert "DecryptSecrets" not in without
    assert not any("kms:" in action for statement in without.values() for action in statement["actions"])
    assert with_key["DecryptSecrets"]["actions"] == ["kms:Decrypt"]
    assert with_key["DecryptSecrets"]["resources"] == [key]


def test_role_carries_path_boundary_and_tags(write_environment, synth):
    boundary = "arn:aws:iam::111122223333:policy/platform-boundary"
    stack = synth(
        environment(
            write_environment,
            aws_extra=f"  role_name: eso-dev\n  role_path: /eso/\n  permissions_boundary_arn: {boundary}\n"
            '  account_id: "111122223333"\n',
            extra="tags: {team: platform}",
        )
    )
    role = stack["resource"]["aws_iam_role"]["workload_identity_role"]
    policy = stack["resource"]["aws_iam_policy"]["workload_identity_read_policy"]
    provider = stack["provider"]["aws"][0]

    assert role["name"] == "eso-dev"
    assert role["path"] == "/eso/"
    assert role["permissions_boundary"] == boundary
    assert policy["name"] == "eso-dev-read"
    assert policy["path"] == "/eso/"
    assert provider["default_tags"] == [{"tags": {"team": "platform"}}]
    assert provider["allowed_account_ids"] == ["111122223333"]


def test_operator_release_pinned_and_wired(write_environment, synth):
    stack = synth(environment(write_environment, extra="external_secrets: {chart_version: 0.16.2}"))
    release = stack["resource"]["helm_release"]["external_secrets_operator"]
    values = helm_values(stack, "external_secrets_operator")

    assert release["chart"] == "external-secrets"
    assert release["repository"] == "https://charts.external-secrets.io"
    assert release["version"] == "0.16.2"
    assert release["namespace"] == "external-secrets"
    assert release["create_namespace"] is True
    assert release["wait"] is True
    assert release["atomic"] is True
    assert values["installCRDs"] is True
    assert values["serviceAccount"]["create"] is True
    assert values["serviceAccount"]["name"] == "external-secrets"
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"] == (
        "${aws_iam_role.workload_identity_role.arn}"
    )


def test_stores_release_waits_for_the_operator(write_environment, synth):
    stack = synth(environment(write_environment))
    stores = stack["resource"]["helm_release"]["external_secrets_stores"]

    assert stores["depends_on"] == ["helm_release.external_secrets_operator"]
    assert stores["chart"].startswith("assets/external_secrets_stores_chart/")
    assert helm_values(stack, "external_secrets_stores")["stores"] == [
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": "aws-parameter-store"},
            "spec": {
                "provider": {
                    "aws": {
                        "service": "ParameterStore",
                        "region": "eu-central-1",
                        "auth": {"jwt": {"serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"}}},
                    }
                }
            },
        }
    ]


@pytest.mark.parametrize(
    ("chart_version", "api_version"),
    [
        ("0.15.1", "external-secrets.io/v1beta1"),
        ("0.15.9", "external-secrets.io/v1beta1"),
        ("0.16.0", "external-secrets.io/v1"),
        ("0.16.2", "external-secrets.io/v1"),
        ("2.9.0", "external-secrets.io/v1"),
    ],
)
def test_store_api_version_follows_chart(chart_version, api_version):
    assert store_api_version(chart_version) == api_version


def test_store_api_version_in_stack(write_environment, synth):
    stack = synth(environment(write_environment, extra="external_secrets: {chart_version: 0.15.1}"))

    assert helm_values(stack, "external_secrets_stores")["stores"][0]["apiVersion"] == "external-secrets.io/v1beta1"


def test_extra_values_merge_and_escape_templates(write_environment, synth):
    stack = synth(
        environment(
            write_environment,
            extra="external_secrets:\n  values:\n    replicaCount: 2\n    serviceAccount: {annotations: {team: a}}\n"
            '    podAnnotations: {note: "${not-terraform}"}\n',
        )
    )
    release = stack["resource"]["helm_release"]["external_secrets_operator"]
    values = json.loads(release["values"][0])

    assert values["replicaCount"] == 2
    assert values["serviceAccount"]["annotations"]["team"] == "a"
    assert values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("${aws_iam_role.")
    assert values["podAnnotations"]["note"] == "$${not-terraform}"


def test_kubeconfig_replaces_cluster_lookup(write_environment, synth):
    path = write_environment(
        BASE.format(extra="").replace(
            "  name: dev-eks\n",
            "  name: dev-eks\n  issuer_url: https://oidc.example.com/id/ABC\n"
            "  kubeconfig: {path: ~/.kube/config, context: dev}\n",
        )
    )
    stack = synth(path)

    assert "aws_eks_cluster" not in stack["data"]
    assert stack["provider"]["helm"] == [{"kubernetes": {"config_path": "~/.kube/config", "config_context": "dev"}}]


def test_helm_connects_with_exec_credential(write_environment, synth):
    stack = synth(environment(write_environment))
    kubernetes = stack["provider"]["helm"][0]["kubernetes"]

    assert kubernetes["host"] == "${data.aws_eks_cluster.cluster.endpoint}"
    assert kubernetes["cluster_ca_certificate"] == "${base64decode(data.aws_eks_cluster.cluster.certificate_authority[0].data)}"
    assert kubernetes["exec"] == {
        "api_version": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": ["eks", "get-token", "--cluster-name", "dev-eks", "--region", "eu-central-1"],
    }
    assert "token" not in kubernetes


def test_default_backend_is_relative_local_state(write_environment, synth):
    stack = synth(environment(write_environment))

    assert stack["terraform"]["backend"] == {"local": {"path": "../../../terraform.test-env.tfstate"}}


def test_outputs(write_environment, synth):
    stack = synth(environment(write_environment))

    assert stack["output"]["role_arn"]["value"] == "${aws_iam_role.workload_identity_role.arn}"
    assert stack["output"]["oidc_provider_arn"]["value"] == (
        "${aws_iam_openid_connect_provider.workload_identity_oidc_provider.arn}"
    )
    assert stack["output"]["namespace"]["value"] == "external-secrets"
    assert stack["output"]["service_account"]["value"] == "external-secrets"
    assert stack["output"]["store_names"]["value"] == ["aws-parameter-store"]
