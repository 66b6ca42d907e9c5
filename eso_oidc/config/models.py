"""The environment model of each cloud, by the value of `cloud`."""

from __future__ import annotations

from eso_oidc.config.aws import AwsEnvironment
from eso_oidc.config.azure import AzureEnvironment
from eso_oidc.config.environment import Environment
from eso_oidc.config.gcp import GcpEnvironment

ENVIRONMENT_MODELS: dict[str, type[Environment]] = {
    "aws": AwsEnvironment,
    "azure": AzureEnvironment,
    "gcp": GcpEnvironment,
}
