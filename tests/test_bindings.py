"""Cheap registration of provider packages, and its fallback to the normal import."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from eso_oidc.bindings import (
    CLOUD_PROVIDER_PACKAGES,
    HELM_PACKAGE,
    NORMAL_IMPORT_VARIABLE,
    provider_packages,
    register_light_packages,
)

PACKAGE = "fake_provider_package"

# The shape of a generated `cdktf_cdktf_provider_*` package: `__init__.py` imports every submodule,
# `_jsii` loads the assembly. Here both only record that they ran.
INIT = """\
import builtins
builtins.fake_provider_events.append("package __init__")

def check_type(argname, value, expected_type):
    return None

from ._jsii import *
from . import provider
from . import widget
"""
JSII_INIT = """\
import builtins
builtins.fake_provider_events.append("_jsii")
# jsii.JSIIAssembly.load( is what the generated module calls here
"""
SUBMODULE = """\
import builtins
from .._jsii import *
builtins.fake_provider_events.append("{name}")
VALUE = "{name}"
"""


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write a provider-shaped package into tmp_path and put it on sys.path. Yield its folder and events."""
    import builtins

    events: list[str] = []
    monkeypatch.setattr(builtins, "fake_provider_events", events, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(NORMAL_IMPORT_VARIABLE, raising=False)
    package_dir = tmp_path / PACKAGE
    package_dir.mkdir()
    (package_dir / "__init__.py").write_text(INIT)
    (package_dir / "_jsii").mkdir()
    (package_dir / "_jsii" / "__init__.py").write_text(JSII_INIT)
    for name in ("provider", "widget"):
        (package_dir / name).mkdir()
        (package_dir / name / "__init__.py").write_text(SUBMODULE.format(name=name))
    yield package_dir, events
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def test_light_package_skips_init(fake_package):
    _, events = fake_package

    assert register_light_packages([PACKAGE]) == [PACKAGE]
    from fake_provider_package.widget import VALUE

    assert VALUE == "widget"
    assert events == ["_jsii", "widget"]


def test_light_package_loads_submodule_on_attribute(fake_package):
    _, events = fake_package
    register_light_packages([PACKAGE])
    import fake_provider_package

    assert fake_provider_package.provider.VALUE == "provider"
    assert events == ["_jsii", "provider"]
    with pytest.raises(AttributeError, match="has no attribute 'missing'"):
        fake_provider_package.missing


def test_normal_import_switch(fake_package, monkeypatch):
    _, events = fake_package
    monkeypatch.setenv(NORMAL_IMPORT_VARIABLE, "1")

    assert register_light_packages([PACKAGE]) == []
    from fake_provider_package.widget import VALUE  # noqa: F401

    assert events == ["package __init__", "_jsii", "provider", "widget"]


def test_missing_jsii_module_imports_normally(fake_package):
    package_dir, events = fake_package
    (package_dir / "_jsii" / "__init__.py").write_text("import builtins\nbuiltins.fake_provider_events.append('_jsii')\n")

    assert register_light_packages([PACKAGE]) == []
    import fake_provider_package  # noqa: F401

    assert events[0] == "package __init__"


def test_missing_provider_submodule_imports_normally(fake_package):
    package_dir, _ = fake_package
    (package_dir / "provider" / "__init__.py").unlink()
    (package_dir / "provider").rmdir()

    assert register_light_packages([PACKAGE]) == []


def test_init_defining_a_class_imports_normally(fake_package):
    package_dir, events = fake_package
    (package_dir / "__init__.py").write_text(INIT + "\nclass RootType:\n    pass\n")

    assert register_light_packages([PACKAGE]) == []
    from fake_provider_package import RootType  # noqa: F401

    assert events[0] == "package __init__"


def test_init_without_jsii_star_import_imports_normally(fake_package):
    package_dir, _ = fake_package
    (package_dir / "__init__.py").write_text(INIT.replace("from ._jsii import *\n", ""))

    assert register_light_packages([PACKAGE]) == []


def test_namespace_package_imports_normally(fake_package):
    package_dir, _ = fake_package
    (package_dir / "__init__.py").unlink()

    assert register_light_packages([PACKAGE]) == []


def test_already_imported_package_is_kept(fake_package):
    _, events = fake_package
    import fake_provider_package

    assert register_light_packages([PACKAGE]) == []
    assert sys.modules[PACKAGE] is fake_provider_package
    assert events == ["package __init__", "_jsii", "provider", "widget"]


def test_missing_package_is_skipped():
    assert register_light_packages(["no_such_provider_package", "no_such.nested"]) == []


@pytest.mark.parametrize("package", sorted({*CLOUD_PROVIDER_PACKAGES.values(), HELM_PACKAGE}))
def test_installed_provider_has_expected_layout(package):
    """The installed prebuilt packages qualify, so the fallback is not silently taken."""
    from eso_oidc.bindings import _has_expected_layout
    import importlib.util

    spec = importlib.util.find_spec(package)

    assert spec is not None
    assert _has_expected_layout(spec.origin, spec.submodule_search_locations)


def test_provider_packages_by_cloud():
    assert provider_packages(["aws"]) == ["cdktf_cdktf_provider_aws", HELM_PACKAGE]
    assert provider_packages([]) == [HELM_PACKAGE]
