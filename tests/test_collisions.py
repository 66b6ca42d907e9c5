"""Collisions across environment files: shared Terraform state, discovery hosting, GCP pools, wording.

Each case runs `check` or the app's loader on files in a temporary folder and asserts the exact
messages. The shared-state and neighbour cases apply to every cloud.
"""

from __future__ import annotations

import io
import shutil
import textwrap
from pathlib import Path

import pytest

from eso_oidc.app import load_selected_environments, main
from eso_oidc.check import run_check
from eso_oidc.config.conflicts import EnvironmentResources, cloud_resources, find_collisions
from eso_oidc.config.models import ENVIRONMENT_MODELS
from eso_oidc.errors import ConfigError
from tests.conftest import EXAMPLES_DIR

STATE_FIX = "applying one would plan to destroy the resources of the other environment"


def _aws(name: str, backend: str = "") -> str:
    """Return an AWS environment whose role and cluster are named after `name`, so only `backend` can collide."""
    text = f"""\
        cloud: aws
        cluster:
          name: {name}-eks
        aws:
          region: eu-central-1
          account_id: "111122223333"
          role_name: eso-{name}
          parameter_store:
            paths: [/{name}/]
        """
    return textwrap.dedent(text) + textwrap.dedent(backend)


def _run(*files: str) -> tuple[int, list[str]]:
    out = io.StringIO()
    status = run_check(list(files), out=out)
    return status, out.getvalue().splitlines()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Shared Terraform state


def test_shared_s3_state(folder):
    (folder / "a.yaml").write_text(_aws("a", "backend:\n  s3: {bucket: tf, key: eso.tfstate, region: eu-central-1}\n"))
    (folder / "b.yaml").write_text(_aws("b", "backend:\n  s3: {bucket: tf, key: eso.tfstate, region: us-east-1}\n"))

    status, lines = _run("a.yaml", "b.yaml")

    assert status == 1
    assert lines == [
        "a.yaml:11: backend.s3.key: 'eso.tfstate' would keep the Terraform state in s3://tf/eso.tfstate, which "
        f"b.yaml (line 11) also uses; {STATE_FIX}; set a distinct backend.s3.key in each",
        "b.yaml:11: backend.s3.key: 'eso.tfstate' would keep the Terraform state in s3://tf/eso.tfstate, which "
        f"a.yaml (line 11) also uses; {STATE_FIX}; set a distinct backend.s3.key in each",
    ]


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (
            "backend:\n  azurerm:\n    storage_account_name: sttf\n    container_name: tfstate\n    key: eso.tfstate\n",
            "backend:\n  azurerm:\n    storage_account_name: sttf\n    container_name: tfstate\n    key: eso.tfstate\n"
            "    resource_group_name: rg-other\n",
            "a.yaml:14: backend.azurerm.key: 'eso.tfstate' would keep the Terraform state in blob eso.tfstate of "
            "container tfstate in storage account sttf, which b.yaml (line 14) also uses; "
            f"{STATE_FIX}; set a distinct backend.azurerm.key in each",
        ),
        (
            "backend:\n  gcs: {bucket: tf, prefix: eso/dev}\n",
            "backend:\n  gcs: {bucket: tf, prefix: eso/dev/}\n",
            "a.yaml:11: backend.gcs.prefix: 'eso/dev' would keep the Terraform state in gs://tf/eso/dev, which "
            f"b.yaml (line 11) also uses; {STATE_FIX}; set a distinct backend.gcs.prefix in each",
        ),
        (
            "backend:\n  local: {path: state/eso.tfstate}\n",
            "backend:\n  local: {path: ./state/../state/eso.tfstate}\n",
            "a.yaml:11: backend.local.path: 'state/eso.tfstate' would keep the Terraform state in the local file "
            f"state/eso.tfstate, which b.yaml (line 11) also uses; {STATE_FIX}; set a distinct backend.local.path "
            "in each",
        ),
    ],
    ids=["azurerm", "gcs-trailing-slash", "local-normalized"],
)
def test_shared_state_per_backend(first, second, expected, folder):
    (folder / "a.yaml").write_text(_aws("a", first))
    (folder / "b.yaml").write_text(_aws("b", second))

    status, lines = _run("a.yaml", "b.yaml")

    assert status == 1
    assert len(lines) == 2
    assert lines[0] == expected
    assert lines[1].startswith("b.yaml:")


def test_default_state_matches_local_path(folder):
    (folder / "a.yaml").write_text(_aws("a"))
    (folder / "b.yaml").write_text(_aws("b", "backend:\n  local: {path: terraform.a.tfstate}\n"))

    status, lines = _run("a.yaml", "b.yaml")

    assert status == 1
    assert lines == [
        "a.yaml:1: backend: unset, so the Terraform state would be kept in the local file terraform.a.tfstate, "
        f"which b.yaml (line 11) also uses; {STATE_FIX}; set a backend with a distinct state in one of them",
        "b.yaml:11: backend.local.path: 'terraform.a.tfstate' would keep the Terraform state in the local file "
        f"terraform.a.tfstate, which a.yaml (line 1) also uses; {STATE_FIX}; set a distinct backend.local.path in each",
    ]


def test_same_stem_in_two_folders(folder):
    (folder / "one").mkdir()
    (folder / "two").mkdir()
    (folder / "one" / "dev.yaml").write_text(_aws("a"))
    (folder / "two" / "dev.yaml").write_text(_aws("b"))

    status, lines = _run("one/dev.yaml", "two/dev.yaml")

    assert status == 1
    assert lines[0] == (
        "one/dev.yaml:1: backend: unset, so the Terraform state would be kept in the local file terraform.dev.tfstate, "
        f"which two/dev.yaml (line 1) also uses; {STATE_FIX}; set a backend with a distinct state in one of them"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("", ""),
        (
            "backend:\n  s3: {bucket: tf, key: a.tfstate, region: eu-central-1}\n",
            "backend:\n  s3: {bucket: tf, key: b.tfstate, region: eu-central-1}\n",
        ),
        (
            "backend:\n  s3: {bucket: tf-a, key: eso.tfstate, region: eu-central-1}\n",
            "backend:\n  s3: {bucket: tf-b, key: eso.tfstate, region: eu-central-1}\n",
        ),
        ("backend:\n  gcs: {bucket: tf, prefix: eso}\n", "backend:\n  gcs: {bucket: tf, prefix: eso/dev}\n"),
        (
            "backend:\n  azurerm: {storage_account_name: sttf, container_name: a, key: eso.tfstate}\n",
            "backend:\n  azurerm: {storage_account_name: sttf, container_name: b, key: eso.tfstate}\n",
        ),
    ],
    ids=["default-local", "s3-other-key", "s3-other-bucket", "gcs-nested-prefix", "azurerm-other-container"],
)
def test_distinct_states_pass(first, second, folder):
    (folder / "a.yaml").write_text(_aws("a", first))
    (folder / "b.yaml").write_text(_aws("b", second))

    status, lines = _run("a.yaml", "b.yaml")

    assert status == 0
    assert lines == ["a.yaml: ok", "b.yaml: ok"]


# Wording for more than two files


def test_four_files_share_state(folder):
    backend = "backend:\n  s3: {bucket: tf, key: eso.tfstate, region: eu-central-1}\n"
    for name in ("a", "b", "c", "d"):
        (folder / f"{name}.yaml").write_text(_aws(name, backend))

    status, lines = _run("a.yaml", "b.yaml", "c.yaml", "d.yaml")

    assert status == 1
    assert lines[0] == (
        "a.yaml:11: backend.s3.key: 'eso.tfstate' would keep the Terraform state in s3://tf/eso.tfstate, which "
        "b.yaml (line 11), c.yaml (line 11) and d.yaml (line 11) also use; applying one would plan to destroy the "
        "resources of the other environments; set a distinct backend.s3.key in each"
    )


def test_three_files_account_unset(folder):
    for name in ("a", "b", "c"):
        text = _aws(name).replace('  account_id: "111122223333"\n', "")
        (folder / f"{name}.yaml").write_text(text.replace(f"role_name: eso-{name}", "role_name: eso"))

    status, lines = _run("a.yaml", "b.yaml", "c.yaml")

    assert status == 1
    assert lines[0] == (
        "a.yaml:6: aws.role_name: 'eso' would create IAM role eso and policy eso-read, which b.yaml (line 6) and "
        "c.yaml (line 6) also create in the same AWS account as far as eso-oidc can tell, because aws.account_id is "
        "unset in all 3; set aws.account_id in each if they deploy to different accounts, or set a different "
        "aws.role_name in one of them"
    )


# Discovery hosting and GCP pools of self-managed clusters


def _copy_example(folder: Path, example: str, name: str, old: str, new: str) -> None:
    """Copy a self-managed example with its discovery documents to `folder/name.yaml`, replacing `old` by `new`."""
    if not (folder / "discovery").exists():
        shutil.copytree(EXAMPLES_DIR / "discovery", folder / "discovery")
    text = (EXAMPLES_DIR / f"{example}.yaml").read_text()
    assert old in text
    (folder / f"{name}.yaml").write_text(text.replace(old, new))


def _requires(cloud: str) -> None:
    if cloud not in ENVIRONMENT_MODELS:
        pytest.skip(f"the {cloud} model is not installed")


def test_shared_s3_discovery_bucket(folder):
    # The second file trusts the provider the first creates, so only the bucket collides.
    _copy_example(folder, "self-managed-aws", "a", "key: eso/self-managed-aws.tfstate", "key: eso/a.tfstate")
    _copy_example(folder, "self-managed-aws", "b", "key: eso/self-managed-aws.tfstate", "key: eso/b.tfstate")
    text = (folder / "b.yaml").read_text()
    provider = "arn:aws:iam::111122223333:oidc-provider/acme-oidc-onprem-a.s3.eu-central-1.amazonaws.com/onprem-a"
    text = text.replace("aws:\n", f"aws:\n  oidc_provider_arn: {provider}\n", 1)
    text = text.replace("role_name: external-secrets-onprem-a ", "role_name: external-secrets-b ")
    (folder / "b.yaml").write_text(text)

    status, lines = _run("a.yaml", "b.yaml")

    assert status == 1
    assert lines == [
        "a.yaml:17: cluster.discovery.s3.bucket: 'acme-oidc-onprem-a' would create S3 bucket acme-oidc-onprem-a for "
        "the discovery documents, which b.yaml (line 17) also creates; S3 bucket names are global and each environment "
        "creates its own, whatever the prefix; set a different cluster.discovery.s3.bucket in one of them",
        "b.yaml:17: cluster.discovery.s3.bucket: 'acme-oidc-onprem-a' would create S3 bucket acme-oidc-onprem-a for "
        "the discovery documents, which a.yaml (line 17) also creates; S3 bucket names are global and each environment "
        "creates its own, whatever the prefix; set a different cluster.discovery.s3.bucket in one of them",
    ]


def test_shared_storage_account(folder):
    _requires("azure")
    _copy_example(folder, "self-managed-azure", "a", "key: eso/self-managed-azure.tfstate", "key: eso/a.tfstate")
    _copy_example(folder, "self-managed-azure", "b", "key: eso/self-managed-azure.tfstate", "key: eso/b.tfstate")
    (folder / "b.yaml").write_text(
        (folder / "b.yaml").read_text().replace("name: external-secrets-onprem-b", "name: external-secrets-b")
    )

    status, lines = _run("a.yaml", "b.yaml")

    assert status == 1
    assert lines[0] == (
        "a.yaml:19: cluster.discovery.azure_blob.storage_account_name: 'acmeoidconpremb' would create storage account "
        "acmeoidconpremb for the discovery documents, which b.yaml (line 19) also creates; storage account names are "
        "global and each environment creates its own, whatever the prefix; set a different "
        "cluster.discovery.azure_blob.storage_account_name in one of them"
    )
    assert len(lines) == 2


def test_shared_gcs_bucket_and_pool(folder):
    _requires("gcp")
    _copy_example(folder, "self-managed-gcp", "a", "prefix: eso/self-managed-gcp", "prefix: eso/a")
    _copy_example(folder, "self-managed-gcp", "b", "prefix: eso/self-managed-gcp", "prefix: eso/b")

    status, lines = _run("a.yaml", "b.yaml")

    assert status == 1
    assert lines == [
        "a.yaml:19: cluster.discovery.gcs.bucket: 'acme-oidc-onprem-c' would create Cloud Storage bucket "
        "acme-oidc-onprem-c for the discovery documents, which b.yaml (line 19) also creates; bucket names are global "
        "and each environment creates its own, whatever the prefix; set a different cluster.discovery.gcs.bucket in "
        "one of them",
        "a.yaml:32: gcp.workload_identity_pool_id: 'onprem-c' would create workload identity pool onprem-c with "
        "provider kubernetes, which b.yaml (line 32) also creates in project acme-prod; set a different "
        "gcp.workload_identity_pool_id in one of them",
        "b.yaml:19: cluster.discovery.gcs.bucket: 'acme-oidc-onprem-c' would create Cloud Storage bucket "
        "acme-oidc-onprem-c for the discovery documents, which a.yaml (line 19) also creates; bucket names are global "
        "and each environment creates its own, whatever the prefix; set a different cluster.discovery.gcs.bucket in "
        "one of them",
        "b.yaml:32: gcp.workload_identity_pool_id: 'onprem-c' would create workload identity pool onprem-c with "
        "provider kubernetes, which a.yaml (line 32) also creates in project acme-prod; set a different "
        "gcp.workload_identity_pool_id in one of them",
    ]


def _gcp_self_managed(prefix: str, project: str, pool: str) -> dict:
    """Return the data of a self-managed GCP environment; model validation reads no discovery document."""
    return {
        "cloud": "gcp",
        "cluster": {
            "type": "self-managed",
            "issuer_url": f"https://storage.googleapis.com/acme-oidc/{prefix}",
            "discovery": {
                "openid_configuration": "openid-configuration.json",
                "jwks": "jwks.json",
                "publish": "gcs",
                "gcs": {"bucket": "acme-oidc", "location": "EU", "prefix": prefix},
            },
            "kubeconfig": {"path": "~/.kube/config"},
        },
        "gcp": {"project_id": project, "workload_identity_pool_id": pool},
        "backend": {"gcs": {"bucket": "tf", "prefix": f"eso/{prefix}"}},
    }


def _collision_kinds(*environments: dict) -> list[tuple[str, str]]:
    """Return (file, field path) of each collision among `environments`, named a.yaml, b.yaml, ..."""
    model = ENVIRONMENT_MODELS["gcp"]
    resources = [
        EnvironmentResources(f"{chr(ord('a') + index)}.yaml", cloud_resources(model.model_validate(data)), {})
        for index, data in enumerate(environments)
    ]
    return [(file, field) for file, _, field, _ in find_collisions(resources)]


def test_bucket_collides_whatever_prefix():
    _requires("gcp")

    collisions = _collision_kinds(_gcp_self_managed("a", "acme-a", "pool-a"), _gcp_self_managed("b", "acme-b", "pool-b"))

    assert collisions == [("a.yaml", "cluster.discovery.gcs.bucket"), ("b.yaml", "cluster.discovery.gcs.bucket")]


def test_pool_scoped_to_project():
    _requires("gcp")

    same_project = _collision_kinds(
        _gcp_self_managed("a", "acme-prod", "onprem"), _gcp_self_managed("b", "acme-prod", "onprem")
    )
    other_project = _collision_kinds(
        _gcp_self_managed("a", "acme-prod", "onprem"), _gcp_self_managed("b", "acme-dev", "onprem")
    )

    assert ("a.yaml", "gcp.workload_identity_pool_id") in same_project
    assert ("a.yaml", "gcp.workload_identity_pool_id") not in other_project


# Synthesis reads the unselected files of the folder, as check does


@pytest.fixture
def selected_with_neighbour(folder, monkeypatch) -> Path:
    """Write a.yaml and b.yaml sharing one S3 state and select only b.yaml."""
    config = folder / "config"
    config.mkdir()
    backend = "backend:\n  s3: {bucket: tf, key: eso.tfstate, region: eu-central-1}\n"
    (config / "a.yaml").write_text(_aws("a", backend))
    (config / "b.yaml").write_text(_aws("b", backend))
    monkeypatch.setenv("ESO_CONFIG_DIR", "config")
    monkeypatch.setenv("ESO_ENVIRONMENTS", "b")
    return config


def test_selection_sees_neighbour(selected_with_neighbour):
    with pytest.raises(ConfigError) as raised:
        load_selected_environments()

    assert [str(problem) for problem in raised.value.problems] == [
        "config/b.yaml:11: backend.s3.key: 'eso.tfstate' would keep the Terraform state in s3://tf/eso.tfstate, which "
        f"config/a.yaml (line 11) also uses; {STATE_FIX}; set a distinct backend.s3.key in each"
    ]


def test_selection_matches_check(selected_with_neighbour):
    _, check_lines = _run("config/b.yaml")

    with pytest.raises(ConfigError) as raised:
        load_selected_environments()

    assert [str(problem) for problem in raised.value.problems] == check_lines


def test_main_writes_nothing_on_neighbour_collision(selected_with_neighbour, folder, monkeypatch, capsys):
    monkeypatch.setenv("CDKTF_OUTDIR", str(folder / "out"))

    status = main()

    assert status == 1
    assert "config/b.yaml:11: backend.s3.key: 'eso.tfstate'" in capsys.readouterr().err
    assert not (folder / "out").exists()


def test_selection_ignores_broken_neighbour(folder, monkeypatch):
    config = folder / "config"
    config.mkdir()
    (config / "a.yaml").write_text("cloud: [\n")
    (config / "b.yaml").write_text(_aws("b"))
    monkeypatch.setenv("ESO_CONFIG_DIR", "config")
    monkeypatch.setenv("ESO_ENVIRONMENTS", "b")

    environments = load_selected_environments()

    assert [environment.name for environment in environments] == ["b"]


def test_many_collisions_counted_past_three(tmp_path):
    from eso_oidc.config import load_environments

    paths = []
    for index in range(6):
        path = tmp_path / f"env-{index}.yaml"
        path.write_text(
            "cloud: aws\ncluster: {name: dev}\naws:\n  region: eu-central-1\n"
            f"  role_name: reader-{index}\n  parameter_store: {{paths: [/dev/]}}\n"
            "backend: {s3: {bucket: tf, key: shared.tfstate, region: eu-central-1}}\n"
        )
        paths.append(path)

    with pytest.raises(ConfigError) as raised:
        load_environments(paths)

    state = [problem for problem in raised.value.problems if problem.field == "backend.s3.key"]
    first = [problem for problem in state if problem.file.endswith("env-0.yaml")]
    assert len(state) == 6
    assert len(first) == 1
    assert f"{tmp_path}/env-1.yaml (line 7), {tmp_path}/env-2.yaml (line 7), {tmp_path}/env-3.yaml (line 7) and 2 more files also use" in first[0].message
