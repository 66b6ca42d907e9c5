"""The helpers that prepare synthesized stacks for an offline Terraform."""

from __future__ import annotations

import copy

from tests.terraform_cli import (
    Mirror,
    find_mirror,
    prepare_stack,
    provider_address,
    remove_provider_blocks,
    write_cli_config,
)

AWS = "registry.terraform.io/hashicorp/aws"


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")


def test_provider_address_expands_short_sources():
    assert provider_address("aws") == AWS
    assert provider_address("hashicorp/helm") == "registry.terraform.io/hashicorp/helm"
    assert provider_address("example.com/Acme/Thing") == "example.com/acme/thing"


def test_find_mirror_reads_unpacked_and_packed(tmp_path):
    _touch(tmp_path / "first" / AWS / "5.100.0" / "linux_amd64" / "terraform-provider-aws_v5.100.0_x5")
    _touch(tmp_path / "first" / AWS / "5.99.0" / "darwin_arm64" / "terraform-provider-aws_v5.99.0_x5")
    _touch(tmp_path / "second" / "registry.terraform.io/hashicorp/helm/terraform-provider-helm_3.1.1_linux_amd64.zip")
    _touch(tmp_path / "second" / AWS / "6.25.0" / "linux_amd64" / "terraform-provider-aws_v6.25.0_x5")

    mirror = find_mirror([tmp_path / "missing", tmp_path / "first", tmp_path / "second"], "linux_amd64")

    assert mirror.providers[AWS] == (tmp_path / "first", ("5.100.0",))
    assert mirror.providers["registry.terraform.io/hashicorp/helm"] == (tmp_path / "second", ("3.1.1",))


def test_cli_config_installs_only_from_the_mirror(tmp_path):
    mirror = Mirror({AWS: (tmp_path / "plugins", ("5.100.0",))})

    text = write_cli_config(tmp_path, mirror).read_text()

    assert f'path    = "{tmp_path / "plugins"}"' in text
    assert f'include = ["{AWS}"]' in text
    assert "direct" not in text


def test_prepare_relaxes_aws_and_reports_helm(example_stacks, tmp_path):
    mirror = Mirror({AWS: (tmp_path, ("5.99.0", "5.100.0"))})
    for name, stack in example_stacks.items():
        if "aws" not in stack["terraform"]["required_providers"]:
            continue

        prepared = prepare_stack(stack, mirror, strip_missing=False)

        assert prepared.config["terraform"]["required_providers"]["aws"]["version"] == "5.100.0", name
        assert prepared.relaxed == {"aws": ("6.25.0", "5.100.0")}, name
        assert [requirement.name for requirement in prepared.missing] == ["helm"], name
        assert "backend" not in prepared.config["terraform"], name
        assert stack["terraform"]["required_providers"]["aws"]["version"] == "6.25.0", "the original is unchanged"


def test_removing_helm_keeps_the_aws_trust(example_stacks):
    for name, stack in example_stacks.items():
        if "aws" not in stack["terraform"]["required_providers"]:
            continue
        config = copy.deepcopy(stack)

        removed = remove_provider_blocks(config, {"helm"})

        assert removed == ["helm_release.external_secrets_operator", "helm_release.external_secrets_stores"], name
        assert set(config["resource"]) >= {"aws_iam_role", "aws_iam_policy", "aws_iam_role_policy_attachment"}, name
        assert "helm" not in config["provider"], name
        assert "helm" not in config["terraform"]["required_providers"], name
        assert config["output"].keys() == stack["output"].keys(), name


def test_removing_a_provider_removes_what_refers_to_it():
    config = {
        "terraform": {"required_providers": {"aws": {}, "helm": {}}},
        "provider": {"helm": [{}], "aws": [{}]},
        "resource": {
            "helm_release": {"app": {"name": "app"}},
            "aws_iam_role": {
                "uses_app": {"name": "${helm_release.app.name}"},
                "plain": {"name": "plain"},
                "uses_other": {"name": "${helm_release.application.name}"},
            },
            "aws_iam_policy": {"uses_role": {"depends_on": ["aws_iam_role.uses_app"]}},
        },
        "data": {"aws_iam_role": {"uses_app": {"name": "x"}}},
        "output": {"app": {"value": "${helm_release.app.id}"}, "data": {"value": "${data.aws_iam_role.uses_app.arn}"}},
    }

    removed = remove_provider_blocks(config, {"helm"})

    assert removed == [
        "aws_iam_policy.uses_role",
        "aws_iam_role.uses_app",
        "helm_release.app",
        "output.app",
    ]
    assert set(config["resource"]["aws_iam_role"]) == {"plain", "uses_other"}
    assert set(config["output"]) == {"data"}
    assert config["provider"] == {"aws": [{}]}
