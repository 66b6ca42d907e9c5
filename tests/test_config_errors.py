"""Invalid AWS environment files: each gets one clear message naming the line, the field and the fix."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from eso_oidc.config import load_environments
from eso_oidc.errors import ConfigError
from tests.conftest import PROJECT_DIR

VALID = """\
cloud: aws
cluster:
  name: dev-eks
aws:
  region: eu-central-1
  parameter_store:
    paths: [/dev/]
"""

# (case name, file text, expected message lines without the file name)
CASES = [
    (
        "misspelled key",
        VALID + "external_secrets:\n  chart_versoin: 2.9.0\n",
        [":9: external_secrets.chart_versoin: `chart_versoin` is not a setting of `external_secrets`; "
         "did you mean `chart_version`?"],
    ),
    (
        "unknown top-level key",
        VALID + "tag: {team: a}\n",
        [":8: tag: `tag` is not a top-level setting; did you mean `tags`?"],
    ),
    (
        "nothing to read",
        VALID.replace("  parameter_store:\n    paths: [/dev/]\n", ""),
        [":4: aws: ESO would have nothing to read: set aws.parameter_store.paths or aws.secrets_manager.name_prefixes"],
    ),
    (
        "invalid region",
        VALID.replace("eu-central-1", "europe"),
        [":5: aws.region: 'europe' is not an AWS region, such as 'eu-central-1'"],
    ),
    (
        "invalid namespace",
        VALID + "external_secrets: {namespace: External_Secrets}\n",
        [":8: external_secrets.namespace: 'External_Secrets' is not a valid Kubernetes name (DNS-1123 label: "
         "lowercase letters, digits and '-', at most 63 characters, starting and ending with a letter or digit), "
         "such as 'external-secrets'"],
    ),
    (
        "http issuer",
        VALID.replace("  name: dev-eks\n", "  name: dev-eks\n  issuer_url: http://oidc.example.com\n"),
        [":4: cluster.issuer_url: 'http://oidc.example.com' is not an HTTPS URL; OpenID Connect issuers must use https://"],
    ),
    (
        "unquoted chart version",
        VALID + "external_secrets: {chart_version: 0.15}\n",
        [":8: external_secrets.chart_version: expected a string (quote numbers, dates and yes/no in YAML), got number 0.15"],
    ),
    (
        "malformed provider and key ARNs",
        VALID.replace("  parameter_store:", "  oidc_provider_arn: arn:aws:iam::12:oidc\n  kms_key_arns: [alias/secrets]\n  parameter_store:"),
        [
            ":6: aws.oidc_provider_arn: 'arn:aws:iam::12:oidc' is not an IAM OIDC provider ARN, such as "
            "'arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/EXAMPLE'",
            ":7: aws.kms_key_arns[0]: 'alias/secrets' is not a KMS key ARN (aliases cannot grant kms:Decrypt), such as "
            "'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'",
        ],
    ),
    (
        "helm values that break the trust",
        VALID + "external_secrets:\n  values:\n    serviceAccount:\n      name: other\n"
        "      annotations: {eks.amazonaws.com/role-arn: arn:aws:iam::1:role/x}\n    namespaceOverride: kube-system\n",
        [
            ':12: external_secrets.values.serviceAccount.annotations["eks.amazonaws.com/role-arn"]: identity annotations '
            "are set by eso-oidc from the cloud's resources; remove it",
            ":11: external_secrets.values.serviceAccount.name: is set from external_secrets.service_account; set it there "
            "and remove it here",
            ":13: external_secrets.values.namespaceOverride: the namespace is external_secrets.namespace; set it there "
            "and remove it here",
        ],
    ),
    (
        "CRDs switched off",
        VALID + "external_secrets:\n  values: {installCRDs: false}\n",
        [":9: external_secrets.values.installCRDs: the ClusterSecretStores need the chart's CRDs; remove it"],
    ),
    (
        "two backends",
        VALID + "backend: {s3: {bucket: b, key: k, region: eu-central-1}, gcs: {bucket: b, prefix: p}}\n",
        [":8: backend: set exactly one of s3, azurerm, gcs or local, not 2 (s3, gcs)"],
    ),
    (
        "missing cluster",
        VALID.replace("cluster:\n  name: dev-eks\n", ""),
        [":1: cluster: required setting is missing"],
    ),
    (
        "unsupported cluster type",
        VALID.replace("  name: dev-eks\n", "  type: eks\n  name: dev-eks\n"),
        [":3: cluster.type: cluster type 'eks' is not supported; use self-managed, or leave `type` out for a managed cluster"],
    ),
    (
        "section of another cloud",
        VALID + "azure: {location: westeurope}\n",
        [":8: azure: this section is for cloud: azure, but the file says cloud: aws; rename it to `aws` or change `cloud`"],
    ),
    (
        "number as tag value",
        VALID + "tags: {cost_center: 42}\n",
        [":8: tags.cost_center: expected a string (quote numbers, dates and yes/no in YAML), got number 42"],
    ),
    (
        "string where a list belongs",
        VALID.replace("paths: [/dev/]", "paths: /dev/"),
        [":7: aws.parameter_store.paths: expected a list, got string '/dev/'"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_invalid_file_is_reported(tmp_path, text, expected):
    path = tmp_path / "broken.yaml"
    path.write_text(text)

    with pytest.raises(ConfigError) as raised:
        load_environments([path])

    assert [str(problem).replace(str(path), "") for problem in raised.value.problems] == sorted(expected)


def test_problems_of_all_files_come_together(tmp_path):
    first = tmp_path / "first.yaml"
    second = tmp_path / "second.yaml"
    first.write_text(VALID.replace("eu-central-1", "europe"))
    second.write_text(VALID + "tag: {}\n")

    with pytest.raises(ConfigError) as raised:
        load_environments([second, first])

    lines = str(raised.value).splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{first}:5: aws.region:")
    assert lines[1].startswith(f"{second}:8: tag:")


def test_valid_file_loads_with_defaults(tmp_path):
    path = tmp_path / "dev.yaml"
    path.write_text(VALID)

    [environment] = load_environments([path])

    assert environment.name == "dev"
    assert environment.config.external_secrets.chart_version == "2.9.0"
    assert environment.config.external_secrets.namespace == "external-secrets"
    assert environment.config.aws.role_name == "external-secrets"
    assert environment.config.aws.audience == "sts.amazonaws.com"


def test_failed_run_leaves_output_unchanged(tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "good.yaml").write_text(VALID)
    (config_dir / "bad.yaml").write_text(VALID.replace("eu-central-1", "europe"))
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "good").mkdir(parents=True)
    sentinel = outdir / "stacks" / "good" / "cdk.tf.json"
    sentinel.write_text("previous output\n")
    before = sorted((path.relative_to(outdir), path.read_bytes()) for path in outdir.rglob("*") if path.is_file())

    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")],
        cwd=tmp_path,
        env={**os.environ, "ESO_CONFIG_DIR": str(config_dir), "CDKTF_OUTDIR": str(outdir)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    after = sorted((path.relative_to(outdir), path.read_bytes()) for path in outdir.rglob("*") if path.is_file())
    assert result.returncode == 1
    assert "bad.yaml:5: aws.region: 'europe' is not an AWS region" in result.stderr
    assert "Traceback" not in result.stderr
    assert after == before


def test_unknown_environment_selection_is_an_error(tmp_path):
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "dev.yaml").write_text(VALID)

    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")],
        cwd=tmp_path,
        env={**os.environ, "ESO_CONFIG_DIR": str(config_dir), "ESO_ENVIRONMENTS": "prod", "CDKTF_OUTDIR": str(tmp_path / "out")},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert f"environment 'prod' not found in {config_dir}; available: dev" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("values", "field", "got"),
    [
        ("{serviceAccount: null}", "serviceAccount", "null"),
        ("{serviceAccount: {annotations: null}}", "serviceAccount.annotations", "null"),
        ("{serviceAccount: {annotations: [a]}}", "serviceAccount.annotations", "a list"),
        ("{podLabels: null}", "podLabels", "null"),
        ("{podLabels: 'true'}", "podLabels", "'true'"),
    ],
)
def test_helm_values_cannot_drop_identity_mappings(tmp_path, values, field, got):
    path = tmp_path / "dev.yaml"
    path.write_text(VALID + f"external_secrets:\n  values: {values}\n")

    with pytest.raises(ConfigError) as raised:
        load_environments([path])

    [problem] = raised.value.problems
    assert problem.field == f"external_secrets.values.{field}"
    assert problem.message == (
        f"must be a mapping, got {got}, which would drop the identity settings eso-oidc puts inside it; "
        "give a mapping of the keys you want to add, or remove it"
    )


def test_messages_spell_values_as_yaml(tmp_path):
    values_file = tmp_path / "values.yaml"
    values_file.write_text(VALID + "external_secrets:\n  values: {serviceAccount: {create: false}}\n")
    tags_file = tmp_path / "tags.yaml"
    tags_file.write_text(VALID + "tags: {enabled: true}\n")

    with pytest.raises(ConfigError) as raised:
        load_environments([values_file, tags_file])

    messages = [problem.message for problem in raised.value.problems]
    assert "false would leave the trusted service account missing; remove it" in messages
    assert "expected a string (quote numbers, dates and yes/no in YAML), got boolean true" in messages


@pytest.mark.parametrize("repository", ["http://charts.example.com", "ftp://charts.example.com", "charts.example.com"])
def test_chart_repository_must_be_https_or_oci(tmp_path, repository):
    path = tmp_path / "dev.yaml"
    path.write_text(VALID + f"external_secrets: {{chart_repository: '{repository}'}}\n")

    with pytest.raises(ConfigError) as raised:
        load_environments([path])

    [problem] = raised.value.problems
    assert problem.field == "external_secrets.chart_repository"
    assert problem.message == (
        f"{repository!r} is not a Helm repository URL (https:// or oci://; plain http would let anyone on the "
        "path swap the chart), such as 'https://charts.external-secrets.io'"
    )


def test_oci_chart_repository_is_accepted(tmp_path):
    path = tmp_path / "dev.yaml"
    path.write_text(VALID + "external_secrets: {chart_repository: 'oci://registry.example.com/charts'}\n")

    [environment] = load_environments([path])

    assert environment.config.external_secrets.chart_repository == "oci://registry.example.com/charts"


def test_empty_environment_selection_is_an_error(monkeypatch):
    from eso_oidc.config import selected_names_from_environment

    monkeypatch.setenv("ESO_ENVIRONMENTS", " , ")

    with pytest.raises(ConfigError) as raised:
        selected_names_from_environment()

    assert str(raised.value) == "ESO_ENVIRONMENTS: ',' names no environment; list file stems separated by commas, or unset it"


def test_hidden_files_are_not_environments(tmp_path):
    from eso_oidc.config import find_environment_files

    (tmp_path / "dev.yaml").write_text(VALID)
    (tmp_path / ".dev.yaml").write_text("editor backup")

    assert find_environment_files(tmp_path) == [tmp_path / "dev.yaml"]
