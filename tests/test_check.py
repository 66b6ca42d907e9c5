"""The `check` command: output, exit status, collisions across files, and no cdktf loaded."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from eso_oidc.check import run_check
from eso_oidc.config import load_environments
from eso_oidc.config.conflicts import RESOURCE_FINDERS
from eso_oidc.errors import ConfigError
from tests.conftest import EXAMPLES_DIR, PROJECT_DIR

AWS_ENVIRONMENT = """\
cloud: aws
cluster:
  name: {cluster}
aws:
  region: eu-central-1
{account}  role_name: {role}
  parameter_store:
    paths: [/dev/]
"""


def _aws(cluster: str = "dev-eks", role: str = "external-secrets", account: str | None = None, extra: str = "") -> str:
    account_line = f'  account_id: "{account}"\n' if account else ""
    return AWS_ENVIRONMENT.format(cluster=cluster, role=role, account=account_line) + textwrap.dedent(extra)


def _run(files: list[str]) -> tuple[int, list[str]]:
    out = io.StringIO()
    status = run_check(files, out=out)
    return status, out.getvalue().splitlines()


def _run_command(*arguments: str, cwd: Path = PROJECT_DIR, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR), **environment}
    return subprocess.run(
        [sys.executable, "-m", "eso_oidc", *arguments], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_examples_pass(monkeypatch):
    monkeypatch.chdir(PROJECT_DIR)
    names = sorted(path.name for path in EXAMPLES_DIR.glob("*.yaml"))

    status, lines = _run([])

    assert status == 0
    assert lines == [f"config/{name}: ok" for name in names]


def test_check_loads_no_cdktf():
    probe = (
        "import sys\n"
        "from eso_oidc.__main__ import main\n"
        "status = main(['check'])\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in ('cdktf', 'jsii', 'constructs')"
        " or name.startswith('cdktf_cdktf_provider_'))\n"
        "print(status, loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stderr == ""
    assert result.stdout.splitlines()[-1] == "0 []"


def test_command_exit_status_and_output(tmp_path):
    (tmp_path / "good.yaml").write_text(_aws(role="eso-good", account="111122223333"))
    (tmp_path / "bad.yaml").write_text(_aws(role="eso-bad", account="111122223333", extra="extra: 1\n"))

    result = _run_command("check", "good.yaml", "bad.yaml", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "good.yaml: ok",
        "bad.yaml:10: extra: `extra` is not a top-level setting; allowed: aws, backend, cloud, cluster, "
        "external_secrets, tags",
    ]
    assert result.stderr == ""


def test_command_default_reads_eso_config_dir(tmp_path):
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "one.yaml").write_text(_aws())

    result = _run_command("check", cwd=tmp_path, ESO_CONFIG_DIR="envs")

    assert result.returncode == 0
    assert result.stdout == "envs/one.yaml: ok\n"


def test_command_reports_empty_config_dir(tmp_path):
    (tmp_path / "envs").mkdir()

    result = _run_command("check", cwd=tmp_path, ESO_CONFIG_DIR="envs")

    assert result.returncode == 1
    assert result.stdout == "envs: no environment files (*.yaml) found\n"


def test_folder_argument_checks_its_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "a.yaml").write_text(_aws(cluster="a-eks", role="eso-a"))
    (tmp_path / "envs" / "b.yml").write_text(_aws(cluster="b-eks", role="eso-b"))
    (tmp_path / "envs" / "notes.txt").write_text("not an environment\n")

    status, lines = _run(["envs"])

    assert status == 0
    assert lines == ["envs/a.yaml: ok", "envs/b.yml: ok"]


def test_problems_sorted_across_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.yaml").write_text(_aws(role="eso-b", extra="tags: {team: 1}\n"))
    (tmp_path / "a.yaml").write_text("cloud: aws\ncluster: {}\naws: {region: mars}\n")

    status, lines = _run(["b.yaml", "a.yaml"])

    assert status == 1
    assert lines == [
        "a.yaml:2: cluster.name: required setting is missing",
        "a.yaml:3: aws.region: 'mars' is not an AWS region, such as 'eu-central-1'",
        "b.yaml:9: tags.team: expected a string (quote numbers, dates and yes/no in YAML), got number 1",
    ]


# Collisions


def test_collision_with_unchanged_neighbour(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "aws-dev.yaml").write_text(_aws(role="eso", account="111122223333"))
    (tmp_path / "aws-prod.yaml").write_text(_aws(cluster="prod-eks", role="eso", account="111122223333"))

    status, lines = _run(["aws-prod.yaml"])

    assert status == 1
    assert lines == [
        "aws-prod.yaml:7: aws.role_name: 'eso' would create IAM role eso and policy eso-read, which aws-dev.yaml "
        "(line 7) also creates in AWS account 111122223333; set a different aws.role_name in one of them"
    ]


def test_broken_neighbour_not_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "aws-dev.yaml").write_text(_aws())
    (tmp_path / "aws-broken.yaml").write_text("cloud: [\n")

    status, lines = _run(["aws-dev.yaml"])

    assert status == 0
    assert lines == ["aws-dev.yaml: ok"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"account": "111122223333"}, {"account": "444455556666"}),
        ({"account": "111122223333"}, {}),
        ({}, {"role": "eso-prod"}),
    ],
    ids=["other-account", "one-account-unset", "other-role"],
)
def test_distinct_resources_pass(first, second, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "aws-dev.yaml").write_text(_aws(**first))
    (tmp_path / "aws-prod.yaml").write_text(_aws(cluster="prod-eks", **second))

    status, lines = _run(["aws-dev.yaml", "aws-prod.yaml"])

    assert status == 0
    assert lines == ["aws-dev.yaml: ok", "aws-prod.yaml: ok"]


def test_reused_oidc_provider_no_collision(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    provider = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/EXAMPLE"
    (tmp_path / "team-a.yaml").write_text(_aws(cluster="shared-eks", role="eso-a", account="111122223333"))
    (tmp_path / "team-b.yaml").write_text(
        _aws(cluster="shared-eks", role="eso-b", account="111122223333").replace(
            "  role_name:", f"  oidc_provider_arn: {provider}\n  role_name:"
        )
    )

    status, lines = _run(["team-a.yaml", "team-b.yaml"])

    assert status == 0
    assert lines == ["team-a.yaml: ok", "team-b.yaml: ok"]


def test_same_issuer_url_collides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    issuer = "  issuer_url: https://oidc.example.com/cluster-a\n"
    (tmp_path / "team-a.yaml").write_text(_aws(cluster="a-eks", role="eso-a").replace("aws:\n", issuer + "aws:\n", 1))
    (tmp_path / "team-b.yaml").write_text(_aws(cluster="b-eks", role="eso-b").replace("aws:\n", issuer + "aws:\n", 1))

    status, lines = _run(["team-a.yaml", "team-b.yaml"])

    assert status == 1
    assert lines[0] == (
        "team-a.yaml:4: cluster.issuer_url: 'https://oidc.example.com/cluster-a' would create the IAM OIDC provider "
        "of this issuer, which team-b.yaml (line 4) also creates in the same AWS account as far as eso-oidc can tell, "
        "because aws.account_id is unset in both; set aws.account_id in each if they deploy to different accounts, "
        "or create the provider in one of them and set aws.oidc_provider_arn to its ARN in the others"
    )
    assert lines[1].startswith("team-b.yaml:4: cluster.issuer_url: ")


def test_app_loader_reports_collisions(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "aws-dev.yaml").write_text(_aws(role="eso"))
    (tmp_path / "aws-prod.yaml").write_text(_aws(cluster="prod-eks", role="ESO"))

    with pytest.raises(ConfigError) as raised:
        load_environments([tmp_path / "aws-dev.yaml", tmp_path / "aws-prod.yaml"])

    assert [(problem.file, problem.line, problem.field) for problem in raised.value.problems] == [
        ("aws-dev.yaml", 6, "aws.role_name"),
        ("aws-prod.yaml", 6, "aws.role_name"),
    ]
    assert "which aws-prod.yaml (line 6) also creates" in raised.value.problems[0].message


def test_three_files_name_each_other(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.yaml").write_text(_aws(cluster=f"{name}-eks"))

    status, lines = _run(["a.yaml", "b.yaml", "c.yaml"])

    assert status == 1
    assert "which b.yaml (line 6) and c.yaml (line 6) also create in the same AWS account" in lines[0]


def test_finders_registered_for_every_cloud():
    assert sorted(RESOURCE_FINDERS) == ["aws", "azure", "gcp"]


# Line numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            _aws(extra="external_secrets:\n  values:\n    podLabels:\n      azure.workload.identity/use: 'true'\n"),
            "test-env.yaml:12: external_secrets.values.podLabels[\"azure.workload.identity/use\"]: identity labels are set "
            "by eso-oidc; remove it",
        ),
        (
            _aws(extra="backend:\n  s3:\n    bucket: state\n    key: eso.tfstate\n    region: 1\n"),
            "test-env.yaml:13: backend.s3.region: expected a string (quote numbers, dates and yes/no in YAML), got number 1",
        ),
        (
            _aws(extra="backend:\n  local: {\n    path: 7}\n"),
            "test-env.yaml:11: backend.local.path: expected a string (quote numbers, dates and yes/no in YAML), got number 7",
        ),
        (
            _aws().replace("paths: [/dev/]", "paths:\n      - /dev/\n      - /dev/*"),
            "test-env.yaml:10: aws.parameter_store.paths[1]: '/dev/*' is not a Parameter Store path prefix "
            "(starts with '/', letters, digits, '_', '.', '-'), such as '/dev/'",
        ),
        (
            _aws(extra="backend: {}\n"),
            "test-env.yaml:9: backend: set exactly one of s3, azurerm, gcs or local, not 0",
        ),
    ],
    ids=["nested-key", "block-mapping-value", "flow-mapping-continued", "list-item", "model-level"],
)
def test_problem_points_at_key_line(text, expected, write_environment, monkeypatch):
    path = write_environment(text)
    monkeypatch.chdir(path.parent)

    status, lines = _run([path.name])

    assert status == 1
    assert lines == [expected]


# Pre-commit hook


def test_pre_commit_hook_entry():
    hooks = yaml.safe_load((PROJECT_DIR / ".pre-commit-hooks.yaml").read_text())

    assert [hook["id"] for hook in hooks] == ["eso-oidc-check"]
    hook = hooks[0]
    assert hook["entry"].endswith("python -m eso_oidc check")
    assert hook["language"] == "system"
    assert hook["pass_filenames"] is False
    assert re.search(hook["files"], "config/aws-dev.yaml")
    assert re.search(hook["files"], "config/discovery/onprem-a/jwks.json")
    assert re.search(hook["files"], "config/aws-dev.yml")
    assert not re.search(hook["files"], "tests/broken/empty.yaml")
    assert not re.search(hook["files"], "config/README.md")


def test_schema_and_docs_print_json_and_markdown():
    schema = _run_command("schema")
    docs = _run_command("docs")

    assert schema.returncode == 0
    assert json.loads(schema.stdout)["title"] == "eso-oidc environment file"
    assert docs.returncode == 0
    assert "| `aws.role_name` | string | `external-secrets` |" in docs.stdout
