"""`aws.endpoints`: AWS service endpoints replaced for an emulator."""

from __future__ import annotations

import pytest

from eso_oidc.config import load_environments
from eso_oidc.errors import ConfigError

BASE = """\
cloud: aws
cluster:
  name: dev-eks
aws:
  region: eu-central-1
  parameter_store:
    paths: [/dev/]
"""


def _problems(path):
    with pytest.raises(ConfigError) as caught:
        load_environments([path])
    return str(caught.value)


def test_endpoints_reach_the_provider(write_environment, synth):
    path = write_environment(
        BASE + "  endpoints:\n    iam: http://127.0.0.1:5000\n    sts: http://127.0.0.1:5000/\n    eks: https://eks.local\n"
    )

    provider = synth(path)["provider"]["aws"][0]

    assert provider["endpoints"] == [
        {"eks": "https://eks.local", "iam": "http://127.0.0.1:5000", "sts": "http://127.0.0.1:5000/"}
    ]
    assert "s3_use_path_style" not in provider


def test_s3_endpoint_uses_path_style(write_environment, synth):
    path = write_environment(BASE + "  endpoints:\n    s3: http://localhost:4566\n")

    provider = synth(path)["provider"]["aws"][0]

    assert provider["endpoints"] == [{"s3": "http://localhost:4566"}]
    assert provider["s3_use_path_style"] is True


def test_no_endpoints_leave_the_provider_alone(write_environment, synth):
    provider = synth(write_environment(BASE))["provider"]["aws"][0]

    assert "endpoints" not in provider
    assert "s3_use_path_style" not in provider


def test_endpoint_must_be_http_url(write_environment):
    path = write_environment(BASE + "  endpoints:\n    iam: 127.0.0.1:5000\n")

    assert _problems(path) == (
        f"{path}:9: aws.endpoints.iam: '127.0.0.1:5000' is not an http:// or https:// URL without query or "
        "fragment, such as 'http://127.0.0.1:4566'"
    )


def test_unknown_endpoint_service_suggests_one(write_environment):
    path = write_environment(BASE + "  endpoints:\n    stss: http://127.0.0.1:5000\n")

    assert _problems(path) == f"{path}:9: aws.endpoints.stss: `stss` is not a setting of `aws.endpoints`; did you mean `sts`?"
