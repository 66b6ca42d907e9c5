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


ChartRepository = _pattern_type(
    r"^(https|oci)://[^\s/?#][^\s?#]*$",
    "a Helm repository URL (https:// or oci://; plain http would let anyone on the path swap the chart)",
    "https://charts.external-secrets.io",
)

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


# Azure. Names follow the documented naming rules of each resource type, and Azure Resource
# Manager checks them again when Terraform applies.

AzureGuid = _pattern_type(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "a GUID (8-4-4-4-12 hexadecimal digits, as `az account show` prints it)",
    "00000000-0000-0000-0000-000000000000",
)

AzureLocation = _pattern_type(
    r"^[a-z][a-z0-9]*$",
    "an Azure location name (lowercase letters and digits without spaces, as `az account list-locations` "
    "prints in `name`)",
    "germanywestcentral",
)

ResourceGroupName = _pattern_type(
    r"^[-a-zA-Z0-9_.()]{0,89}[-a-zA-Z0-9_()]$",
    "a resource group name (at most 90 letters, digits, '-', '_', '.', '(' and ')', not ending in '.')",
    "rg-platform",
)

AksClusterName = _pattern_type(
    r"^[a-zA-Z0-9]([-a-zA-Z0-9_]{0,61}[a-zA-Z0-9])?$",
    "an AKS cluster name (at most 63 letters, digits, '-' and '_', starting and ending with a letter or digit)",
    "prod-aks",
)

UserAssignedIdentityName = _pattern_type(
    r"^[a-zA-Z0-9][-a-zA-Z0-9_]{2,127}$",
    "a managed identity name (3 to 128 letters, digits, '-' and '_', starting with a letter or digit)",
    "external-secrets",
)

FederatedCredentialName = _pattern_type(
    r"^[a-zA-Z0-9][-a-zA-Z0-9_]{2,119}$",
    "a federated identity credential name (3 to 120 letters, digits, '-' and '_', starting with a letter or digit)",
    "kubernetes",
)

KeyVaultName = _pattern_type(
    r"^[a-zA-Z](?!.*--)[-a-zA-Z0-9]{1,22}[a-zA-Z0-9]$",
    "a Key Vault name (3 to 24 letters, digits and single '-', starting with a letter and ending with a "
    "letter or digit)",
    "kv-platform-prod",
)

_KEY_VAULT_ID = re.compile(
    r"/subscriptions/(?P<subscription>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"/resourceGroups/(?P<resource_group>[-\w.()]{1,90})"
    r"/providers/Microsoft\.KeyVault/vaults/(?P<name>[a-z](?!.*--)[-a-z0-9]{1,22}[a-z0-9])",
    re.IGNORECASE | re.ASCII,
)


def _check_key_vault_id(value: str) -> str:
    """Check a Key Vault resource id and return it with its fixed segments in Azure's own case.

    Azure resource ids are case-insensitive, and some tools print `resourcegroups` in lowercase.
    """
    match = _KEY_VAULT_ID.fullmatch(value)
    if not match:
        raise ValueError(
            f"{value!r} is not a Key Vault resource id (`az keyvault show --query id`), such as "
            "'/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-platform/providers/"
            "Microsoft.KeyVault/vaults/kv-platform-prod'"
        )
    return (
        f"/subscriptions/{match['subscription']}/resourceGroups/{match['resource_group']}"
        f"/providers/Microsoft.KeyVault/vaults/{match['name']}"
    )


KeyVaultId = Annotated[
    StrictStr,
    AfterValidator(_check_key_vault_id),
    Field(
        json_schema_extra={
            "pattern": r"^/subscriptions/[^/]+/resource[Gg]roups/[^/]+/providers/[Mm]icrosoft\.[Kk]ey[Vv]ault/vaults/[^/]+$"
        }
    ),
]


def _check_aks_issuer_url(value: str) -> str:
    if not value.endswith("/"):
        raise ValueError(
            f"{value!r} does not end with '/'; AKS issuers always do, and Entra ID compares the "
            f"federated credential's issuer with the token's `iss` byte for byte (AADSTS70021 when they "
            f"differ): write {value + '/'!r}, or leave issuer_url out to use the cluster's own"
        )
    return value


AksIssuerUrl = Annotated[
    StrictStr,
    AfterValidator(_check_issuer_url),
    AfterValidator(_check_aks_issuer_url),
    Field(json_schema_extra={"pattern": r"^https://[^/?#\s][^?#\s]*/$"}),
]


# Google Cloud project ids: 6 to 30 characters, lowercase letters, digits and hyphens, starting
# with a letter and not ending with a hyphen. Legacy domain-scoped ids (`example.com:project`)
# are not accepted.
_GCP_PROJECT_ID = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"
_GCP_PROJECT_NUMBER = r"^[1-9][0-9]{0,18}$"


def _check_gcp_project_id(value: str) -> str:
    if re.fullmatch(_GCP_PROJECT_NUMBER, value):
        raise ValueError(f"{value!r} is a project number; use the project id, such as 'acme-prod'")
    if not re.fullmatch(_GCP_PROJECT_ID, value):
        raise ValueError(
            f"{value!r} is not a Google Cloud project id (6 to 30 lowercase letters, digits and '-', "
            "starting with a letter and not ending with '-'), such as 'acme-prod'"
        )
    return value


GcpProjectId = Annotated[
    StrictStr, AfterValidator(_check_gcp_project_id), Field(json_schema_extra={"pattern": _GCP_PROJECT_ID})
]


def _project_number_from_yaml(value: Any) -> Any:
    # YAML reads an unquoted project number as an integer. Project numbers never start with 0, so
    # the integer's decimal digits are the number itself.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _check_gcp_project_number(value: str) -> str:
    if re.fullmatch(_GCP_PROJECT_NUMBER, value):
        return value
    if re.fullmatch(_GCP_PROJECT_ID, value):
        raise ValueError(
            f"{value!r} is a project id, but a project number is required here; use the number from "
            f"`gcloud projects describe {value} --format='value(projectNumber)'`, or null to look it up"
        )
    raise ValueError(
        f"{value!r} is not a Google Cloud project number (digits only, such as '123456789012'); "
        "use the project's number, or null to look it up"
    )


GcpProjectNumber = Annotated[
    StrictStr,
    BeforeValidator(_project_number_from_yaml),
    AfterValidator(_check_gcp_project_number),
    Field(json_schema_extra={"pattern": _GCP_PROJECT_NUMBER}),
]

GkeClusterName = _pattern_type(
    r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$",
    "a GKE cluster name (at most 40 lowercase letters, digits and '-', starting with a letter)",
    "prod-gke",
)

GcpLocation = _pattern_type(
    r"^[a-z]+-[a-z]+[0-9]+(-[a-z][a-z0-9]*)?$",
    "a Google Cloud region or zone (a region for regional clusters, a zone for zonal ones)",
    "europe-west1",
)

SecretManagerSecretId = _pattern_type(
    r"^[a-zA-Z0-9_-]{1,255}$",
    "a Secret Manager secret id (at most 255 letters, digits, '_' and '-')",
    "db-password",
)

GcpServiceAccountId = _pattern_type(
    r"^[a-z]([-a-z0-9]{4,28}[a-z0-9])$",
    "a Google service account id (6 to 30 lowercase letters, digits and '-', starting with a letter)",
    "external-secrets",
)


# Self-managed clusters: publishing targets of the discovery documents.

# S3 bucket names as the S3 rules give them, minus dots: a dotted name does not match the
# certificate of `*.s3.REGION.amazonaws.com`, so the issuer URL would fail TLS verification.
S3BucketName = _pattern_type(
    r"^(?!xn--|sthree-|amzn-s3-demo-)(?!.*(-s3alias|--ol-s3|--x-s3|--table-s3)$)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
    "an S3 bucket name without dots (3 to 63 lowercase letters, digits and '-', starting and ending "
    "with a letter or digit, no reserved prefix or suffix such as 'xn--' or '-s3alias'; a dot would "
    "break the TLS certificate match of the issuer URL)",
    "oidc-acme",
)

GcsBucketName = _pattern_type(
    r"^(?!goog)(?!.*google)[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$",
    "a Cloud Storage bucket name without dots (3 to 63 lowercase letters, digits, '-' and '_', "
    "starting and ending with a letter or digit, not starting with 'goog' or containing 'google')",
    "oidc-acme",
)

StorageAccountName = _pattern_type(
    r"^[a-z0-9]{3,24}$",
    "an Azure storage account name (3 to 24 lowercase letters and digits)",
    "oidcacme",
)

# Cloud Storage locations: a region (`europe-west3`), a dual-region (`EUR4`) or a multi-region (`EU`).
GcsLocation = _pattern_type(
    r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$",
    "a Cloud Storage location (a region, dual-region or multi-region)",
    "EU",
)


def _check_object_prefix(value: str) -> str:
    if value.startswith("/") or value.endswith("/"):
        raise ValueError(f"{value!r} starts or ends with '/'; write it without, such as {value.strip('/')!r}")
    for segment in value.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"{value!r} contains an empty, '.' or '..' path segment; use plain names such as 'cluster-a'")
        if not re.fullmatch(r"[A-Za-z0-9._~-]+", segment):
            raise ValueError(
                f"{value!r} contains characters that would need URL encoding; use letters, digits, "
                "'.', '_', '~', '-' and '/' between segments, such as 'cluster-a'"
            )
    return value


ObjectPrefix = Annotated[
    StrictStr,
    AfterValidator(_check_object_prefix),
    Field(json_schema_extra={"pattern": r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$"}),
]


# Ids of workload identity pools and their providers: 4 to 32 characters; the prefix `gcp-` is
# reserved by Google.
GcpWorkloadIdentityPoolId = _pattern_type(
    r"^(?!gcp-)[a-z0-9-]{4,32}$",
    "a workload identity pool or provider id (4 to 32 lowercase letters, digits and '-', not starting with 'gcp-')",
    "external-secrets",
)
