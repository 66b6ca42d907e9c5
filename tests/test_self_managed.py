"""Self-managed clusters: document checks at load time, publishing, trust per cloud, `discovery fetch`.

Signing keys are generated at test time, and only their public halves are written, into temporary folders.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from eso_oidc.config import load_environments
from eso_oidc.errors import ConfigError, Problem
from tests.conftest import PROJECT_DIR
from tests.test_discovery import StubKubectl, _rsa_private_jwk, _rsa_public_jwk

AWS_ISSUER = "https://acme-oidc-test.s3.eu-central-1.amazonaws.com/cluster-a"

AWS_ENVIRONMENT = """\
cloud: aws
cluster:
  type: self-managed
  issuer_url: {issuer_url}
  discovery:
    openid_configuration: discovery/cluster-a/openid-configuration.json
    jwks: discovery/cluster-a/jwks.json
    publish: {publish}
{publish_section}  kubeconfig: {{path: ~/.kube/config, context: cluster-a}}
aws:
  region: eu-central-1
  audience: {audience}
  parameter_store: {{paths: [/cluster-a/]}}
"""

S3_SECTION = """\
    s3:
      bucket: {bucket}
      prefix: cluster-a
"""


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _openid_configuration(issuer_url: str) -> dict[str, Any]:
    return {
        "issuer": issuer_url,
        "jwks_uri": f"{issuer_url}/openid/v1/jwks",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


class Cluster:
    """A config folder with one self-managed environment file and its discovery documents."""

    def __init__(self, folder: Path, signing_key: rsa.RSAPrivateKey):
        self.config_dir = folder / "config"
        self.documents = self.config_dir / "discovery" / "cluster-a"
        self.documents.mkdir(parents=True)
        self.configuration = _openid_configuration(AWS_ISSUER)
        self.key_set: dict[str, Any] = {"keys": [_rsa_public_jwk(signing_key)]}

    def write_documents(self) -> None:
        (self.documents / "openid-configuration.json").write_text(json.dumps(self.configuration), "utf-8")
        (self.documents / "jwks.json").write_text(json.dumps(self.key_set), "utf-8")

    def write_environment(
        self,
        *,
        issuer_url: str = AWS_ISSUER,
        publish: str = "s3",
        bucket: str = "acme-oidc-test",
        audience: str = "sts.amazonaws.com",
        publish_section: str | None = None,
    ) -> Path:
        if publish_section is None:
            publish_section = S3_SECTION.format(bucket=bucket) if publish == "s3" else ""
        text = AWS_ENVIRONMENT.format(
            issuer_url=issuer_url, publish=publish, publish_section=publish_section, audience=audience
        )
        path = self.config_dir / "cluster-a.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    def problems(self, **environment: Any) -> list[Problem]:
        self.write_documents()
        path = self.write_environment(**environment)
        with pytest.raises(ConfigError) as raised:
            load_environments([path])
        return raised.value.problems


@pytest.fixture
def cluster(tmp_path, signing_key) -> Cluster:
    return Cluster(tmp_path, signing_key)


def _line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def _only_problem(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


# Discovery documents at load time


def test_valid_documents_load(cluster):
    cluster.write_documents()
    path = cluster.write_environment()

    (environment,) = load_environments([path])

    assert environment.config.cluster.issuer_url == AWS_ISSUER


def test_missing_document_located(cluster):
    path = cluster.write_environment()
    (cluster.documents / "jwks.json").write_text(json.dumps(cluster.key_set), "utf-8")

    with pytest.raises(ConfigError) as raised:
        load_environments([path])

    problem = _only_problem(raised.value.problems)
    expected_file = path.parent / "discovery/cluster-a/openid-configuration.json"
    assert problem.file.endswith("cluster-a.yaml")
    assert problem.field == "cluster.discovery.openid_configuration"
    assert problem.line == _line_of(path, "openid_configuration:")
    assert problem.message.startswith(f'file "{expected_file}" not found, so copy it from the cluster with ')


def test_invalid_json_is_config_error(cluster):
    path = cluster.write_environment()
    (cluster.documents / "openid-configuration.json").write_text(json.dumps(cluster.configuration), "utf-8")
    (cluster.documents / "jwks.json").write_text('{"keys": [}', "utf-8")

    with pytest.raises(ConfigError) as raised:
        load_environments([path])

    problem = _only_problem(raised.value.problems)
    assert problem.field == "cluster.discovery.jwks"
    assert problem.line == _line_of(path, "jwks:")
    assert "is not valid JSON: Expecting value at line 1 column 11" in problem.message


def test_issuer_trailing_slash_named(cluster):
    cluster.configuration["issuer"] = AWS_ISSUER + "/"

    problem = _only_problem(cluster.problems())

    assert problem.field == "cluster.discovery.openid_configuration"
    assert problem.message == (
        f'issuer "{AWS_ISSUER}/" ends with "/" but issuer_url "{AWS_ISSUER}" does not, and tokens '
        "carry the issuer verbatim, so the two must match exactly"
    )


def test_issuer_of_other_cluster(cluster):
    cluster.configuration["issuer"] = "https://example.com/cluster-b"

    problem = _only_problem(cluster.problems())

    assert problem.field == "cluster.discovery.openid_configuration"
    assert problem.message.startswith(
        f'issuer "https://example.com/cluster-b" does not equal issuer_url "{AWS_ISSUER}", so check '
    )


def test_jwks_uri_mismatch(cluster):
    cluster.configuration["jwks_uri"] = "https://10.0.0.1:6443/openid/v1/jwks"

    problem = _only_problem(cluster.problems())

    assert problem.field == "cluster.discovery.openid_configuration"
    assert problem.message == (
        'jwks_uri "https://10.0.0.1:6443/openid/v1/jwks" does not equal '
        f'"{AWS_ISSUER}/openid/v1/jwks", the issuer_url followed by /openid/v1/jwks, so set '
        "kube-apiserver's --service-account-jwks-uri flag to that value"
    )


def test_rs256_missing(cluster):
    cluster.configuration["id_token_signing_alg_values_supported"] = ["ES256"]

    problem = _only_problem(cluster.problems())

    assert problem.field == "cluster.discovery.openid_configuration"
    assert problem.message == (
        'id_token_signing_alg_values_supported ["ES256"] does not contain "RS256", which '
        "eso-oidc requires, so sign service account tokens with an RSA key"
    )


def test_no_rsa_signing_key(cluster):
    cluster.key_set = {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "ec"}]}

    problem = _only_problem(cluster.problems())

    assert problem.field == "cluster.discovery.jwks"
    assert problem.line == _line_of(cluster.config_dir / "cluster-a.yaml", "jwks:")
    assert problem.message.startswith('no RSA signing key found, expected at least one key with "kty": "RSA"')


def test_key_without_kid(cluster):
    del cluster.key_set["keys"][0]["kid"]

    problem = _only_problem(cluster.problems())

    assert problem.field == "cluster.discovery.jwks"
    assert problem.message == (
        'keys[0] has no "kid", but every key needs a non-empty "kid" string so that tokens can '
        "name the key that signed them"
    )


def test_private_key_rejected(cluster, signing_key):
    cluster.key_set = {"keys": [_rsa_private_jwk(signing_key)]}

    problem = _only_problem(cluster.problems())

    assert problem.field == "cluster.discovery.jwks"
    assert problem.message.startswith("contains PRIVATE key material: ")
    assert 'the private key members "d", "p", "q", "dp", "dq", "qi"' in problem.message


def test_several_keys_accepted(cluster):
    second = _rsa_public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    cluster.key_set["keys"].append(second)
    cluster.write_documents()

    (environment,) = load_environments([cluster.write_environment()])

    assert environment.name == "cluster-a"


def test_documents_relative_to_environment_file(cluster, monkeypatch, tmp_path):
    cluster.write_documents()
    path = cluster.write_environment()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    (environment,) = load_environments([path])

    assert environment.config.cluster.discovery.jwks == "discovery/cluster-a/jwks.json"


def test_app_exits_with_document_error(cluster, tmp_path):
    cluster.configuration["issuer"] = AWS_ISSUER + "/"
    cluster.write_documents()
    cluster.write_environment()

    result = subprocess.run(
        [sys.executable, "main.py"],
        cwd=PROJECT_DIR,
        env={**os.environ, "ESO_CONFIG_DIR": str(cluster.config_dir), "CDKTF_OUTDIR": str(tmp_path / "out")},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert "cluster-a.yaml:" in result.stderr
    assert ": cluster.discovery.openid_configuration: issuer " in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


# Publishing settings


def test_issuer_url_must_be_bucket_url(cluster):
    cluster.configuration = _openid_configuration("https://oidc.example.com/cluster-a")

    problem = _only_problem(cluster.problems(issuer_url="https://oidc.example.com/cluster-a"))

    assert problem.field == "cluster.issuer_url"
    assert problem.line == _line_of(cluster.config_dir / "cluster-a.yaml", "issuer_url:")
    assert problem.message.startswith(
        "'https://oidc.example.com/cluster-a' is not where bucket 'acme-oidc-test' in eu-central-1 "
        f"serves the documents; expected '{AWS_ISSUER}'"
    )


def test_s3_bucket_with_dot_rejected(cluster):
    problems = cluster.problems(bucket="acme.oidc")

    problem = _only_problem(problems)
    assert problem.field == "cluster.discovery.s3.bucket"
    assert problem.message.startswith("'acme.oidc' is not an S3 bucket name without dots")
    assert "a dot would break the TLS certificate match of the issuer URL" in problem.message


@pytest.mark.parametrize("bucket", ["ab", "Acme-oidc", "acme-oidc-", "xn--acme", "acme-s3alias"])
def test_invalid_s3_bucket_rejected(cluster, bucket):
    problem = _only_problem(cluster.problems(bucket=bucket))

    assert problem.field == "cluster.discovery.s3.bucket"
    assert problem.message.startswith(f"{bucket!r} is not an S3 bucket name without dots")


@pytest.mark.parametrize("prefix", ["/cluster-a", "cluster-a/", "a//b", "a/../b", "cluster a"])
def test_invalid_prefix_rejected(cluster, prefix):
    section = f"    s3:\n      bucket: acme-oidc-test\n      prefix: {json.dumps(prefix)}\n"

    problem = _only_problem(cluster.problems(publish_section=section))

    assert problem.field == "cluster.discovery.s3.prefix"
    assert problem.message.startswith(repr(prefix))


def test_publish_without_its_section(cluster):
    problem = _only_problem(cluster.problems(publish_section=""))

    assert problem.field == "cluster.discovery"
    assert problem.message == "publish: s3 needs the section `s3` next to it; add it"


def test_section_of_other_target(cluster):
    problem = _only_problem(cluster.problems(publish="none", publish_section=S3_SECTION.format(bucket="acme-oidc-test")))

    assert problem.field == "cluster.discovery"
    assert problem.message == "the section `s3` is set, but publish is 'none'; remove the section or set publish: s3"


def test_publish_target_of_other_cloud(cluster):
    section = "    gcs:\n      bucket: acme-oidc-test\n      location: EU\n"

    problem = _only_problem(cluster.problems(publish="gcs", publish_section=section))

    assert problem.field == "cluster.discovery.publish"
    assert problem.message == (
        "publish: gcs needs cloud: gcp; with cloud: aws use s3, or none to host the documents yourself"
    )


def test_publish_none_accepts_any_issuer_host(cluster):
    issuer = "https://oidc.example.com/cluster-a"
    cluster.configuration = _openid_configuration(issuer)
    cluster.write_documents()

    (environment,) = load_environments([cluster.write_environment(issuer_url=issuer, publish="none")])

    assert environment.config.cluster.discovery.publish == "none"


def test_kubeconfig_required(cluster):
    cluster.write_documents()
    path = cluster.write_environment()
    path.write_text(path.read_text().replace("  kubeconfig: {path: ~/.kube/config, context: cluster-a}\n", ""))

    with pytest.raises(ConfigError) as raised:
        load_environments([path])

    problem = _only_problem(raised.value.problems)
    assert problem.field == "cluster.kubeconfig"
    assert problem.message == "required setting is missing"


# AWS: the synthesized stack


@pytest.fixture
def aws_stack(cluster, synth) -> dict[str, Any]:
    cluster.write_documents()
    return synth(cluster.write_environment(audience="eso.acme.example"))


def test_s3_objects_keys_and_content_type(aws_stack, cluster):
    objects = aws_stack["resource"]["aws_s3_object"]

    assert sorted(item["key"] for item in objects.values()) == [
        "cluster-a/.well-known/openid-configuration",
        "cluster-a/openid/v1/jwks",
    ]
    for item in objects.values():
        assert item["content_type"] == "application/json"
    by_key = {item["key"]: json.loads(item["content"]) for item in objects.values()}
    assert by_key["cluster-a/.well-known/openid-configuration"] == cluster.configuration
    assert by_key["cluster-a/openid/v1/jwks"] == cluster.key_set


def test_s3_bucket_public_only_for_documents(aws_stack):
    resources = aws_stack["resource"]
    (bucket,) = resources["aws_s3_bucket"].values()
    (ownership,) = resources["aws_s3_bucket_ownership_controls"].values()
    (access,) = resources["aws_s3_bucket_public_access_block"].values()
    (statement,) = aws_stack["data"]["aws_iam_policy_document"]["discovery_hosting_public_read"]["statement"]

    assert bucket["bucket"] == "acme-oidc-test"
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    assert access["block_public_acls"] is True
    assert access["ignore_public_acls"] is True
    assert access["block_public_policy"] is False
    assert access["restrict_public_buckets"] is False
    assert statement["actions"] == ["s3:GetObject"]
    assert statement["principals"] == [{"identifiers": ["*"], "type": "*"}]
    assert statement["resources"] == [
        "${aws_s3_bucket.discovery_hosting_bucket.arn}/cluster-a/.well-known/openid-configuration",
        "${aws_s3_bucket.discovery_hosting_bucket.arn}/cluster-a/openid/v1/jwks",
    ]
    assert "aws_s3_bucket_acl" not in resources


def test_oidc_provider_waits_for_documents(aws_stack):
    provider = aws_stack["resource"]["aws_iam_openid_connect_provider"]["workload_identity_oidc_provider"]

    assert provider["url"] == AWS_ISSUER
    assert sorted(provider["depends_on"]) == [
        "aws_s3_bucket_policy.discovery_hosting_policy",
        "aws_s3_object.discovery_hosting_jwks",
        "aws_s3_object.discovery_hosting_openid_configuration",
    ]


def test_aws_audience_agrees_everywhere(aws_stack):
    provider = aws_stack["resource"]["aws_iam_openid_connect_provider"]["workload_identity_oidc_provider"]
    (trust,) = aws_stack["data"]["aws_iam_policy_document"]["workload_identity_trust"]["statement"]
    conditions = {condition["variable"]: condition["values"] for condition in trust["condition"]}
    values = json.loads(aws_stack["resource"]["helm_release"]["external_secrets_operator"]["values"][0])
    annotations = values["serviceAccount"]["annotations"]

    issuer_key = AWS_ISSUER.removeprefix("https://")
    assert provider["client_id_list"] == ["eso.acme.example"]
    assert conditions[f"{issuer_key}:aud"] == ["eso.acme.example"]
    assert annotations["eks.amazonaws.com/audience"] == "eso.acme.example"
    assert conditions[f"{issuer_key}:sub"] == ["system:serviceaccount:external-secrets:external-secrets"]


def test_aws_self_managed_has_no_eks_lookup(aws_stack):
    assert "aws_eks_cluster" not in aws_stack.get("data", {})
    assert aws_stack["provider"]["helm"][0]["kubernetes"] == {
        "config_context": "cluster-a",
        "config_path": "~/.kube/config",
    }


def test_aws_store_uses_service_account_ref(aws_stack):
    values = json.loads(aws_stack["resource"]["helm_release"]["external_secrets_stores"]["values"][0])

    (store,) = values["stores"]
    assert store["spec"]["provider"]["aws"]["auth"] == {
        "jwt": {"serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"}}
    }


def test_kube_apiserver_flags_output(aws_stack):
    assert aws_stack["output"]["kube_apiserver_flags"]["value"] == [
        f"--service-account-issuer={AWS_ISSUER}",
        f"--service-account-jwks-uri={AWS_ISSUER}/openid/v1/jwks",
    ]


def test_publish_none_creates_no_bucket(cluster, synth):
    issuer = "https://oidc.example.com/cluster-a"
    cluster.configuration = _openid_configuration(issuer)
    cluster.write_documents()

    stack = synth(cluster.write_environment(issuer_url=issuer, publish="none"))

    assert "aws_s3_bucket" not in stack["resource"]
    assert "aws_s3_object" not in stack["resource"]
    provider = stack["resource"]["aws_iam_openid_connect_provider"]["workload_identity_oidc_provider"]
    assert "depends_on" not in provider


def test_template_sequences_published_literally(cluster, synth):
    cluster.configuration["service_documentation"] = "https://example.com/${path}"
    cluster.write_documents()

    stack = synth(cluster.write_environment())

    content = stack["resource"]["aws_s3_object"]["discovery_hosting_openid_configuration"]["content"]
    assert '"https://example.com/$${path}"' in content


# discovery fetch on the command line


def test_discovery_fetch_command(tmp_path, signing_key):
    stub = StubKubectl(tmp_path / "bin")
    configuration = _openid_configuration(AWS_ISSUER)
    key_set = {"keys": [_rsa_public_jwk(signing_key)]}
    stub.serve(configuration, key_set)
    out = tmp_path / "config" / "discovery" / "cluster-a"

    result = subprocess.run(
        [sys.executable, "-m", "eso_oidc", "discovery", "fetch", "--context", "cluster-a", "--out", str(out)],
        cwd=PROJECT_DIR,
        env={**os.environ, "PATH": f"{stub.path.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(out / "openid-configuration.json"), str(out / "jwks.json")]
    assert json.loads((out / "openid-configuration.json").read_text()) == configuration
    assert json.loads((out / "jwks.json").read_text()) == key_set
    assert stub.calls() == [
        ["get", "--raw", "/.well-known/openid-configuration", "--context", "cluster-a"],
        ["get", "--raw", "/openid/v1/jwks", "--context", "cluster-a"],
    ]


def test_discovery_fetch_command_rejects_private_key(tmp_path, signing_key):
    stub = StubKubectl(tmp_path / "bin")
    stub.serve(_openid_configuration(AWS_ISSUER), {"keys": [_rsa_private_jwk(signing_key)]})
    out = tmp_path / "out"

    result = subprocess.run(
        [sys.executable, "-m", "eso_oidc", "discovery", "fetch", "--context", "cluster-a", "--out", str(out)],
        cwd=PROJECT_DIR,
        env={**os.environ, "PATH": f"{stub.path.parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("jwks: contains PRIVATE key material: ")
    assert not out.exists()


def test_example_documents_are_public_keys_only():
    for path in sorted((PROJECT_DIR / "config" / "discovery").glob("*/jwks.json")):
        for key in json.loads(path.read_text())["keys"]:
            assert not {"d", "p", "q", "dp", "dq", "qi", "oth"} & set(key), path


# GCP: workload identity pool, Secret Manager access and publishing in Cloud Storage

GCP_ISSUER = "https://storage.googleapis.com/acme-oidc-test/cluster-a"
GCP_AUDIENCE = (
    "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/onprem/providers/kubernetes"
)
GCP_PRINCIPAL = (
    "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/onprem/"
    "subject/system:serviceaccount:eso:eso-reader"
)

GCP_ENVIRONMENT = """\
cloud: gcp
cluster:
  type: self-managed
  issuer_url: {issuer_url}
  discovery:
    openid_configuration: discovery/cluster-a/openid-configuration.json
    jwks: discovery/cluster-a/jwks.json
    publish: gcs
    gcs: {{bucket: acme-oidc-test, location: EU, prefix: cluster-a}}
  kubeconfig: {{path: ~/.kube/config, context: cluster-a}}
gcp:
  project_id: acme-prod
{gcp_extra}  secrets: [db-password]
  workload_identity_pool_id: onprem
external_secrets:
  namespace: eso
  service_account: eso-reader
  chart_version: {chart_version}
"""


def _write_gcp(
    cluster: Cluster,
    *,
    issuer_url: str = GCP_ISSUER,
    chart_version: str = "2.9.0",
    gcp_extra: str = '  project_number: "123456789012"\n',
) -> Path:
    cluster.configuration = _openid_configuration(GCP_ISSUER)
    cluster.write_documents()
    path = cluster.config_dir / "cluster-a.yaml"
    text = GCP_ENVIRONMENT.format(issuer_url=issuer_url, chart_version=chart_version, gcp_extra=gcp_extra)
    path.write_text(text, encoding="utf-8")
    return path


def _gcp_problems(cluster: Cluster, **settings: Any) -> list[Problem]:
    path = _write_gcp(cluster, **settings)
    with pytest.raises(ConfigError) as raised:
        load_environments([path])
    return raised.value.problems


@pytest.fixture
def gcp_stack(cluster, synth) -> dict[str, Any]:
    return synth(_write_gcp(cluster))


def _gcp_store(stack: dict[str, Any]) -> dict[str, Any]:
    (store,) = json.loads(stack["resource"]["helm_release"]["external_secrets_stores"]["values"][0])["stores"]
    return store


def test_gcp_pool_provider_trusts_issuer(gcp_stack, cluster):
    (provider,) = gcp_stack["resource"]["google_iam_workload_identity_pool_provider"].values()

    assert provider["workload_identity_pool_provider_id"] == "kubernetes"
    assert provider["oidc"]["issuer_uri"] == GCP_ISSUER
    assert provider["attribute_mapping"] == {"google.subject": "assertion.sub"}
    assert provider["attribute_condition"] == "assertion.sub == 'system:serviceaccount:eso:eso-reader'"
    assert json.loads(provider["oidc"]["jwks_json"]) == cluster.key_set


def test_gcp_audience_agrees_everywhere(gcp_stack):
    (provider,) = gcp_stack["resource"]["google_iam_workload_identity_pool_provider"].values()
    federation = _gcp_store(gcp_stack)["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentityFederation"]

    assert provider["oidc"]["allowed_audiences"] == [GCP_AUDIENCE]
    assert federation["audience"] == GCP_AUDIENCE
    assert gcp_stack["output"]["audience"]["value"] == GCP_AUDIENCE


def test_gcp_store_uses_service_account_ref(gcp_stack):
    store = _gcp_store(gcp_stack)

    assert store["apiVersion"] == "external-secrets.io/v1"
    assert store["spec"]["provider"]["gcpsm"]["projectID"] == "acme-prod"
    assert store["spec"]["provider"]["gcpsm"]["auth"]["workloadIdentityFederation"]["serviceAccountRef"] == {
        "name": "eso-reader",
        "namespace": "eso",
    }


def test_gcp_accessor_granted_to_pool_principal(gcp_stack):
    (member,) = gcp_stack["resource"]["google_secret_manager_secret_iam_member"].values()

    assert member["member"] == GCP_PRINCIPAL
    assert member["role"] == "roles/secretmanager.secretAccessor"
    assert member["secret_id"] == "db-password"
    assert member["depends_on"] == [
        "google_iam_workload_identity_pool.identity_federation_pool",
        "google_iam_workload_identity_pool_provider.identity_federation_provider",
    ]
    assert gcp_stack["output"]["principal"]["value"] == GCP_PRINCIPAL


def test_gcp_needs_no_annotation_or_gke_lookup(gcp_stack):
    values = json.loads(gcp_stack["resource"]["helm_release"]["external_secrets_operator"]["values"][0])

    assert values["serviceAccount"]["annotations"] == {}
    assert "google_container_cluster" not in gcp_stack.get("data", {})


def test_gcp_project_number_looked_up(cluster, synth):
    stack = synth(_write_gcp(cluster, gcp_extra=""))

    (provider,) = stack["resource"]["google_iam_workload_identity_pool_provider"].values()
    number = "${data.google_project.identity_federation_project.number}"
    assert provider["oidc"]["allowed_audiences"] == [GCP_AUDIENCE.replace("123456789012", number)]
    assert stack["data"]["google_project"]["identity_federation_project"]["project_id"] == "acme-prod"


def test_gcs_objects_keys_and_content_type(gcp_stack, cluster):
    objects = gcp_stack["resource"]["google_storage_bucket_object"]

    assert sorted(item["name"] for item in objects.values()) == [
        "cluster-a/.well-known/openid-configuration",
        "cluster-a/openid/v1/jwks",
    ]
    for item in objects.values():
        assert item["content_type"] == "application/json"
    by_name = {item["name"]: json.loads(item["content"]) for item in objects.values()}
    assert by_name["cluster-a/openid/v1/jwks"] == cluster.key_set


def test_gcs_bucket_uniform_and_public_read(gcp_stack):
    (bucket,) = gcp_stack["resource"]["google_storage_bucket"].values()
    (member,) = gcp_stack["resource"]["google_storage_bucket_iam_member"].values()

    assert bucket["name"] == "acme-oidc-test"
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "inherited"
    assert member["member"] == "allUsers"
    assert member["role"] == "roles/storage.legacyObjectReader"


def test_gcp_kube_apiserver_flags_output(gcp_stack):
    assert gcp_stack["output"]["kube_apiserver_flags"]["value"] == [
        f"--service-account-issuer={GCP_ISSUER}",
        f"--service-account-jwks-uri={GCP_ISSUER}/openid/v1/jwks",
    ]


@pytest.mark.parametrize("version", ["0.20.1", "0.15.1"])
def test_gcp_old_chart_rejected(cluster, version):
    problem = _only_problem(_gcp_problems(cluster, chart_version=version))

    assert problem.field == "external_secrets.chart_version"
    assert problem.message == (
        f"{version!r} is too old for a self-managed cluster on cloud: gcp, whose store authenticates with "
        "workloadIdentityFederation, which works from chart 0.20.2 on; pin 0.20.2 or later"
    )


def test_gcp_chart_0_20_2_accepted(cluster):
    (environment,) = load_environments([_write_gcp(cluster, chart_version="0.20.2")])

    assert environment.config.external_secrets.chart_version == "0.20.2"


def test_gcp_service_account_mode_rejected(cluster):
    problem = _only_problem(_gcp_problems(cluster, gcp_extra="  mode: service_account\n"))

    assert problem.field == "gcp.mode"
    assert problem.message.startswith("a self-managed cluster reads Secret Manager in direct mode only")


def test_gcs_issuer_url_must_be_bucket_url(cluster):
    problems = _gcp_problems(cluster, issuer_url="https://storage.googleapis.com/other-bucket/cluster-a")

    issuer_problems = [problem for problem in problems if problem.field == "cluster.issuer_url"]
    assert len(issuer_problems) == 1
    assert issuer_problems[0].message == (
        "'https://storage.googleapis.com/other-bucket/cluster-a' is not where bucket 'acme-oidc-test' "
        f"serves the documents; expected '{GCP_ISSUER}'"
    )


def test_pool_settings_rejected_for_gke(write_environment):
    path = write_environment(
        """\
        cloud: gcp
        cluster: {name: dev-gke, location: europe-west1}
        gcp:
          project_id: acme-dev
          project_number: "412345678901"
          workload_identity_pool_id: onprem
        """
    )

    with pytest.raises(ConfigError) as raised:
        load_environments([path])

    problem = _only_problem(raised.value.problems)
    assert problem.field == "gcp.workload_identity_pool_id"
    assert problem.message == "is only used with a self-managed cluster; remove it"


# Azure: federated credential, Key Vault store and publishing on a static website

AZURE_ISSUER = "https://acmeoidctest.z13.web.core.windows.net/cluster-a"

AZURE_ENVIRONMENT = """\
cloud: azure
cluster:
  type: self-managed
  issuer_url: {issuer_url}
  discovery:
    openid_configuration: discovery/cluster-a/openid-configuration.json
    jwks: discovery/cluster-a/jwks.json
    publish: azure_blob
    azure_blob:
      storage_account_name: acmeoidctest
      resource_group_name: rg-oidc
      location: westeurope
      prefix: cluster-a
  kubeconfig: {{path: ~/.kube/config, context: cluster-a}}
azure:
  subscription_id: 3f2b8c1e-7d4a-4b6e-9c05-2a1d8e7f6b34
  location: westeurope
  identity: {{resource_group: rg-eso}}
  key_vault: {{name: kv-onprem, resource_group: rg-eso}}
"""


def _write_azure(cluster: Cluster, *, issuer_url: str = AZURE_ISSUER) -> Path:
    cluster.configuration = _openid_configuration(issuer_url)
    cluster.write_documents()
    path = cluster.config_dir / "cluster-a.yaml"
    path.write_text(AZURE_ENVIRONMENT.format(issuer_url=issuer_url), encoding="utf-8")
    return path


@pytest.fixture
def azure_stack(cluster, synth) -> dict[str, Any]:
    return synth(_write_azure(cluster))


def test_azure_credential_trusts_issuer(azure_stack):
    (credential,) = azure_stack["resource"]["azurerm_federated_identity_credential"].values()

    assert credential["issuer"] == AZURE_ISSUER
    assert credential["subject"] == "system:serviceaccount:external-secrets:external-secrets"
    assert credential["audience"] == ["api://AzureADTokenExchange"]


def test_azure_store_needs_no_webhook(azure_stack):
    operator_values = json.loads(azure_stack["resource"]["helm_release"]["external_secrets_operator"]["values"][0])
    (store,) = json.loads(azure_stack["resource"]["helm_release"]["external_secrets_stores"]["values"][0])["stores"]

    assert "podLabels" not in operator_values
    assert store["spec"]["provider"]["azurekv"]["authType"] == "WorkloadIdentity"
    assert store["spec"]["provider"]["azurekv"]["serviceAccountRef"] == {
        "name": "external-secrets",
        "namespace": "external-secrets",
    }
    assert "azurerm_kubernetes_cluster" not in azure_stack.get("data", {})


def test_azure_blobs_keys_and_content_type(azure_stack, cluster):
    blobs = azure_stack["resource"]["azurerm_storage_blob"]

    assert sorted(blob["name"] for blob in blobs.values()) == [
        "cluster-a/.well-known/openid-configuration",
        "cluster-a/openid/v1/jwks",
    ]
    for blob in blobs.values():
        assert blob["storage_container_name"] == "$web"
        assert blob["content_type"] == "application/json"
        assert blob["depends_on"] == ["azurerm_storage_account_static_website.discovery_hosting_static_website"]
    by_name = {blob["name"]: json.loads(blob["source_content"]) for blob in blobs.values()}
    assert by_name["cluster-a/.well-known/openid-configuration"] == cluster.configuration


def test_azure_account_checks_web_endpoint(azure_stack):
    account = azure_stack["resource"]["azurerm_storage_account"]["discovery_hosting_storage_account"]
    (condition,) = account["lifecycle"]["postcondition"]

    assert account["name"] == "acmeoidctest"
    assert account["allow_nested_items_to_be_public"] is False
    assert condition["condition"] == '${self.primary_web_endpoint == "https://acmeoidctest.z13.web.core.windows.net/"}'
    assert "az storage account show --name acmeoidctest --query primaryEndpoints.web" in condition["error_message"]


def test_azure_kube_apiserver_flags_output(azure_stack):
    assert azure_stack["output"]["kube_apiserver_flags"]["value"] == [
        f"--service-account-issuer={AZURE_ISSUER}",
        f"--service-account-jwks-uri={AZURE_ISSUER}/openid/v1/jwks",
    ]


@pytest.mark.parametrize(
    "issuer_url",
    [
        "https://otheraccount.z13.web.core.windows.net/cluster-a",
        "https://acmeoidctest.blob.core.windows.net/cluster-a",
        "https://acmeoidctest.z13.web.core.windows.net/cluster-b",
    ],
)
def test_azure_issuer_url_must_be_web_endpoint(cluster, issuer_url):
    path = _write_azure(cluster, issuer_url=issuer_url)

    with pytest.raises(ConfigError) as raised:
        load_environments([path])

    problem = _only_problem(raised.value.problems)
    assert problem.field == "cluster.issuer_url"
    assert problem.message == (
        f"{issuer_url!r} is not the static website endpoint of storage account 'acmeoidctest' plus prefix; "
        "expected 'https://acmeoidctest.zNN.web.core.windows.net/cluster-a', where zNN is the zone Azure gave "
        "the account (`az storage account show --query primaryEndpoints.web`)"
    )
