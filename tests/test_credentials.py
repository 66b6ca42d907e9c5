"""Credentials anywhere in an environment file are rejected, without repeating them."""

from __future__ import annotations

import pytest

from eso_oidc.config.credentials import find_credentials
from eso_oidc.config.loader import EnvironmentFile, load_environment

NEVER_NEEDED = (
    "eso-oidc never needs one, because ESO exchanges the cluster's service-account token for short-lived cloud "
    "credentials; remove it, and rotate it if it was ever committed"
)

BASE = """\
cloud: aws
cluster:
  name: dev-eks
aws:
  region: eu-central-1
  parameter_store:
    paths: [/dev/]
"""


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"client_secret": "s3cr3t-value"}, [(("client_secret",), f"the value of `client_secret` is a credential; {NEVER_NEEDED}")]),
        ({"a": {"AWS_SECRET_ACCESS_KEY": "x" * 40}}, [(("a", "AWS_SECRET_ACCESS_KEY"), f"the value of `AWS_SECRET_ACCESS_KEY` is a credential; {NEVER_NEEDED}")]),
        ({"private-key": "abc"}, [(("private-key",), f"the value of `private-key` is a credential; {NEVER_NEEDED}")]),
        ({"db": {"password": 1234}}, [(("db", "password"), f"the value of `password` is a credential; {NEVER_NEEDED}")]),
        ({"list": ["ok", "ASIAY34FZKBOKMUTVV7A"]}, [(("list", 1), f"the value contains an AWS access key id (ASIA...); {NEVER_NEEDED}")]),
        ({"AKIAIOSFODNN7EXAMPLE": "x"}, [(("AKIAIOSFODNN7EXAMPLE",), f"the key contains an AWS access key id (AKIA...); {NEVER_NEEDED}")]),
        (
            {"cert": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"},
            [(("cert",), f"the value contains a private key block (-----BEGIN ... PRIVATE KEY-----); {NEVER_NEEDED}")],
        ),
        (
            {"env": [{"name": "DB_PASSWORD", "value": "hunter2"}]},
            [(("env", 0, "value"), f"the value of `DB_PASSWORD` is a credential; {NEVER_NEEDED}")],
        ),
    ],
    ids=["client-secret", "secret-access-key", "private-key", "number-password", "session-key-id", "key-id-as-key", "pem", "env-entry"],
)
def test_credential_found(data, expected):
    assert find_credentials(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        {"webhook": {"certManager": {"cert": {"privateKey": {"algorithm": "RSA", "size": 2048}}}}},
        {"password": ""},
        {"password": None},
        {"clientSecretSecretRef": {"name": "azure", "key": "secret"}},
        {"passwordSecret": "eso-basic-auth"},
        {"env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]},
        {"role": "AKIAIOSFODNN7EXAMPLEX"},
        {"note": "-----BEGIN PUBLIC KEY-----"},
        {"passwordless": True},
    ],
    ids=["cert-manager-settings", "empty", "null", "secret-reference", "secret-name", "env-from-secret", "longer-word",
         "public-key", "boolean"],
)
def test_non_credential_accepted(data):
    assert find_credentials(data) == []


def test_message_hides_credential(write_environment, monkeypatch):
    path = write_environment(BASE + "external_secrets:\n  values:\n    token:\n      password: correct-horse-battery\n")
    monkeypatch.chdir(path.parent)

    problems = load_environment(path)

    assert [str(problem) for problem in problems] == [
        f"test-env.yaml:11: external_secrets.values.token.password: the value of `password` is a credential; {NEVER_NEEDED}"
    ]
    assert "correct-horse-battery" not in str(problems)


def test_credential_replaces_unknown_key_problem(write_environment, monkeypatch):
    path = write_environment(BASE + "  client_secret: abc\n  role_nme: eso\n")
    monkeypatch.chdir(path.parent)

    problems = load_environment(path)

    assert [str(problem) for problem in problems] == [
        f"test-env.yaml:8: aws.client_secret: the value of `client_secret` is a credential; {NEVER_NEEDED}",
        "test-env.yaml:9: aws.role_nme: `role_nme` is not a setting of `aws`; did you mean `role_name`?",
    ]


def test_credential_in_valid_file_rejected(write_environment, monkeypatch):
    path = write_environment(BASE + "tags:\n  creator: AKIAIOSFODNN7EXAMPLE\n")
    monkeypatch.chdir(path.parent)

    result = load_environment(path)

    assert not isinstance(result, EnvironmentFile)
    assert [problem.field for problem in result] == ["tags.creator"]
