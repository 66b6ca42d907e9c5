"""The discovery documents of a self-managed cluster as they are published: object names and content.

The files are read when the stack is synthesized, so the stack's JSON contains the documents
themselves and does not depend on files outside it. They have been validated when the environment
file was loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eso_oidc.config.cluster import SelfManagedCluster
from eso_oidc.discovery import JWKS_PATH, OPENID_CONFIGURATION_PATH

CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class PublishedDocuments:
    """The two documents' object names below the publishing target and their JSON text."""

    openid_configuration_name: str
    openid_configuration: str
    jwks_name: str
    jwks: str


def object_name(prefix: str | None, url_path: str) -> str:
    """Return the object name that serves `url_path` (such as `/openid/v1/jwks`) below `prefix`."""
    name = url_path.lstrip("/")
    return f"{prefix}/{name}" if prefix else name


def document_text(path: Path) -> str:
    """Return the JSON document in `path`, serialized as `discovery fetch` writes it.

    Reformatting makes the published bytes independent of the file's line endings and indentation.
    """
    document = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def read_published_documents(cluster: SelfManagedCluster, environment_file: Path, prefix: str | None) -> PublishedDocuments:
    """Read the cluster's discovery documents and name their objects below `prefix`."""
    openid_configuration, jwks = cluster.discovery.paths(environment_file)
    return PublishedDocuments(
        openid_configuration_name=object_name(prefix, OPENID_CONFIGURATION_PATH),
        openid_configuration=document_text(openid_configuration),
        jwks_name=object_name(prefix, JWKS_PATH),
        jwks=document_text(jwks),
    )


# The JWK members a Google workload identity pool provider accepts in `oidc.jwks_json`; it
# supports RSA and EC keys only.
GOOGLE_JWK_MEMBERS = ("kty", "alg", "use", "kid", "n", "e", "x", "y", "crv")
GOOGLE_KEY_TYPES = ("RSA", "EC")


def google_jwks_json(path: Path) -> str:
    """Return the key set in `path` as the JSON a Google pool provider accepts: RSA and EC keys, known members."""
    key_set = json.loads(path.read_text(encoding="utf-8"))
    keys = [
        {member: key[member] for member in GOOGLE_JWK_MEMBERS if member in key}
        for key in key_set["keys"]
        if key.get("kty") in GOOGLE_KEY_TYPES
    ]
    return json.dumps({"keys": keys}, sort_keys=True)
