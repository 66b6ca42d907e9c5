"""Apply each AWS example's trust to moto, check it with boto3, then plan again and destroy.

Each example's stack is synthesized with `aws.endpoints` pointing every AWS call at a moto server
on 127.0.0.1, and applied without its Helm blocks, because the helm provider is not in the
provider mirror. The aws constraint is relaxed to the mirrored version, as in the validate tests.
For EKS clusters the test creates the named cluster in moto first, so the stack's real cluster
lookup supplies the issuer. moto runs with the example's `aws.account_id`, so that the provider's
`allowed_account_ids` check passes as it would in that account.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eso_oidc.config import EnvironmentFile, load_environments
from eso_oidc.config.aws import AwsEndpoints
from tests.conftest import example_paths
from tests.terraform_cli import prepare_stack, run_terraform

MOTO_DEFAULT_ACCOUNT = "123456789012"
MOTO_START_TIMEOUT_SECONDS = 30
ACCESS_KEY = "test"
SECRET_KEY = "test"


def _aws_example_names() -> list[str]:
    return [environment.name for environment in load_environments(example_paths()) if environment.config.cloud == "aws"]


AWS_EXAMPLES = _aws_example_names()


# moto


def find_moto_server() -> str | None:
    """Return moto's server command: next to this Python's executable, or on PATH."""
    beside = Path(sys.executable).parent / "moto_server"
    if beside.is_file():
        return str(beside)
    return shutil.which("moto_server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MotoServer:
    """A moto server on 127.0.0.1 that this test session started."""

    process: subprocess.Popen[bytes]
    url: str
    account_id: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_moto(command: str, account_id: str, log: Path) -> MotoServer:
    """Start moto_server on a free port and wait until it responds, or raise RuntimeError."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {**os.environ, "MOTO_ACCOUNT_ID": account_id}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [command, "-H", "127.0.0.1", "-p", str(port)], stdout=output, stderr=subprocess.STDOUT, env=environment
        )
    server = MotoServer(process, url, account_id)
    deadline = time.monotonic() + MOTO_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2):
                return server
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"moto_server did not respond on {url} within {MOTO_START_TIMEOUT_SECONDS} s")


# Deployment


@dataclass
class Deployment:
    """An example's AWS trust applied to moto, with the clients and Terraform folder to inspect it."""

    environment: EnvironmentFile
    folder: Path
    moto: MotoServer
    terraform_environment: dict[str, str]
    terraform: str
    clients: dict[str, Any]
    issuer_url: str
    second_plan: subprocess.CompletedProcess[str] | None = None
    setup_error: BaseException | None = None

    def client(self, service: str) -> Any:
        return self.clients[service]

    def run(self, arguments: list[str], expected_status: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        return run_terraform(
            self.terraform, arguments, cwd=self.folder, env=self.terraform_environment, expected_status=expected_status
        )


def _with_endpoints(environment: EnvironmentFile, url: str) -> EnvironmentFile:
    config = environment.config
    # Every service the setting has goes to moto, so none can reach AWS.
    endpoints = AwsEndpoints(**{service: url for service in AwsEndpoints.model_fields})
    aws = config.aws.model_copy(update={"endpoints": endpoints})
    return EnvironmentFile(environment.name, environment.path, config.model_copy(update={"aws": aws}))


def _boto3_clients(moto: MotoServer, region: str) -> dict[str, Any]:
    import boto3

    session = boto3.session.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=region)
    return {service: session.client(service, endpoint_url=moto.url) for service in ("iam", "sts", "eks", "s3")}


def _create_eks_clusters(stack: dict[str, Any], eks: Any, account_id: str) -> None:
    """Create in moto each EKS cluster the stack looks up, so that its data source finds it."""
    for lookup in stack.get("data", {}).get("aws_eks_cluster", {}).values():
        eks.create_cluster(
            name=lookup["name"],
            roleArn=f"arn:aws:iam::{account_id}:role/eks-cluster",
            resourcesVpcConfig={"subnetIds": []},
        )


def _aws_credentials(folder: Path) -> dict[str, str]:
    """Return variables that give the provider moto's test credentials and no profile or shared files."""
    empty = folder / "empty-aws-file"
    empty.write_text("")
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _clean_aws_variables(environment: dict[str, str]) -> dict[str, str]:
    dropped = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
    return {
        key: value
        for key, value in environment.items()
        if key not in dropped and not key.startswith("AWS_ENDPOINT_URL")
    }


@pytest.fixture(scope="module")
def deployments(terraform_toolchain, tmp_path_factory):
    """Every AWS example's trust applied to a moto server of its own, then planned a second time.

    The stacks are synthesized one after another in this thread, which the jsii runtime belongs
    to. Terraform then runs for all examples at once, because most of its time goes into loading
    the aws provider's schema, not into the calls to moto. The servers stop after the module.
    """
    moto_server = find_moto_server()
    if moto_server is None:
        pytest.skip("moto_server not found next to this Python or on PATH; install moto[server]")

    environments = [environment for environment in load_environments(example_paths()) if environment.config.cloud == "aws"]
    servers: list[MotoServer] = []
    try:
        prepared: dict[str, Deployment] = {}
        for environment in environments:
            account_id = environment.config.aws.account_id or MOTO_DEFAULT_ACCOUNT
            folder = tmp_path_factory.mktemp(f"apply-{environment.name}")
            moto = start_moto(moto_server, account_id, folder / "moto.log")
            servers.append(moto)
            prepared[environment.name] = _prepare_deployment(environment, moto, folder, terraform_toolchain)

        workers = max(1, min(len(prepared), os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {name: pool.submit(_apply_and_plan, deployment) for name, deployment in prepared.items()}
        for name, future in futures.items():
            prepared[name].setup_error = future.exception()
        yield prepared
    finally:
        for server in servers:
            server.stop()


def _prepare_deployment(environment: EnvironmentFile, moto: MotoServer, folder: Path, toolchain: Any) -> Deployment:
    """Synthesize the example against moto, write its Terraform folder and create the EKS clusters it looks up."""
    stack = _synthesize_environment(_with_endpoints(environment, moto.url), folder / "cdktf.out")
    prepared = prepare_stack(stack, toolchain.mirror, strip_missing=True)
    work = folder / "terraform"
    prepared.write(work)

    clients = _boto3_clients(moto, environment.config.aws.region)
    _create_eks_clusters(prepared.config, clients["eks"], moto.account_id)

    terraform_environment = _clean_aws_variables(toolchain.environment())
    terraform_environment.update(_aws_credentials(folder))
    return Deployment(
        environment=environment,
        folder=work,
        moto=moto,
        terraform_environment=terraform_environment,
        terraform=toolchain.terraform,
        clients=clients,
        issuer_url=_expected_issuer(environment, clients["eks"]),
    )


def _apply_and_plan(deployment: Deployment) -> None:
    deployment.run(["init", "-input=false"])
    deployment.run(["apply", "-auto-approve", "-input=false"])
    deployment.second_plan = deployment.run(["plan", "-detailed-exitcode", "-input=false"], expected_status=(0, 2))


@pytest.fixture(params=AWS_EXAMPLES or [None])
def deployment(request, deployments):
    """One AWS example's trust, applied to moto."""
    name = request.param
    if name is None:
        pytest.skip("no example in config/ has cloud: aws")
    applied = deployments[name]
    if applied.setup_error is not None:
        pytest.fail(f"{name}: {applied.setup_error}", pytrace=False)
    return applied


def _synthesize_environment(environment: EnvironmentFile, outdir: Path) -> dict[str, Any]:
    """Synthesize one environment (already loaded and changed) and return its stack."""
    from eso_oidc.app import synthesize

    synthesize([environment], outdir)
    return json.loads((outdir / "stacks" / environment.name / "cdk.tf.json").read_text())


def _expected_issuer(environment: EnvironmentFile, eks: Any) -> str:
    cluster = environment.config.cluster
    if cluster.issuer_url is not None:
        return cluster.issuer_url
    return eks.describe_cluster(name=cluster.name)["cluster"]["identity"]["oidc"]["issuer"]


# Expected documents, written out from the config rather than from the construct's code.


def _as_list(value: Any) -> list[Any]:
    return sorted(value) if isinstance(value, list) else [value]


def normalize_policy(document: dict[str, Any]) -> dict[str, Any]:
    """Return a policy with every Action, Resource and condition value as a sorted list, statements by Sid.

    IAM treats a single string and a one-element list alike, and Terraform writes either.
    """
    statements = {}
    for statement in document["Statement"]:
        normalized = dict(statement)
        for key in ("Action", "Resource"):
            if key in normalized:
                normalized[key] = _as_list(normalized[key])
        if "Condition" in normalized:
            normalized["Condition"] = {
                test: {variable: _as_list(values) for variable, values in variables.items()}
                for test, variables in normalized["Condition"].items()
            }
        if "Principal" in normalized:
            normalized["Principal"] = {kind: _as_list(ids) for kind, ids in normalized["Principal"].items()}
        statements[normalized.pop("Sid")] = normalized
    return {"Version": document["Version"], "Statement": statements}


def expected_trust(deployment: Deployment, oidc_provider_arn: str) -> dict[str, Any]:
    config = deployment.environment.config
    issuer = deployment.issuer_url.removeprefix("https://")
    subject = f"system:serviceaccount:{config.external_secrets.namespace}:{config.external_secrets.service_account}"
    return {
        "Version": "2012-10-17",
        "Statement": {
            "ServiceAccountWebIdentity": {
                "Effect": "Allow",
                "Action": ["sts:AssumeRoleWithWebIdentity"],
                "Principal": {"Federated": [oidc_provider_arn]},
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": [subject],
                        f"{issuer}:aud": [config.aws.audience],
                    }
                },
            }
        },
    }


def expected_read_policy(deployment: Deployment) -> dict[str, Any]:
    aws = deployment.environment.config.aws
    prefix = f"arn:aws:{{service}}:{aws.region}:{deployment.moto.account_id}"
    statements: dict[str, Any] = {}
    if aws.parameter_store.paths:
        ssm = prefix.format(service="ssm")
        resources = []
        for path in aws.parameter_store.paths:
            bare = path.rstrip("/")
            resources += [f"{ssm}:parameter{bare}", f"{ssm}:parameter{bare}/*"]
        statements["ReadParameters"] = {
            "Effect": "Allow",
            "Action": sorted(["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]),
            "Resource": sorted(resources),
        }
        statements["DescribeParameters"] = {"Effect": "Allow", "Action": ["ssm:DescribeParameters"], "Resource": ["*"]}
    if aws.secrets_manager.name_prefixes:
        secrets = prefix.format(service="secretsmanager")
        statements["ReadSecrets"] = {
            "Effect": "Allow",
            "Action": sorted(
                ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"]
            ),
            "Resource": sorted(f"{secrets}:secret:{name}*" for name in aws.secrets_manager.name_prefixes),
        }
        statements["ListSecrets"] = {
            "Effect": "Allow",
            "Action": sorted(["secretsmanager:ListSecrets", "secretsmanager:BatchGetSecretValue"]),
            "Resource": ["*"],
        }
    if aws.kms_key_arns:
        statements["DecryptSecrets"] = {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": sorted(aws.kms_key_arns)}
    return {"Version": "2012-10-17", "Statement": statements}


def _role(deployment: Deployment) -> dict[str, Any]:
    return deployment.client("iam").get_role(RoleName=deployment.environment.config.aws.role_name)["Role"]


def _oidc_provider_arn(deployment: Deployment) -> str:
    configured = deployment.environment.config.aws.oidc_provider_arn
    if configured is not None:
        return configured
    providers = deployment.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert len(providers) == 1, providers
    return providers[0]["Arn"]


def _trust_document(role: dict[str, Any]) -> dict[str, Any]:
    document = role["AssumeRolePolicyDocument"]
    return json.loads(document) if isinstance(document, str) else document


# Tests of each deployment. They run in this order, so destroy comes after the checks of every example.


def test_oidc_provider_matches_config(deployment):
    aws = deployment.environment.config.aws
    if aws.oidc_provider_arn is not None:
        providers = deployment.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
        assert providers == [], "an existing OIDC provider is reused, so none is created"
        return

    provider = deployment.client("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=_oidc_provider_arn(deployment))

    assert provider["Url"] == deployment.issuer_url.removeprefix("https://")
    assert provider["ClientIDList"] == [aws.audience]


def test_role_trusts_one_subject_and_audience(deployment):
    role = _role(deployment)

    trust = normalize_policy(_trust_document(role))

    assert trust == expected_trust(deployment, _oidc_provider_arn(deployment))


def test_role_settings_match_config(deployment):
    config = deployment.environment.config
    role = _role(deployment)

    assert role["Path"] == config.aws.role_path
    assert role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn") == config.aws.permissions_boundary_arn
    assert {tag["Key"]: tag["Value"] for tag in role.get("Tags", [])} == dict(config.tags)


def test_read_policy_matches_config(deployment):
    iam = deployment.client("iam")
    aws = deployment.environment.config.aws
    attached = iam.list_attached_role_policies(RoleName=aws.role_name)["AttachedPolicies"]

    assert [policy["PolicyName"] for policy in attached] == [f"{aws.role_name}-read"]

    policy = iam.get_policy(PolicyArn=attached[0]["PolicyArn"])["Policy"]
    version = iam.get_policy_version(PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    document = version["Document"]
    document = json.loads(document) if isinstance(document, str) else document

    assert policy["Path"] == aws.role_path
    assert normalize_policy(document) == expected_read_policy(deployment)


def published_discovery_problems(s3: Any, issuer_url: str, expected: dict[str, Path]) -> list[str]:
    """Return how the S3 objects differ from the discovery documents they must serve at `issuer_url`.

    `expected` maps each path below the issuer (`.well-known/openid-configuration`) to the file whose
    bytes it must serve. Exactly one object in all buckets must end with each path.
    """
    found: dict[str, list[tuple[str, str]]] = {suffix: [] for suffix in expected}
    for bucket in s3.list_buckets()["Buckets"]:
        for item in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            for suffix in expected:
                if item["Key"] == suffix or item["Key"].endswith(f"/{suffix}"):
                    found[suffix].append((bucket["Name"], item["Key"]))

    problems = []
    for suffix, source in expected.items():
        if len(found[suffix]) != 1:
            problems.append(f"{suffix}: expected one object, found {found[suffix]}")
            continue
        bucket, key = found[suffix][0]
        # Virtual-hosted (https://BUCKET.s3.REGION.amazonaws.com/KEY) and path-style
        # (https://s3.REGION.amazonaws.com/BUCKET/KEY) URLs both end with the key.
        if not f"{issuer_url.rstrip('/')}/{suffix}".endswith(f"/{key}"):
            problems.append(f"{suffix}: object {key} in {bucket} is not below the issuer {issuer_url}")
        document = s3.get_object(Bucket=bucket, Key=key)
        if document["ContentType"] != "application/json":
            problems.append(f"{suffix}: content type is {document['ContentType']}, not application/json")
        # The stack publishes each document re-serialized, so the JSON values are compared, not the bytes.
        if json.loads(document["Body"].read()) != json.loads(source.read_text(encoding="utf-8")):
            problems.append(f"{suffix}: body differs from {source}")
    return problems


def test_self_managed_discovery_published(deployment):
    cluster = deployment.environment.config.cluster
    if getattr(cluster, "type", "managed") != "self-managed":
        pytest.skip(f"{deployment.environment.name}: an EKS cluster, whose issuer EKS publishes")
    discovery = cluster.discovery
    if discovery.publish != "s3":
        pytest.skip(f"{deployment.environment.name}: discovery.publish is {discovery.publish}, not s3")
    openid_configuration, jwks = discovery.paths(deployment.environment.path)
    expected = {".well-known/openid-configuration": openid_configuration, "openid/v1/jwks": jwks}
    s3 = deployment.client("s3")

    assert [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]] == [discovery.s3.bucket]
    assert published_discovery_problems(s3, cluster.issuer_url, expected) == []


def test_plan_after_apply_has_no_changes(deployment):
    result = deployment.second_plan

    assert result.returncode == 0, f"a second plan wants changes:\n{result.stdout[-6000:]}"


@pytest.fixture(scope="module")
def destroy_errors(deployments):
    """Destroy every deployment at once, before the first destroy test, and return the errors by name.

    Only `test_destroy_leaves_nothing` uses this, and it runs after every check of every example.
    """
    applied = {name: deployment for name, deployment in deployments.items() if deployment.setup_error is None}
    workers = max(1, min(len(applied), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # The second plan has refreshed the state already.
        futures = {
            name: pool.submit(deployment.run, ["destroy", "-auto-approve", "-input=false", "-refresh=false"])
            for name, deployment in applied.items()
        }
    return {name: future.exception() for name, future in futures.items()}


def test_destroy_leaves_nothing(deployment, destroy_errors):
    error = destroy_errors[deployment.environment.name]
    if error is not None:
        pytest.fail(str(error), pytrace=False)
    iam = deployment.client("iam")
    s3 = deployment.client("s3")

    assert iam.list_roles()["Roles"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert s3.list_buckets()["Buckets"] == []


# The S3 check itself, run on objects put into moto directly, since no example publishes to S3 yet.


@pytest.fixture
def moto_s3(tmp_path):
    command = find_moto_server()
    if command is None:
        pytest.skip("moto_server not found next to this Python or on PATH; install moto[server]")
    moto = start_moto(command, MOTO_DEFAULT_ACCOUNT, tmp_path / "moto.log")
    try:
        yield _boto3_clients(moto, "eu-central-1")["s3"]
    finally:
        moto.stop()


def _discovery_files(folder: Path) -> dict[str, Path]:
    configuration = folder / "openid-configuration.json"
    configuration.write_text('{"issuer": "https://example"}')
    jwks = folder / "jwks.json"
    jwks.write_text('{"keys": []}')
    return {".well-known/openid-configuration": configuration, "openid/v1/jwks": jwks}


def _put(s3: Any, bucket: str, key: str, body: bytes, content_type: str = "application/json") -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)


def test_discovery_check_accepts_published_documents(moto_s3, tmp_path):
    expected = _discovery_files(tmp_path)
    moto_s3.create_bucket(Bucket="issuer", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    for suffix, source in expected.items():
        _put(moto_s3, "issuer", f"cluster-a/{suffix}", source.read_bytes())

    issuer_url = "https://issuer.s3.eu-central-1.amazonaws.com/cluster-a"

    assert published_discovery_problems(moto_s3, issuer_url, expected) == []


def test_discovery_check_reports_each_difference(moto_s3, tmp_path):
    expected = _discovery_files(tmp_path)
    moto_s3.create_bucket(Bucket="issuer", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    _put(moto_s3, "issuer", "other/.well-known/openid-configuration", b"{}", content_type="text/plain")

    problems = published_discovery_problems(moto_s3, "https://issuer.s3.eu-central-1.amazonaws.com/cluster-a", expected)

    assert problems == [
        (
            ".well-known/openid-configuration: object other/.well-known/openid-configuration in issuer is not below "
            "the issuer https://issuer.s3.eu-central-1.amazonaws.com/cluster-a"
        ),
        ".well-known/openid-configuration: content type is text/plain, not application/json",
        f".well-known/openid-configuration: body differs from {expected['.well-known/openid-configuration']}",
        "openid/v1/jwks: expected one object, found []",
    ]
