"""Load prebuilt provider bindings at the cost of their jsii assembly, not of every generated module.

Each `cdktf_cdktf_provider_*` package's `__init__.py` imports all of its submodules (2,214 for aws),
although a stack uses a dozen. The submodules need only the package's `_jsii` module, which loads the
assembly into the jsii runtime. `register_light_packages` therefore puts each provider package into
`sys.modules` with its `__path__` but without running its `__init__.py`. A later
`from cdktf_cdktf_provider_aws.iam_role import IamRole` then imports `_jsii` and that one submodule.
Types that the jsii runtime returns from submodules not imported yet are imported on demand by jsii
itself (`jsii._reference_map._try_import_type_module`, jsii 1.142).

The packages are archived upstream (cdktf 0.21.0 and its prebuilt providers are final), so their
layout is fixed. A package laid out differently is left to the normal import.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterable
from types import ModuleType

HELM_PACKAGE = "cdktf_cdktf_provider_helm"

# The provider package each cloud's stacks use, besides Helm, which every stack uses.
CLOUD_PROVIDER_PACKAGES = {
    "aws": "cdktf_cdktf_provider_aws",
    "azure": "cdktf_cdktf_provider_azurerm",
    "gcp": "cdktf_cdktf_provider_google",
}

PROVIDER_PACKAGES = (*sorted(CLOUD_PROVIDER_PACKAGES.values()), HELM_PACKAGE)

# Set to 1 to import provider packages the usual way, to compare output or timing.
NORMAL_IMPORT_VARIABLE = "ESO_OIDC_NORMAL_PROVIDER_IMPORT"

# Top-level definitions of a package `__init__.py`. A generated one defines only the jsii
# `check_type` helper besides imports. Any other `def` or `class` would be lost by skipping the
# file, so such a package is imported normally.
_TOP_LEVEL_DEFINITION = re.compile(r"^(?:async\s+def|def|class)\s+(\w+)", re.MULTILINE)
_ALLOWED_DEFINITIONS = {"check_type"}


def provider_packages(clouds: Iterable[str]) -> list[str]:
    """Return the provider packages that stacks of `clouds` import: Helm and each cloud's provider."""
    return sorted({HELM_PACKAGE, *(CLOUD_PROVIDER_PACKAGES[cloud] for cloud in clouds)})


def register_light_packages(names: Iterable[str] = PROVIDER_PACKAGES) -> list[str]:
    """Register installed provider packages without running their `__init__.py`.

    Returns the names registered this way. Packages already imported, not installed, or laid out
    differently are skipped, so they import normally. With `ESO_OIDC_NORMAL_PROVIDER_IMPORT=1`
    nothing is registered.
    """
    if os.environ.get(NORMAL_IMPORT_VARIABLE) == "1":
        return []
    return [name for name in names if _register_light_package(name)]


def _register_light_package(name: str) -> bool:
    if name in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None or not _has_expected_layout(spec.origin, spec.submodule_search_locations):
        return False

    module = importlib.util.module_from_spec(spec)
    module.__getattr__ = _submodule_loader(name)  # type: ignore[attr-defined]
    sys.modules[name] = module
    return True


def _has_expected_layout(origin: str | None, locations: Iterable[str] | None) -> bool:
    """Check for a jsii-generated provider package: `_jsii` loads the assembly, `__init__` only imports.

    The package must be one regular folder with `__init__.py`, `_jsii/__init__.py` that loads a
    jsii assembly, and a `provider` submodule, and its `__init__.py` must define nothing but the
    generated `check_type` helper.
    """
    folders = list(locations or [])
    if origin is None or len(folders) != 1 or os.path.basename(origin) != "__init__.py":
        return False
    package_dir = folders[0]
    jsii_init = os.path.join(package_dir, "_jsii", "__init__.py")
    if not os.path.isfile(os.path.join(package_dir, "provider", "__init__.py")):
        return False
    try:
        with open(jsii_init, encoding="utf-8") as file:
            if "jsii.JSIIAssembly.load(" not in file.read():
                return False
        with open(origin, encoding="utf-8") as file:
            init_source = file.read()
    except (OSError, UnicodeDecodeError):
        return False
    if "from ._jsii import *" not in init_source:
        return False
    return set(_TOP_LEVEL_DEFINITION.findall(init_source)) <= _ALLOWED_DEFINITIONS


def _submodule_loader(package: str):  # type: ignore[no-untyped-def]
    """Return a module `__getattr__` that imports `package.<name>` on first attribute access.

    The normal `__init__.py` imports every submodule, so `cdktf_cdktf_provider_aws.iam_role` works
    after a bare `import cdktf_cdktf_provider_aws`; this keeps that working for light packages.
    """

    def load_submodule(name: str) -> ModuleType:
        if name.startswith("__"):
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{package}.{name}":
                raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

    return load_submodule
