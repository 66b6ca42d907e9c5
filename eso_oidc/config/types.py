"""Constrained value types shared by the settings models.

Each type checks its value with a message that shows the value and what would be accepted, and
carries the same rule as a JSON Schema `pattern` for editors.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictStr


def _pattern_type(pattern: str, description: str, example: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not {description}, such as {example!r}")
        return value

    return Annotated[StrictStr, AfterValidator(check), Field(json_schema_extra={"pattern": pattern})]


# Kubernetes object names that must be DNS-1123 labels: namespaces, and the service account here so
# that it can appear in a DNS-1123 label context such as a label value.
KubernetesName = _pattern_type(
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
    "a valid Kubernetes name (DNS-1123 label: lowercase letters, digits and '-', at most 63 characters, "
    "starting and ending with a letter or digit)",
    "external-secrets",
)

ChartVersion = _pattern_type(
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$",
    "a chart version (MAJOR.MINOR.PATCH, quoted in YAML)",
    "2.9.0",
)

AwsRegion = _pattern_type(
    r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$",
    "an AWS region",
    "eu-central-1",
)

AwsAccountId = _pattern_type(r"^[0-9]{12}$", "an AWS account id (12 digits, quoted in YAML)", "123456789012")

OidcProviderArn = _pattern_type(
    r"^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:oidc-provider/[^\s]+$",
    "an IAM OIDC provider ARN",
    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/EXAMPLE",
)

IamPolicyArn = _pattern_type(
    r"^arn:aws(-cn|-us-gov)?:iam::([0-9]{12}|aws):policy/[\w+=,.@/-]+$",
    "an IAM policy ARN",
    "arn:aws:iam::123456789012:policy/boundary",
)

KmsKeyArn = _pattern_type(
    r"^arn:aws(-cn|-us-gov)?:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-zA-Z-]+$",
    "a KMS key ARN (aliases cannot grant kms:Decrypt)",
    "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
)

IamRoleName = _pattern_type(r"^[\w+=,.@-]{1,64}$", "an IAM role name (at most 64 characters)", "external-secrets")

IamPath = _pattern_type(r"^/([\x21-\x7e]{1,510}/)?$", "an IAM path (starts and ends with '/')", "/eso/")

EksClusterName = _pattern_type(
    r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$", "an EKS cluster name", "dev-eks"
)

ParameterPath = _pattern_type(
    r"^(/[a-zA-Z0-9_.-]+)+/?$",
    "a Parameter Store path prefix (starts with '/', letters, digits, '_', '.', '-')",
    "/dev/",
)

SecretNamePrefix = _pattern_type(
    r"^[a-zA-Z0-9/_+=.@-]{1,512}$", "a Secrets Manager name prefix", "dev/"
)


def _check_issuer_url(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError(f"{value!r} is not an HTTPS URL; OpenID Connect issuers must use https://")
    rest = value[len("https://") :]
    if not rest or rest.startswith("/"):
        raise ValueError(f"{value!r} has no host; write it as https://HOST[/PATH]")
    if "?" in value or "#" in value:
        raise ValueError(f"{value!r} has a query or fragment, which an OpenID Connect issuer may not have; remove it")
    if any(character.isspace() for character in value):
        raise ValueError(f"{value!r} contains white space; remove it")
    return value


IssuerUrl = Annotated[
    StrictStr,
    AfterValidator(_check_issuer_url),
    Field(json_schema_extra={"pattern": r"^https://[^/?#\s][^?#\s]*$"}),
]


EndpointUrl = _pattern_type(
    r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
    "an http:// or https:// URL without query or fragment",
    "http://127.0.0.1:4566",
)


def _dict_keys_are_strings(value: Any) -> Any:
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"key {key!r} is not a string; quote it")
    return value


Tags = Annotated[dict[StrictStr, StrictStr], BeforeValidator(_dict_keys_are_strings)]
