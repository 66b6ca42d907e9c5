"""Tests for the discovery document checks and `discovery fetch`.

Keys are generated at test time, so no private key is ever stored in the repository.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from eso_oidc import discovery
from eso_oidc.discovery import (
    DiscoveryError,
    add_discovery_command,
    check_discovery_documents,
    fetch_discovery_documents,
    load_jwks,
)

ISSUER = "https://oidc.example.com/cluster-a"
JWKS_URI = "https://oidc.example.com/cluster-a/openid/v1/jwks"


# Document builders


def _base64url_uint(value: int) -> str:
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _rsa_public_jwk(private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """Build the public JWK of `private_key` as kube-apiserver serves it.

    The kid is the RFC 7638 thumbprint of the key.
    """
    numbers = private_key.public_key().public_numbers()
    members = {"e": _base64url_uint(numbers.e), "kty": "RSA", "n": _base64url_uint(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("utf-8")
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode("ascii")
    return {**members, "kid": kid, "use": "sig", "alg": "RS256"}


def _rsa_private_jwk(private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    numbers = private_key.private_numbers()
    return {
        **_rsa_public_jwk(private_key),
        "d": _base64url_uint(numbers.d),
        "p": _base64url_uint(numbers.p),
        "q": _base64url_uint(numbers.q),
        "dp": _base64url_uint(numbers.dmp1),
        "dq": _base64url_uint(numbers.dmq1),
        "qi": _base64url_uint(numbers.iqmp),
    }


def _ec_public_jwk() -> dict[str, str]:
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _base64url_uint(numbers.x),
        "y": _base64url_uint(numbers.y),
        "kid": "ec-key",
        "use": "sig",
        "alg": "ES256",
    }


@pytest.fixture(scope="module")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    return [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2)]


@pytest.fixture
def key_set(rsa_keys: list[rsa.RSAPrivateKey]) -> dict[str, Any]:
    return {"keys": [_rsa_public_jwk(rsa_keys[0])]}


@pytest.fixture
def configuration() -> dict[str, Any]:
    """An OpenID configuration as kube-apiserver serves it for ISSUER."""
    return {
        "issuer": ISSUER,
        "jwks_uri": JWKS_URI,
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def _write_json(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def _check(
    tmp_path: Path,
    configuration: object,
    key_set: object,
    issuer_url: str = ISSUER,
) -> list[tuple[str, str]]:
    configuration_path = _write_json(tmp_path / "openid-configuration.json", configuration)
    jwks_path = _write_json(tmp_path / "jwks.json", key_set)
    return check_discovery_documents(issuer_url, configuration_path, jwks_path)


def _only_message(problems: list[tuple[str, str]], document: str) -> str:
    assert len(problems) == 1, problems
    assert problems[0][0] == document
    return problems[0][1]


# Valid documents


def test_valid_documents_have_no_problems(tmp_path, configuration, key_set):
    assert _check(tmp_path, configuration, key_set) == []


def test_two_rsa_keys_accepted(tmp_path, configuration, rsa_keys):
    key_set = {"keys": [_rsa_public_jwk(key) for key in rsa_keys]}

    assert _check(tmp_path, configuration, key_set) == []


def test_rsa_key_without_use_accepted(tmp_path, configuration, key_set):
    del key_set["keys"][0]["use"]

    assert _check(tmp_path, configuration, key_set) == []


def test_ec_key_next_to_rsa_key_accepted(tmp_path, configuration, key_set):
    key_set["keys"].append(_ec_public_jwk())

    assert _check(tmp_path, configuration, key_set) == []


def test_issuer_with_trailing_slash_on_both_accepted(tmp_path, configuration, key_set):
    configuration["issuer"] = ISSUER + "/"

    assert _check(tmp_path, configuration, key_set, issuer_url=ISSUER + "/") == []


# Reading files


def test_missing_file_named(tmp_path, key_set):
    jwks_path = _write_json(tmp_path / "jwks.json", key_set)
    missing = tmp_path / "openid-configuration.json"

    problems = check_discovery_documents(ISSUER, missing, jwks_path)

    message = _only_message(problems, "openid_configuration")
    assert message.startswith(f'file "{missing}" not found, so copy it from the cluster with ')
    assert "python -m eso_oidc discovery fetch --context CONTEXT --out DIR" in message


def test_directory_instead_of_file(tmp_path, configuration):
    configuration_path = _write_json(tmp_path / "openid-configuration.json", configuration)
    folder = tmp_path / "jwks.json"
    folder.mkdir()

    problems = check_discovery_documents(ISSUER, configuration_path, folder)

    assert _only_message(problems, "jwks") == f'"{folder}" is a directory, expected a JSON file'


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without read permission")
def test_unreadable_file(tmp_path, configuration, key_set):
    configuration_path = _write_json(tmp_path / "openid-configuration.json", configuration)
    jwks_path = _write_json(tmp_path / "jwks.json", key_set)
    jwks_path.chmod(0)

    problems = check_discovery_documents(ISSUER, configuration_path, jwks_path)

    assert _only_message(problems, "jwks") == f'failed to read "{jwks_path}": Permission denied'


def test_file_over_1_mib(tmp_path, configuration, key_set):
    configuration["padding"] = "x" * (1024 * 1024)

    problems = _check(tmp_path, configuration, key_set)

    message = _only_message(problems, "openid_configuration")
    assert message.startswith(
        f'file "{tmp_path / "openid-configuration.json"}" is larger than 1 MiB (1048576 bytes)'
    )


def test_file_of_exactly_1_mib_read(tmp_path, configuration, key_set):
    text = json.dumps(configuration)
    padded = text + " " * (1024 * 1024 - len(text))
    configuration_path = tmp_path / "openid-configuration.json"
    configuration_path.write_text(padded, encoding="utf-8")
    jwks_path = _write_json(tmp_path / "jwks.json", key_set)

    assert check_discovery_documents(ISSUER, configuration_path, jwks_path) == []


def test_file_not_utf8(tmp_path, configuration):
    configuration_path = _write_json(tmp_path / "openid-configuration.json", configuration)
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_bytes(b'{"keys": "\xff"}')

    problems = check_discovery_documents(ISSUER, configuration_path, jwks_path)

    message = _only_message(problems, "jwks")
    assert message.startswith(f'file "{jwks_path}" is not valid UTF-8 (invalid byte at offset 10)')


def test_invalid_json_line_and_column(tmp_path, configuration):
    configuration_path = _write_json(tmp_path / "openid-configuration.json", configuration)
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_text('{\n  "keys": [\n    {"kid": "a",}\n  ]\n}\n', encoding="utf-8")

    problems = check_discovery_documents(ISSUER, configuration_path, jwks_path)

    message = _only_message(problems, "jwks")
    assert message.startswith(
        f'file "{jwks_path}" is not valid JSON: Expecting property name enclosed in double '
        "quotes at line 3 column 17, so copy it again from the cluster with "
    )


def test_json_array_instead_of_object(tmp_path, configuration, key_set):
    problems = _check(tmp_path, configuration, key_set["keys"])

    message = _only_message(problems, "jwks")
    assert message.startswith(
        f'file "{tmp_path / "jwks.json"}" contains a JSON array, expected a JSON object'
    )


# OpenID configuration


def test_issuer_trailing_slash_only_in_document(tmp_path, configuration, key_set):
    configuration["issuer"] = ISSUER + "/"

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "openid_configuration") == (
        f'issuer "{ISSUER}/" ends with "/" but issuer_url "{ISSUER}" does not, and tokens '
        "carry the issuer verbatim, so the two must match exactly"
    )


def test_issuer_trailing_slash_only_in_issuer_url(tmp_path, configuration, key_set):
    problems = _check(tmp_path, configuration, key_set, issuer_url=ISSUER + "/")

    assert _only_message(problems, "openid_configuration") == (
        f'issuer_url "{ISSUER}/" ends with "/" but issuer "{ISSUER}" does not, and tokens '
        "carry the issuer verbatim, so the two must match exactly"
    )


def test_issuer_of_other_cluster(tmp_path, configuration, key_set):
    configuration["issuer"] = "https://oidc.example.com/cluster-b"
    configuration["jwks_uri"] = "https://oidc.example.com/cluster-b/openid/v1/jwks"

    problems = _check(tmp_path, configuration, key_set)

    assert [message for _, message in problems] == [
        'issuer "https://oidc.example.com/cluster-b" does not equal issuer_url '
        f'"{ISSUER}", so check that the file comes from this cluster and that issuer_url is '
        "exactly the value of kube-apiserver's --service-account-issuer flag",
        'jwks_uri "https://oidc.example.com/cluster-b/openid/v1/jwks" does not equal '
        f'"{JWKS_URI}", the issuer_url followed by /openid/v1/jwks, so set '
        "kube-apiserver's --service-account-jwks-uri flag to that value",
    ]


def test_issuer_missing(tmp_path, configuration, key_set):
    del configuration["issuer"]

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "openid_configuration") == (
        f'"issuer" is missing, expected "{ISSUER}"'
    )


def test_issuer_not_string(tmp_path, configuration, key_set):
    configuration["issuer"] = [ISSUER]

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "openid_configuration") == (
        '"issuer" must be a string, got a JSON array'
    )


def test_jwks_uri_other_host(tmp_path, configuration, key_set):
    configuration["jwks_uri"] = "https://10.0.0.1:6443/openid/v1/jwks"

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "openid_configuration") == (
        'jwks_uri "https://10.0.0.1:6443/openid/v1/jwks" does not equal '
        f'"{JWKS_URI}", the issuer_url followed by /openid/v1/jwks, so set '
        "kube-apiserver's --service-account-jwks-uri flag to that value"
    )


def test_jwks_uri_with_double_slash(tmp_path, configuration, key_set):
    configuration["issuer"] = ISSUER + "/"
    configuration["jwks_uri"] = ISSUER + "//openid/v1/jwks"

    problems = _check(tmp_path, configuration, key_set, issuer_url=ISSUER + "/")

    message = _only_message(problems, "openid_configuration")
    assert message.startswith(f'jwks_uri "{ISSUER}//openid/v1/jwks" does not equal "{JWKS_URI}"')


def test_jwks_uri_missing(tmp_path, configuration, key_set):
    del configuration["jwks_uri"]

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "openid_configuration") == (
        f'"jwks_uri" is missing, expected "{JWKS_URI}"'
    )


def test_jwks_uri_not_string(tmp_path, configuration, key_set):
    configuration["jwks_uri"] = None

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "openid_configuration") == (
        '"jwks_uri" must be a string, got a JSON null'
    )


def test_signing_algorithms_without_rs256(tmp_path, configuration, key_set):
    configuration["id_token_signing_alg_values_supported"] = ["ES256"]

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "openid_configuration") == (
        'id_token_signing_alg_values_supported ["ES256"] does not contain "RS256", which '
        "eso-oidc requires, so sign service account tokens with an RSA key"
    )


def test_signing_algorithms_missing(tmp_path, configuration, key_set):
    del configuration["id_token_signing_alg_values_supported"]

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "openid_configuration") == (
        '"id_token_signing_alg_values_supported" is missing, expected a list containing "RS256"'
    )


def test_signing_algorithms_not_list(tmp_path, configuration, key_set):
    configuration["id_token_signing_alg_values_supported"] = "RS256"

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "openid_configuration") == (
        '"id_token_signing_alg_values_supported" must be a list containing "RS256", '
        "got a JSON string"
    )


# JSON Web Key Set


def test_keys_missing(tmp_path, configuration):
    problems = _check(tmp_path, configuration, {"kids": []})

    assert _only_message(problems, "jwks") == (
        '"keys" is missing, expected the list of keys that the cluster serves at /openid/v1/jwks'
    )


def test_keys_not_list(tmp_path, configuration, key_set):
    problems = _check(tmp_path, configuration, {"keys": key_set["keys"][0]})

    assert _only_message(problems, "jwks") == '"keys" must be a list, got a JSON object'


def test_keys_empty(tmp_path, configuration):
    problems = _check(tmp_path, configuration, {"keys": []})

    assert _only_message(problems, "jwks") == (
        '"keys" is empty, expected at least one RSA signing key'
    )


def test_key_not_object(tmp_path, configuration, key_set):
    key_set["keys"].append("not a key")

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "jwks") == "keys[1] must be a JSON object, got a JSON string"


NO_RSA_SIGNING_KEY = (
    'no RSA signing key found, expected at least one key with "kty": "RSA", "use" absent or '
    '"sig", and "n" and "e", as kube-apiserver serves at /openid/v1/jwks'
)


def test_ec_key_alone_rejected(tmp_path, configuration):
    problems = _check(tmp_path, configuration, {"keys": [_ec_public_jwk()]})

    assert _only_message(problems, "jwks") == NO_RSA_SIGNING_KEY


def test_rsa_encryption_key_alone_rejected(tmp_path, configuration, key_set):
    key_set["keys"][0]["use"] = "enc"

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "jwks") == NO_RSA_SIGNING_KEY


def test_rsa_key_without_modulus(tmp_path, configuration, rsa_keys):
    broken = _rsa_public_jwk(rsa_keys[0])
    del broken["n"]
    key_set = {"keys": [broken, _rsa_public_jwk(rsa_keys[1])]}

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "jwks") == (
        f'key "{broken["kid"]}" (keys[0]) is an RSA key whose "n" is missing or not a base64url '
        "string, so copy the key set again from /openid/v1/jwks"
    )


def test_rsa_key_with_padded_exponent(tmp_path, configuration, key_set):
    key_set["keys"][0]["e"] = "AQAB=="

    problems = _check(tmp_path, configuration, key_set)

    message = _only_message(problems, "jwks")
    assert message.endswith(
        'is an RSA key whose "e" is missing or not a base64url string, '
        "so copy the key set again from /openid/v1/jwks"
    )


def test_kid_missing(tmp_path, configuration, rsa_keys):
    unnamed = _rsa_public_jwk(rsa_keys[0])
    del unnamed["kid"]
    key_set = {"keys": [_rsa_public_jwk(rsa_keys[1]), unnamed]}

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "jwks") == (
        'keys[1] has no "kid", but every key needs a non-empty "kid" string so that tokens can '
        "name the key that signed them"
    )


def test_kid_empty(tmp_path, configuration, key_set):
    key_set["keys"][0]["kid"] = ""

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "jwks").startswith('keys[0] has no "kid"')


def test_duplicate_kid(tmp_path, configuration, rsa_keys):
    first, second = (_rsa_public_jwk(key) for key in rsa_keys)
    second["kid"] = first["kid"]
    key_set = {"keys": [first, _ec_public_jwk(), second]}

    problems = _check(tmp_path, configuration, key_set)

    assert _only_message(problems, "jwks") == (
        f'kid "{first["kid"]}" is used by keys[0], keys[2], but each key needs its own "kid", '
        "so remove the duplicate keys"
    )


def test_private_key_rejected(tmp_path, configuration, rsa_keys):
    private = _rsa_private_jwk(rsa_keys[0])
    key_set = {"keys": [_rsa_public_jwk(rsa_keys[1]), private]}

    problems = _check(tmp_path, configuration, key_set)

    message = _only_message(problems, "jwks")
    assert message == (
        f'contains PRIVATE key material: key "{private["kid"]}" (keys[1]) has the private key '
        'members "d", "p", "q", "dp", "dq", "qi". Delete this file from disk and from git '
        "history, rotate the cluster's service account signing key, and copy only the output "
        "of /openid/v1/jwks"
    )


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth"])
def test_each_private_member_rejected(tmp_path, configuration, key_set, member):
    key = key_set["keys"][0]
    key[member] = "AQAB"

    problems = _check(tmp_path, configuration, key_set)

    message = _only_message(problems, "jwks")
    assert message.startswith(
        f'contains PRIVATE key material: key "{key["kid"]}" (keys[0]) has the private key '
        f'member "{member}". '
    )


def test_problems_of_both_documents_in_order(tmp_path, configuration, key_set):
    configuration["issuer"] = ISSUER + "/"
    del configuration["id_token_signing_alg_values_supported"]
    key_set["keys"].append(copy.deepcopy(key_set["keys"][0]))
    key_set["keys"].append({"kty": "oct", "k": "c2VjcmV0"})

    problems = _check(tmp_path, configuration, key_set)

    assert [document for document, _ in problems] == [
        "openid_configuration",
        "openid_configuration",
        "jwks",
        "jwks",
    ]
    assert problems[0][1].startswith(f'issuer "{ISSUER}/" ends with "/"')
    assert problems[1][1].startswith('"id_token_signing_alg_values_supported" is missing')
    assert problems[2][1].startswith('keys[2] has no "kid"')
    assert problems[3][1].startswith(
        f'kid "{key_set["keys"][0]["kid"]}" is used by keys[0], keys[1]'
    )


def test_problems_repeat_identically(tmp_path, configuration, key_set):
    del configuration["jwks_uri"]
    key_set["keys"][0]["d"] = "AQAB"

    first = _check(tmp_path, configuration, key_set)
    second = _check(tmp_path, configuration, key_set)

    assert first == second


def test_load_jwks_returns_key_set(tmp_path, key_set):
    jwks_path = _write_json(tmp_path / "jwks.json", key_set)

    assert load_jwks(jwks_path) == key_set


def test_load_jwks_rejects_private_key(tmp_path, rsa_keys):
    jwks_path = _write_json(tmp_path / "jwks.json", {"keys": [_rsa_private_jwk(rsa_keys[0])]})

    with pytest.raises(DiscoveryError) as raised:
        load_jwks(jwks_path)

    assert str(raised.value).startswith(f"{jwks_path}: contains PRIVATE key material: ")


def test_load_jwks_missing_file(tmp_path):
    with pytest.raises(DiscoveryError) as raised:
        load_jwks(tmp_path / "jwks.json")

    assert str(raised.value).startswith(f'file "{tmp_path / "jwks.json"}" not found')


# Fetching with a stub kubectl


STUB_KUBECTL = """\
#!{python}
import json
import pathlib
import sys
import time

state = pathlib.Path({state!r})
with (state / "argv.jsonl").open("a", encoding="utf-8") as record:
    record.write(json.dumps(sys.argv[1:]) + "\\n")

if (state / "sleep").exists():
    time.sleep(float((state / "sleep").read_text()))
if (state / "stderr").exists():
    sys.stderr.write((state / "stderr").read_text())
    sys.exit(1)

arguments = sys.argv[1:]
path = arguments[arguments.index("--raw") + 1]
names = {{"/.well-known/openid-configuration": "openid-configuration", "/openid/v1/jwks": "jwks"}}
sys.stdout.buffer.write((state / names[path]).read_bytes())
"""


class StubKubectl:
    """An executable that serves fixed documents for `kubectl get --raw` and records its argv."""

    def __init__(self, folder: Path):
        self.state = folder / "state"
        self.state.mkdir(parents=True)
        self.path = folder / "kubectl"
        self.path.write_text(
            STUB_KUBECTL.format(python=sys.executable, state=str(self.state)), encoding="utf-8"
        )
        self.path.chmod(0o755)

    def serve(self, configuration: object, key_set: object) -> None:
        (self.state / "openid-configuration").write_text(json.dumps(configuration), "utf-8")
        (self.state / "jwks").write_text(json.dumps(key_set), "utf-8")

    def serve_raw(self, name: str, data: bytes) -> None:
        (self.state / name).write_bytes(data)

    def fail(self, stderr: str) -> None:
        (self.state / "stderr").write_text(stderr, encoding="utf-8")

    def sleep(self, seconds: float) -> None:
        (self.state / "sleep").write_text(str(seconds), encoding="utf-8")

    def calls(self) -> list[list[str]]:
        record = self.state / "argv.jsonl"
        if not record.exists():
            return []
        return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def kubectl(tmp_path, configuration, key_set) -> StubKubectl:
    stub = StubKubectl(tmp_path / "stub")
    stub.serve(configuration, key_set)
    return stub


@pytest.fixture
def out_dir(tmp_path) -> Path:
    """An output folder that already contains an older copy and an unrelated file."""
    folder = tmp_path / "environments" / "prod"
    folder.mkdir(parents=True)
    (folder / "openid-configuration.json").write_text("old configuration\n", encoding="utf-8")
    (folder / "prod.yaml").write_text("cluster: prod\n", encoding="utf-8")
    return folder


def _folder_contents(folder: Path) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(folder.iterdir())}


def _pretty(document: object) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def test_fetch_writes_both_documents(kubectl, out_dir, configuration, key_set):
    written = fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    assert written == [out_dir / "openid-configuration.json", out_dir / "jwks.json"]
    assert _folder_contents(out_dir) == {
        "jwks.json": _pretty(key_set),
        "openid-configuration.json": _pretty(configuration),
        "prod.yaml": "cluster: prod\n",
    }


def test_fetch_written_files_world_readable(kubectl, out_dir):
    written = fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    for path in written:
        assert path.stat().st_mode & 0o777 == 0o644


def test_fetch_passes_context_to_kubectl(kubectl, out_dir):
    fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    assert kubectl.calls() == [
        ["get", "--raw", "/.well-known/openid-configuration", "--context", "prod"],
        ["get", "--raw", "/openid/v1/jwks", "--context", "prod"],
    ]


def test_fetch_without_context(kubectl, out_dir):
    fetch_discovery_documents(None, out_dir, kubectl=str(kubectl.path))

    assert kubectl.calls() == [
        ["get", "--raw", "/.well-known/openid-configuration"],
        ["get", "--raw", "/openid/v1/jwks"],
    ]


def test_fetch_finds_kubectl_on_path(kubectl, out_dir, monkeypatch):
    monkeypatch.setenv("PATH", f"{kubectl.path.parent}{os.pathsep}{os.environ['PATH']}")

    fetch_discovery_documents("prod", out_dir)

    assert len(kubectl.calls()) == 2


def test_fetch_creates_out_dir(kubectl, tmp_path):
    folder = tmp_path / "new" / "folder"

    fetch_discovery_documents("prod", folder, kubectl=str(kubectl.path))

    assert sorted(path.name for path in folder.iterdir()) == [
        "jwks.json",
        "openid-configuration.json",
    ]


def test_fetch_issuer_url_defaults_to_issuer(kubectl, out_dir, configuration, key_set):
    configuration["issuer"] = ISSUER + "/"
    kubectl.serve(configuration, key_set)

    fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    written = json.loads((out_dir / "openid-configuration.json").read_text(encoding="utf-8"))
    assert written["issuer"] == ISSUER + "/"


def test_fetch_issuer_url_mismatch_writes_nothing(kubectl, out_dir):
    before = _folder_contents(out_dir)

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents(
            "prod", out_dir, issuer_url=ISSUER + "/", kubectl=str(kubectl.path)
        )

    assert str(raised.value) == (
        f'openid_configuration: issuer_url "{ISSUER}/" ends with "/" but issuer "{ISSUER}" '
        "does not, and tokens carry the issuer verbatim, so the two must match exactly"
    )
    assert _folder_contents(out_dir) == before


def test_fetch_private_key_writes_nothing(kubectl, out_dir, configuration, rsa_keys):
    kubectl.serve(configuration, {"keys": [_rsa_private_jwk(rsa_keys[0])]})
    before = _folder_contents(out_dir)

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    assert str(raised.value).startswith("jwks: contains PRIVATE key material: ")
    assert _folder_contents(out_dir) == before


def test_fetch_reports_one_line_per_problem(kubectl, out_dir, configuration):
    del configuration["jwks_uri"]
    kubectl.serve(configuration, {"keys": []})

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    assert str(raised.value).splitlines() == [
        f'openid_configuration: "jwks_uri" is missing, expected "{JWKS_URI}"',
        'jwks: "keys" is empty, expected at least one RSA signing key',
    ]


def test_fetch_without_issuer_needs_issuer_url(kubectl, out_dir, configuration, key_set):
    del configuration["issuer"]
    kubectl.serve(configuration, key_set)

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    assert str(raised.value) == (
        "openid_configuration: the document served at /.well-known/openid-configuration has no "
        '"issuer" string, so check the cluster\'s --service-account-issuer flag or pass '
        "--issuer-url"
    )


def test_fetch_kubectl_failure_writes_nothing(kubectl, out_dir):
    kubectl.fail('error: context "prod" does not exist\nsee kubectl config get-contexts\n')
    before = _folder_contents(out_dir)

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    assert str(raised.value) == (
        f'"{kubectl.path} get --raw /.well-known/openid-configuration --context prod" failed '
        'with exit code 1: error: context "prod" does not exist see kubectl config get-contexts'
    )
    assert _folder_contents(out_dir) == before


def test_fetch_kubectl_not_json(kubectl, out_dir):
    kubectl.serve_raw("jwks", b"<html>Forbidden</html>")
    before = _folder_contents(out_dir)

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    assert str(raised.value) == (
        f'the output of "{kubectl.path} get --raw /openid/v1/jwks --context prod" is not valid '
        "JSON: Expecting value at line 1 column 1, so check that the context points at the "
        "Kubernetes API server"
    )
    assert _folder_contents(out_dir) == before


def test_fetch_kubectl_not_found(tmp_path, out_dir):
    missing = tmp_path / "bin" / "kubectl"

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents("prod", out_dir, kubectl=str(missing))

    assert str(raised.value) == (
        f'kubectl not found at "{missing}", install kubectl or pass its path with --kubectl'
    )


def test_fetch_kubectl_timeout(kubectl, out_dir, monkeypatch):
    monkeypatch.setattr(discovery, "KUBECTL_TIMEOUT_SECONDS", 0.5)
    kubectl.sleep(10)

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    assert str(raised.value) == (
        f'"{kubectl.path} get --raw /.well-known/openid-configuration --context prod" timed out '
        "after 0.5 s, so check that the cluster is reachable"
    )


def test_fetch_out_dir_is_file(kubectl, tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("keep\n", encoding="utf-8")

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents("prod", not_a_folder, kubectl=str(kubectl.path))

    assert str(raised.value) == f'failed to create "{not_a_folder}": File exists'
    assert not_a_folder.read_text(encoding="utf-8") == "keep\n"


def test_fetch_leaves_no_temporary_files_on_write_failure(kubectl, out_dir, monkeypatch):
    before = _folder_contents(out_dir)

    def fail_replace(source, target):
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(discovery.os, "replace", fail_replace)

    with pytest.raises(DiscoveryError) as raised:
        fetch_discovery_documents("prod", out_dir, kubectl=str(kubectl.path))

    assert str(raised.value) == (
        f'failed to write "{out_dir / "openid-configuration.json"}": No space left on device'
    )
    assert _folder_contents(out_dir) == before


# Command line


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="eso_oidc")
    add_discovery_command(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_command_success(kubectl, out_dir, capsys):
    args = _parse(
        [
            "discovery",
            "fetch",
            "--context",
            "prod",
            "--out",
            str(out_dir),
            "--kubectl",
            str(kubectl.path),
        ]
    )

    exit_code = args.func(args)

    output = capsys.readouterr()
    assert exit_code == 0
    assert output.out.splitlines() == [
        str(out_dir / "openid-configuration.json"),
        str(out_dir / "jwks.json"),
    ]
    assert output.err == ""


def test_command_invalid_documents(kubectl, out_dir, configuration, key_set, capsys):
    del configuration["jwks_uri"]
    key_set["keys"][0]["d"] = "AQAB"
    kubectl.serve(configuration, key_set)
    args = _parse(
        [
            "discovery",
            "fetch",
            "--context",
            "prod",
            "--out",
            str(out_dir),
            "--issuer-url",
            ISSUER,
            "--kubectl",
            str(kubectl.path),
        ]
    )

    exit_code = args.func(args)

    output = capsys.readouterr()
    assert exit_code == 1
    assert output.out == ""
    lines = output.err.splitlines()
    assert len(lines) == 2
    assert lines[0] == f'openid_configuration: "jwks_uri" is missing, expected "{JWKS_URI}"'
    assert lines[1].startswith("jwks: contains PRIVATE key material: ")
    assert "Traceback" not in output.err


def test_command_kubectl_failure(kubectl, out_dir, capsys):
    kubectl.fail("Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout\n")
    args = _parse(
        [
            "discovery",
            "fetch",
            "--context",
            "prod",
            "--out",
            str(out_dir),
            "--kubectl",
            str(kubectl.path),
        ]
    )

    exit_code = args.func(args)

    output = capsys.readouterr()
    assert exit_code == 1
    assert output.err.endswith(
        "failed with exit code 1: Unable to connect to the server: dial tcp 10.0.0.1:6443: "
        "i/o timeout\n"
    )


def test_command_requires_context_and_out(capsys):
    with pytest.raises(SystemExit) as raised:
        _parse(["discovery", "fetch", "--out", "somewhere"])

    assert raised.value.code == 2
    assert "--context" in capsys.readouterr().err


def test_command_defaults(tmp_path):
    args = _parse(["discovery", "fetch", "--context", "prod", "--out", str(tmp_path)])

    assert args.out == tmp_path
    assert args.issuer_url is None
    assert args.kubectl == "kubectl"
