"""Load prebuilt provider bindings at the cost of their jsii assembly, not of every generated module.

Each `cdktf_cdktf_provider_*` package's `__init__.py` imports all of its submodules (2,214 for aws),
although a stack uses a dozen. The submodules need only the package's `_jsii` module, which loads the
assembly into the jsii runtime. `register_light_packages` therefore puts each provider package into
`sys.modules` with its `__path__` but without running its `__init__.py`; a later
`from cdktf_cdktf_provider_aws.iam_role import IamRole` then imports `_jsii` and that one submodule.
The packages are archived upstream (cdktf 0.21.0 is final), so their layout is fixed; where it is
not what is expected, the package is left to the normal import.
"""

from __future__ import annotations

import importlib.util
import os
import sys

PROVIDER_PACKAGES = (
    "cdktf_cdktf_provider_aws",
    "cdktf_cdktf_provider_azurerm",
    "cdktf_cdktf_provider_google",
    "cdktf_cdktf_provider_helm",
)

# Set to 1 to import provider packages the usual way, to compare output or timing.
NORMAL_IMPORT_VARIABLE = "ESO_OIDC_NORMAL_PROVIDER_IMPORT"


def register_light_packages() -> list[str]:
    """Register every installed provider package without running its `__init__.py`.

    Returns the names registered this way; packages already imported, missing, or laid out
    differently are skipped and import normally.
    """
    if os.environ.get(NORMAL_IMPORT_VARIABLE) == "1":
        return []
    return [name for name in PROVIDER_PACKAGES if _register_light_package(name)]


def _register_light_package(name: str) -> bool:
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations or not spec.origin:
        return False
    package_dir = list(spec.submodule_search_locations)[0]
    if not (
        os.path.isfile(os.path.join(package_dir, "_jsii", "__init__.py"))
        and os.path.isfile(os.path.join(package_dir, "provider", "__init__.py"))
    ):
        return False
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    return True
