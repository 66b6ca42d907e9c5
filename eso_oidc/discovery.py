"""Check and fetch the OIDC discovery documents of a self-managed cluster's service account issuer.

kube-apiserver serves the issuer's OpenID configuration at `/.well-known/openid-configuration`
and its public signing keys (a JSON Web Key Set) at `/openid/v1/jwks`. Clusters without a public
issuer (kubeadm, k3s, Talos) need both copied next to the environment file and published over
HTTPS, so the cloud providers can verify service account tokens. This module checks those copies
and fetches them with kubectl. It imports only the standard library, so that the `check` command,
which loads it, stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

OPENID_CONFIGURATION = "openid_configuration"
JWKS = "jwks"

OPENID_CONFIGURATION_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/openid/v1/jwks"
OPENID_CONFIGURATION_FILE = "openid-configuration.json"
JWKS_FILE = "jwks.json"

MAX_DOCUMENT_BYTES = 1024 * 1024
KUBECTL_TIMEOUT_SECONDS = 60
REQUIRED_SIGNING_ALGORITHM = "RS256"

# JWK members of an RSA private key (RFC 7518). EC and OKP private keys also have "d", so those
# are rejected too.
PRIVATE_KEY_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")

_BASE64URL_PATTERN = re.compile(r"[A-Za-z0-9_-]+")

_FETCH_COMMAND = "python -m eso_oidc discovery fetch --context CONTEXT --out DIR"


class DiscoveryError(Exception):
    """Raised when discovery documents cannot be fetched, are invalid or cannot be written.

    The message has one line per problem.
    """


class _InvalidDocument(Exception):
    """Raised when a document cannot be read or is not a JSON object."""


def check_discovery_documents(
    issuer_url: str, openid_configuration: Path, jwks: Path
) -> list[tuple[str, str]]:
    """Validate the two discovery document files against `issuer_url`.

    Returns (document, message) pairs, where document is "openid_configuration" or "jwks", in a
    stable order: the OpenID configuration first, then the key set. The list is empty when both
    documents are valid.
    """
    problems: list[tuple[str, str]] = []

    try:
        configuration = _read_document(openid_configuration)
    except _InvalidDocument as error:
        problems.append((OPENID_CONFIGURATION, str(error)))
    else:
        for message in check_openid_configuration(configuration, issuer_url):
            problems.append((OPENID_CONFIGURATION, message))

    try:
        key_set = _read_document(jwks)
    except _InvalidDocument as error:
        problems.append((JWKS, str(error)))
    else:
        for message in check_jwks(key_set):
            problems.append((JWKS, message))

    return problems


def load_jwks(path: Path) -> dict[str, Any]:
    """Read and validate a JSON Web Key Set file, and return it parsed.

    Raises DiscoveryError with one line per problem when the file is unreadable or invalid.
    """
    try:
        key_set = _read_document(path)
    except _InvalidDocument as error:
        raise DiscoveryError(str(error)) from None

    problems = check_jwks(key_set)
    if problems:
        raise DiscoveryError("\n".join(f"{path}: {message}" for message in problems))
    return key_set


# Reading documents


def _read_document(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError:
        raise _InvalidDocument(
            f'file "{path}" not found, so copy it from the cluster with "{_FETCH_COMMAND}"'
        ) from None
    except IsADirectoryError:
        raise _InvalidDocument(f'"{path}" is a directory, expected a JSON file') from None
    except OSError as error:
        raise _InvalidDocument(f'failed to read "{path}": {error.strerror}') from None

    fix = f'copy it again from the cluster with "{_FETCH_COMMAND}"'
    return _parse_document(data, f'file "{path}"', fix)


def _parse_document(data: bytes, source: str, fix: str) -> dict[str, Any]:
    """Parse `data` as a JSON object.

    `source` names where the data came from, and `fix` is the action that error messages suggest.
    """
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _InvalidDocument(
            f"{source} is larger than 1 MiB ({MAX_DOCUMENT_BYTES} bytes), which no discovery "
            f"document is, so {fix}"
        )

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _InvalidDocument(
            f"{source} is not valid UTF-8 (invalid byte at offset {error.start}), so {fix}"
        ) from None

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise _InvalidDocument(
            f"{source} is not valid JSON: {error.msg} at line {error.lineno} column "
            f"{error.colno}, so {fix}"
        ) from None

    if not isinstance(document, dict):
        raise _InvalidDocument(
            f"{source} contains a JSON {_json_type(document)}, expected a JSON object, so {fix}"
        )
    return document


def _quote(value: str) -> str:
    """Quote a string from a document for a message, escaping quotes and line breaks."""
    return json.dumps(value, ensure_ascii=False)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# OpenID configuration


def check_openid_configuration(configuration: dict[str, Any], issuer_url: str) -> list[str]:
    """Validate a parsed OpenID configuration against `issuer_url` and return the problems."""
    problems: list[str] = []
    problems.extend(_check_issuer(configuration, issuer_url))
    problems.extend(_check_jwks_uri(configuration, issuer_url))
    problems.extend(_check_signing_algorithms(configuration))
    return problems


def _check_issuer(configuration: dict[str, Any], issuer_url: str) -> list[str]:
    if "issuer" not in configuration:
        return [f'"issuer" is missing, expected {_quote(issuer_url)}']

    issuer = configuration["issuer"]
    if not isinstance(issuer, str):
        return [f'"issuer" must be a string, got a JSON {_json_type(issuer)}']
    if issuer == issuer_url:
        return []

    exact_match = "tokens carry the issuer verbatim, so the two must match exactly"
    if issuer == issuer_url + "/":
        return [
            f'issuer {_quote(issuer)} ends with "/" but issuer_url {_quote(issuer_url)} '
            f"does not, and {exact_match}"
        ]
    if issuer + "/" == issuer_url:
        return [
            f'issuer_url {_quote(issuer_url)} ends with "/" but issuer {_quote(issuer)} '
            f"does not, and {exact_match}"
        ]
    return [
        f"issuer {_quote(issuer)} does not equal issuer_url {_quote(issuer_url)}, so check "
        "that the file comes from this cluster and that issuer_url is exactly the value of "
        "kube-apiserver's --service-account-issuer flag"
    ]


def expected_jwks_uri(issuer_url: str) -> str:
    """Return the `jwks_uri` that the OpenID configuration must contain for `issuer_url`.

    The key set is published under the issuer URL, next to the OpenID configuration. kube-apiserver
    does not derive this value from the issuer: without --service-account-jwks-uri it points
    `jwks_uri` at its own external address (pkg/serviceaccount/openidmetadata.go in Kubernetes).
    """
    return issuer_url.rstrip("/") + JWKS_PATH


def _check_jwks_uri(configuration: dict[str, Any], issuer_url: str) -> list[str]:
    expected = expected_jwks_uri(issuer_url)
    if "jwks_uri" not in configuration:
        return [f'"jwks_uri" is missing, expected {_quote(expected)}']

    jwks_uri = configuration["jwks_uri"]
    if not isinstance(jwks_uri, str):
        return [f'"jwks_uri" must be a string, got a JSON {_json_type(jwks_uri)}']
    if jwks_uri != expected:
        return [
            f"jwks_uri {_quote(jwks_uri)} does not equal {_quote(expected)}, the issuer_url "
            f"followed by {JWKS_PATH}, so set kube-apiserver's --service-account-jwks-uri flag "
            "to that value"
        ]
    return []


def _check_signing_algorithms(configuration: dict[str, Any]) -> list[str]:
    field = "id_token_signing_alg_values_supported"
    if field not in configuration:
        return [f'"{field}" is missing, expected a list containing "{REQUIRED_SIGNING_ALGORITHM}"']

    algorithms = configuration[field]
    if not isinstance(algorithms, list):
        return [
            f'"{field}" must be a list containing "{REQUIRED_SIGNING_ALGORITHM}", '
            f"got a JSON {_json_type(algorithms)}"
        ]
    if REQUIRED_SIGNING_ALGORITHM not in algorithms:
        return [
            f"{field} {json.dumps(algorithms)} does not contain "
            f'"{REQUIRED_SIGNING_ALGORITHM}", which eso-oidc requires, so sign service account '
            "tokens with an RSA key"
        ]
    return []


# JSON Web Key Set


def check_jwks(key_set: dict[str, Any]) -> list[str]:
    """Validate a parsed JSON Web Key Set and return the problems.

    Several keys are valid, as a cluster publishes old and new keys while it rotates them.
    """
    if "keys" not in key_set:
        return [
            f'"keys" is missing, expected the list of keys that the cluster serves at {JWKS_PATH}'
        ]

    keys = key_set["keys"]
    if not isinstance(keys, list):
        return [f'"keys" must be a list, got a JSON {_json_type(keys)}']
    if not keys:
        return ['"keys" is empty, expected at least one RSA signing key']

    problems: list[str] = []
    for index, key in enumerate(keys):
        problems.extend(_check_key(index, key))
    problems.extend(_check_unique_kids(keys))
    if not any(_is_rsa_signing_key(key) for key in keys):
        problems.append(
            'no RSA signing key found, expected at least one key with "kty": "RSA", '
            f'"use" absent or "sig", and "n" and "e", as kube-apiserver serves at {JWKS_PATH}'
        )
    return problems


def _check_key(index: int, key: object) -> list[str]:
    if not isinstance(key, dict):
        return [f"keys[{index}] must be a JSON object, got a JSON {_json_type(key)}"]

    problems: list[str] = []
    label = _key_label(index, key)

    private_members = [member for member in PRIVATE_KEY_MEMBERS if member in key]
    if private_members:
        members = ", ".join(f'"{member}"' for member in private_members)
        noun = "member" if len(private_members) == 1 else "members"
        problems.append(
            f"contains PRIVATE key material: {label} has the private key {noun} {members}. "
            "Delete this file from disk and from git history, rotate the cluster's service "
            f"account signing key, and copy only the output of {JWKS_PATH}"
        )

    kid = key.get("kid")
    if not isinstance(kid, str) or not kid:
        problems.append(
            f'keys[{index}] has no "kid", but every key needs a non-empty "kid" string so that '
            "tokens can name the key that signed them"
        )

    if key.get("kty") == "RSA":
        for member in ("n", "e"):
            value = key.get(member)
            if not isinstance(value, str) or not _BASE64URL_PATTERN.fullmatch(value):
                problems.append(
                    f'{label} is an RSA key whose "{member}" is missing or not a base64url '
                    f"string, so copy the key set again from {JWKS_PATH}"
                )
    return problems


def _key_label(index: int, key: dict[str, Any]) -> str:
    kid = key.get("kid")
    if isinstance(kid, str) and kid:
        return f"key {_quote(kid)} (keys[{index}])"
    return f"keys[{index}]"


def _check_unique_kids(keys: list[Any]) -> list[str]:
    indexes_by_kid: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        if isinstance(key, dict) and isinstance(key.get("kid"), str) and key["kid"]:
            indexes_by_kid.setdefault(key["kid"], []).append(index)

    problems: list[str] = []
    for kid, indexes in indexes_by_kid.items():
        if len(indexes) > 1:
            places = ", ".join(f"keys[{index}]" for index in indexes)
            problems.append(
                f'kid {_quote(kid)} is used by {places}, but each key needs its own "kid", so '
                "remove the duplicate keys"
            )
    return problems


def _is_rsa_signing_key(key: object) -> bool:
    if not isinstance(key, dict):
        return False
    return (
        key.get("kty") == "RSA"
        and key.get("use", "sig") == "sig"
        and isinstance(key.get("n"), str)
        and isinstance(key.get("e"), str)
    )


# Fetching from a cluster


def fetch_discovery_documents(
    context: str | None,
    out_dir: Path,
    *,
    issuer_url: str | None = None,
    kubectl: str = "kubectl",
) -> list[Path]:
    """Fetch both discovery documents with kubectl, validate them and write them to `out_dir`.

    `issuer_url` defaults to the `issuer` of the fetched OpenID configuration. The files are
    written only when both documents are valid, and each one replaces its old copy atomically.
    Returns the paths of the written OpenID configuration and key set files.
    Raises DiscoveryError with one line per problem.
    """
    configuration = _fetch_document(kubectl, context, OPENID_CONFIGURATION_PATH)
    key_set = _fetch_document(kubectl, context, JWKS_PATH)

    if issuer_url is None:
        issuer_url = _issuer_of(configuration)

    problems = [
        f"{OPENID_CONFIGURATION}: {message}"
        for message in check_openid_configuration(configuration, issuer_url)
    ]
    problems += [f"{JWKS}: {message}" for message in check_jwks(key_set)]
    if problems:
        raise DiscoveryError("\n".join(problems))

    documents = {
        OPENID_CONFIGURATION_FILE: configuration,
        JWKS_FILE: key_set,
    }
    return _write_documents(out_dir, documents)


def _kubectl_command(kubectl: str, context: str | None, path: str) -> list[str]:
    command = [kubectl, "get", "--raw", path]
    if context is not None:
        command += ["--context", context]
    return command


def _fetch_document(kubectl: str, context: str | None, path: str) -> dict[str, Any]:
    command = _kubectl_command(kubectl, context, path)
    command_line = " ".join(command)
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            timeout=KUBECTL_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise DiscoveryError(
            f'kubectl not found at "{kubectl}", install kubectl or pass its path with --kubectl'
        ) from None
    except subprocess.TimeoutExpired:
        raise DiscoveryError(
            f'"{command_line}" timed out after {KUBECTL_TIMEOUT_SECONDS} s, so check that the '
            "cluster is reachable"
        ) from None
    except OSError as error:
        raise DiscoveryError(f'failed to run "{command_line}": {error.strerror}') from None

    if result.returncode != 0:
        stderr = _one_line(result.stderr.decode("utf-8", errors="replace"))
        raise DiscoveryError(
            f'"{command_line}" failed with exit code {result.returncode}: {stderr or "(no stderr)"}'
        )

    try:
        return _parse_document(
            result.stdout,
            f'the output of "{command_line}"',
            "check that the context points at the Kubernetes API server",
        )
    except _InvalidDocument as error:
        raise DiscoveryError(str(error)) from None


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _issuer_of(configuration: dict[str, Any]) -> str:
    issuer = configuration.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise DiscoveryError(
            f"{OPENID_CONFIGURATION}: the document served at {OPENID_CONFIGURATION_PATH} has no "
            '"issuer" string, so check the cluster\'s --service-account-issuer flag or pass '
            "--issuer-url"
        )
    return issuer


def _write_documents(out_dir: Path, documents: dict[str, dict[str, Any]]) -> list[Path]:
    """Write each document to a temporary file in `out_dir`, then rename them all into place.

    Renaming within one folder is atomic, so each file is either its old or its new version.
    A failure before the renames removes the temporary files and leaves `out_dir` unchanged.
    Only a failure between two renames leaves a mix of new and old files.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DiscoveryError(f'failed to create "{out_dir}": {error.strerror}') from None

    temporary_paths: dict[str, Path] = {}
    targets: list[Path] = []
    try:
        for name, document in documents.items():
            temporary_paths[name] = _write_temporary(out_dir, name, document)
        for name, temporary_path in temporary_paths.items():
            target = out_dir / name
            os.replace(temporary_path, target)
            targets.append(target)
    except OSError as error:
        raise DiscoveryError(
            f'failed to write "{error.filename or out_dir}": {error.strerror}'
        ) from None
    finally:
        for temporary_path in temporary_paths.values():
            temporary_path.unlink(missing_ok=True)
    return targets


def _write_temporary(out_dir: Path, name: str, document: dict[str, Any]) -> Path:
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=out_dir, prefix=f".{name}.", suffix=".tmp", delete=False
    ) as file:
        path = Path(file.name)
        file.write(text)
    # The documents are public, and NamedTemporaryFile creates files readable by the owner only.
    path.chmod(0o644)
    return path


# Command line


def add_discovery_command(subparsers: argparse._SubParsersAction) -> None:
    """Register `discovery fetch` on an argparse subparsers object.

    The parsed arguments' `func` runs the command and returns the exit code.
    """
    discovery = subparsers.add_parser(
        "discovery", help="fetch the service account issuer's OIDC discovery documents"
    )
    commands = discovery.add_subparsers(dest="discovery_command", metavar="COMMAND", required=True)

    fetch = commands.add_parser(
        "fetch",
        help=f"fetch {OPENID_CONFIGURATION_PATH} and {JWKS_PATH} with kubectl, validate them "
        f"and write {OPENID_CONFIGURATION_FILE} and {JWKS_FILE}",
    )
    fetch.add_argument("--context", required=True, help="kubeconfig context of the cluster")
    fetch.add_argument(
        "--out",
        required=True,
        type=Path,
        help="folder to write the two files to, created if missing",
    )
    fetch.add_argument(
        "--issuer-url",
        help="expected service account issuer URL (default: the issuer the cluster reports)",
    )
    fetch.add_argument(
        "--kubectl", default="kubectl", help="kubectl executable to run (default: kubectl)"
    )
    fetch.set_defaults(func=run_discovery_fetch)


def run_discovery_fetch(args: argparse.Namespace) -> int:
    """Run `discovery fetch` and return the exit code: 0 on success, 1 on any problem."""
    try:
        paths = fetch_discovery_documents(
            args.context, args.out, issuer_url=args.issuer_url, kubectl=args.kubectl
        )
    except DiscoveryError as error:
        print(error, file=sys.stderr)
        return 1

    for path in paths:
        print(path)
    return 0
