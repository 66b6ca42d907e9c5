"""Reject credentials in environment files.

ESO exchanges the cluster's service-account token for short-lived cloud credentials, so no setting
of eso-oidc ever takes a static one. A credential found anywhere in a file, including the extra Helm
values, is a mistake that would end up in Git and in Terraform state. The scan covers every key and
every string of the raw data:

- a key named like a credential (`client_secret`, `secret_access_key`, `password`, `private_key`, in
  any case and with `_`, `-` or camelCase, also as the end of a longer name such as `adminPassword`)
  whose value is a non-empty string or number. Mappings under such keys are settings, not secrets
  (the chart's `webhook.certManager.cert.privateKey` contains `algorithm` and `size`), and are scanned
  like any other mapping;
- an AWS access key id (`AKIA` or `ASIA` and 16 upper-case letters or digits) in a key or a string;
- a PEM private key block (`-----BEGIN ... PRIVATE KEY-----`) in a key or a string;
- a Kubernetes environment variable entry (`{name: AZURE_CLIENT_SECRET, value: ...}`) whose name is
  named like a credential and whose `value` is set.

Messages never repeat the credential itself.
"""

from __future__ import annotations

import re
from typing import Any

from eso_oidc.config.yaml_source import FieldPath

# Key names, lower-cased without separators, whose scalar values are credentials.
_CREDENTIAL_KEY_ENDINGS = ("clientsecret", "secretaccesskey", "password", "privatekey")

_ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
_PRIVATE_KEY_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----")

_NEVER_NEEDED = (
    "eso-oidc never needs one, because ESO exchanges the cluster's service-account token for "
    "short-lived cloud credentials; remove it, and rotate it if it was ever committed"
)


def find_credentials(data: Any, field_path: FieldPath = ()) -> list[tuple[FieldPath, str]]:
    """Return every credential in `data` as (field path, message) pairs, in document order."""
    found: list[tuple[FieldPath, str]] = []
    if isinstance(data, dict):
        variable = data.get("name")
        if isinstance(variable, str) and _is_credential_key(variable) and _is_secret_value(data.get("value")):
            found.append(((*field_path, "value"), f"the value of `{variable}` is a credential; {_NEVER_NEEDED}"))
        for key, value in data.items():
            path = (*field_path, key)
            key_text = str(key)
            described = _describe_text(key_text)
            if described:
                found.append((path, f"the key contains {described}; {_NEVER_NEEDED}"))
            elif _is_credential_key(key_text) and _is_secret_value(value):
                found.append((path, f"the value of `{key_text}` is a credential; {_NEVER_NEEDED}"))
                continue
            found.extend(find_credentials(value, path))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            found.extend(find_credentials(item, (*field_path, index)))
    elif isinstance(data, str):
        described = _describe_text(data)
        if described:
            found.append((field_path, f"the value contains {described}; {_NEVER_NEEDED}"))
    return found


def _is_credential_key(key: str) -> bool:
    normalized = re.sub(r"[^a-z0-9]", "", key.lower())
    return normalized.endswith(_CREDENTIAL_KEY_ENDINGS)


def _is_secret_value(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    return isinstance(value, (int, float))


def _describe_text(text: str) -> str | None:
    """Name the kind of credential inside `text` without repeating it, or return None."""
    if _PRIVATE_KEY_BLOCK.search(text):
        return "a private key block (-----BEGIN ... PRIVATE KEY-----)"
    match = _ACCESS_KEY_ID.search(text)
    if match:
        return f"an AWS access key id ({match.group(1)}...)"
    return None
