"""Terraform names of stack elements: the construct path below the stack, for every kind of element."""

from __future__ import annotations

import json

from cdktf import App, TerraformLocal, TerraformOutput, TerraformStack, TerraformVariable
from constructs import Construct

from eso_oidc.stack import EnvironmentStack


class NamedStack(TerraformStack):
    """A stack with the naming of EnvironmentStack and no environment."""

    _allocate_logical_id = EnvironmentStack._allocate_logical_id


def test_names_follow_construct_paths(tmp_path):
    app = App(outdir=str(tmp_path), stack_traces=False)
    stack = NamedStack(app, "ids")
    group = Construct(stack, "group")
    local = TerraformLocal(group, "answer", 42)
    variable = TerraformVariable(stack, "cluster-name", type="string")
    TerraformOutput(group, "inner", value=local.as_number)
    TerraformOutput(stack, "cluster", value=variable.string_value)

    app.synth()
    stack_json = json.loads((tmp_path / "stacks" / "ids" / "cdk.tf.json").read_text())

    assert sorted(stack_json["locals"]) == ["group_answer"]
    assert sorted(stack_json["variable"]) == ["cluster_name"]
    assert sorted(stack_json["output"]) == ["cluster", "group_inner"]
    assert stack_json["output"]["group_inner"]["value"] == "${local.group_answer}"
    assert stack_json["output"]["cluster"]["value"] == "${var.cluster_name}"
