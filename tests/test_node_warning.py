"""The jsii end-of-life banner is silenced for Node 20 only, keeping what the user listed."""

from __future__ import annotations

import os

from eso_oidc.app import NODE_WARNING_VARIABLE, silence_node_20_warning


def test_node_20_added_when_unset(monkeypatch):
    monkeypatch.delenv(NODE_WARNING_VARIABLE, raising=False)

    silence_node_20_warning()

    assert os.environ[NODE_WARNING_VARIABLE] == "20"


def test_node_20_added_to_user_list(monkeypatch):
    monkeypatch.setenv(NODE_WARNING_VARIABLE, "18")

    silence_node_20_warning()

    assert os.environ[NODE_WARNING_VARIABLE] == "18,20"


def test_node_20_listed_once(monkeypatch):
    monkeypatch.setenv(NODE_WARNING_VARIABLE, "18, 20")

    silence_node_20_warning()

    assert os.environ[NODE_WARNING_VARIABLE] == "18, 20"
