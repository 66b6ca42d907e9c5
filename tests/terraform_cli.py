"""Run the Terraform CLI on synthesized stacks offline, with providers from a local filesystem mirror.

Nothing here reads the user's Terraform CLI configuration: `cli_environment` points
`TF_CLI_CONFIG_FILE` at a file written into a temporary folder, whose only installation method is
the mirror found by `find_mirror`. No provider is ever downloaded.
"""

from __future__ import annotations

import copy
import json
import os
import platform
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Set this to a provider mirror folder (laid out as HOSTNAME/NAMESPACE/TYPE/...) to use it instead
# of the conventional locations below.
MIRROR_VARIABLE = "ESO_OIDC_TF_MIRROR"

DEFAULT_REGISTRY = "registry.terraform.io"
DEFAULT_NAMESPACE = "hashicorp"

# Providers whose version constraint may be relaxed to the version in the mirror. The prebuilt aws
# bindings pin hashicorp/aws 6.25.0, and every argument the stacks set exists in 5.x as well.
RELAXED_PROVIDERS = ("aws",)

COMMAND_TIMEOUT_SECONDS = 300

# Variables that would change what Terraform reads or where it writes.
_CLEARED_VARIABLES = ("TF_DATA_DIR", "TF_WORKSPACE", "TF_PLUGIN_CACHE_DIR", "TF_CLI_CONFIG_FILE", "TF_INPUT")


def mirror_candidates() -> list[Path]:
    """Return the folders searched for a provider mirror, in order.

    With `ESO_OIDC_TF_MIRROR` set, only that folder. Otherwise Terraform's implied local mirror
    folders on Linux and macOS, `TF_PLUGIN_CACHE_DIR` (the same layout), and `/opt/tf-plugins`.
    """
    override = os.environ.get(MIRROR_VARIABLE)
    if override:
        return [Path(override).expanduser()]
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = [Path(entry) for entry in (os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":") if entry]
    candidates = [
        home / ".terraform.d" / "plugins",
        data_home / "terraform" / "plugins",
        *(entry / "terraform" / "plugins" for entry in data_dirs),
        home / "Library" / "Application Support" / "io.terraform" / "plugins",
        Path("/Library/Application Support/io.terraform/plugins"),
    ]
    if os.environ.get("TF_PLUGIN_CACHE_DIR"):
        candidates.append(Path(os.environ["TF_PLUGIN_CACHE_DIR"]).expanduser())
    candidates.append(Path("/opt/tf-plugins"))
    return list(dict.fromkeys(candidates))


def terraform_platform() -> str:
    """Return Terraform's name of this platform, such as `linux_amd64`."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "386", "i386": "386"}.get(
        machine, machine
    )
    return f"{platform.system().lower()}_{arch}"


def provider_address(source: str) -> str:
    """Return the full address of a `required_providers` source: `aws` is `registry.terraform.io/hashicorp/aws`."""
    parts = source.lower().split("/")
    if len(parts) == 1:
        parts = [DEFAULT_REGISTRY, DEFAULT_NAMESPACE, *parts]
    elif len(parts) == 2:
        parts = [DEFAULT_REGISTRY, *parts]
    return "/".join(parts)


@dataclass(frozen=True)
class Mirror:
    """Providers found in filesystem mirrors: full address -> (mirror folder, versions for this platform)."""

    providers: dict[str, tuple[Path, tuple[str, ...]]]

    def versions(self, address: str) -> tuple[str, ...]:
        entry = self.providers.get(address)
        return entry[1] if entry else ()

    def describe(self) -> str:
        if not self.providers:
            return "no providers"
        return ", ".join(
            f"{address} {' '.join(versions)} in {folder}" for address, (folder, versions) in sorted(self.providers.items())
        )


def find_mirror(candidates: list[Path] | None = None, platform_name: str | None = None) -> Mirror:
    """Scan mirror folders for providers built for this platform, packed (zip) or unpacked.

    A provider found in several folders is taken from the first one.
    """
    platform_name = platform_name or terraform_platform()
    providers: dict[str, tuple[Path, tuple[str, ...]]] = {}
    for root in candidates if candidates is not None else mirror_candidates():
        if not root.is_dir():
            continue
        for type_dir in sorted(root.glob("*/*/*")):
            if not type_dir.is_dir():
                continue
            address = "/".join(type_dir.relative_to(root).parts).lower()
            if address in providers:
                continue
            versions = _mirrored_versions(type_dir, platform_name)
            if versions:
                providers[address] = (root, versions)
    return Mirror(providers)


def _mirrored_versions(type_dir: Path, platform_name: str) -> tuple[str, ...]:
    versions = set()
    for entry in type_dir.iterdir():
        # Unpacked layout: TYPE/VERSION/PLATFORM/terraform-provider-TYPE*
        if entry.is_dir() and any((entry / platform_name).glob(f"terraform-provider-{type_dir.name}*")):
            versions.add(entry.name)
        # Packed layout: TYPE/terraform-provider-TYPE_VERSION_PLATFORM.zip
        match = re.fullmatch(rf"terraform-provider-{re.escape(type_dir.name)}_(.+)_{re.escape(platform_name)}\.zip", entry.name)
        if match:
            versions.add(match.group(1))
    return tuple(sorted(versions, key=_version_key))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in re.split(r"[.-]", version))


def write_cli_config(folder: Path, mirror: Mirror) -> Path:
    """Write a CLI configuration whose only installation method is the mirror, one block per folder."""
    by_folder: dict[Path, list[str]] = {}
    for address, (root, _versions) in sorted(mirror.providers.items()):
        by_folder.setdefault(root, []).append(address)
    blocks = []
    for root, addresses in by_folder.items():
        include = ", ".join(json.dumps(address) for address in addresses)
        blocks.append(f"  filesystem_mirror {{\n    path    = {json.dumps(str(root))}\n    include = [{include}]\n  }}\n")
    path = folder / "terraform.tfrc"
    path.write_text("provider_installation {\n" + "".join(blocks) + "}\n")
    return path


def cli_environment(cli_config: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment for Terraform: our CLI configuration, no prompts, no version check."""
    environment = {key: value for key, value in os.environ.items() if key not in _CLEARED_VARIABLES}
    environment = {key: value for key, value in environment.items() if not key.startswith("TF_CLI_ARGS")}
    environment.update(
        {
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
    )
    environment.update(extra or {})
    return environment


@dataclass(frozen=True)
class ProviderRequirement:
    """One entry of `terraform.required_providers`."""

    name: str
    address: str
    version: str

    def __str__(self) -> str:
        return f"{self.address} {self.version}"


@dataclass
class PreparedStack:
    """A stack rewritten to run with the mirror's providers, and what was changed to get there."""

    config: dict[str, Any]
    missing: list[ProviderRequirement] = field(default_factory=list)
    relaxed: dict[str, tuple[str, str]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    def has_blocks(self) -> bool:
        return any(self.config.get(kind) for kind in ("resource", "data"))

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "main.tf.json"
        path.write_text(json.dumps(self.config, indent=2))
        return path


def required_providers(stack: dict[str, Any]) -> list[ProviderRequirement]:
    declared = stack.get("terraform", {}).get("required_providers", {})
    return [
        ProviderRequirement(name, provider_address(entry.get("source", name)), str(entry.get("version", "")))
        for name, entry in sorted(declared.items())
    ]


def prepare_stack(stack: dict[str, Any], mirror: Mirror, *, strip_missing: bool) -> PreparedStack:
    """Return a copy of a synthesized stack that Terraform can initialize from the mirror.

    The copy has no backend block (state stays in the working folder), and the constraint of each
    provider in `RELAXED_PROVIDERS` is set to the newest mirrored version when its own is not
    mirrored. With `strip_missing`, the blocks of providers that are still missing are removed,
    together with everything that refers to them.
    """
    config = copy.deepcopy(stack)
    terraform = config.setdefault("terraform", {})
    terraform.pop("backend", None)
    prepared = PreparedStack(config)
    for requirement in required_providers(stack):
        versions = mirror.versions(requirement.address)
        if requirement.version in versions:
            continue
        if requirement.name in RELAXED_PROVIDERS and versions:
            terraform["required_providers"][requirement.name]["version"] = versions[-1]
            prepared.relaxed[requirement.name] = (requirement.version, versions[-1])
            continue
        prepared.missing.append(requirement)
    if strip_missing and prepared.missing:
        prepared.removed = remove_provider_blocks(config, {requirement.name for requirement in prepared.missing})
    return prepared


def remove_provider_blocks(config: dict[str, Any], provider_names: set[str]) -> list[str]:
    """Remove the providers' configuration, resources and data sources, then what refers to them.

    A block belongs to the provider named by its `provider` argument, or else by its type's prefix
    (`helm_release` to `helm`), as in Terraform. Returns the addresses removed, sorted.
    """
    required = config.get("terraform", {}).get("required_providers", {})
    providers = config.get("provider", {})
    for name in provider_names:
        required.pop(name, None)
        providers.pop(name, None)

    removed: set[str] = set()
    for kind, prefix in (("resource", ""), ("data", "data.")):
        for type_name, blocks in config.get(kind, {}).items():
            for name in list(blocks):
                if _block_provider(type_name, blocks[name]) in provider_names:
                    del blocks[name]
                    removed.add(f"{prefix}{type_name}.{name}")

    # Removing a block can leave another one referring to it, so repeat until nothing refers to a
    # removed address.
    while True:
        pattern = _reference_pattern(removed)
        newly_removed = set()
        if pattern is None:
            break
        for kind, prefix in (("resource", ""), ("data", "data."), ("output", None), ("locals", None)):
            section = config.get(kind, {})
            if prefix is None:
                for name in list(section):
                    if pattern.search(json.dumps(section[name])):
                        del section[name]
                        newly_removed.add(f"{kind}.{name}")
                continue
            for type_name, blocks in section.items():
                for name in list(blocks):
                    if pattern.search(json.dumps(blocks[name])):
                        del blocks[name]
                        newly_removed.add(f"{prefix}{type_name}.{name}")
        if not newly_removed:
            break
        removed |= newly_removed

    for kind in ("resource", "data"):
        section = config.get(kind, {})
        for type_name in [type_name for type_name, blocks in section.items() if not blocks]:
            del section[type_name]
    for kind in ("resource", "data", "output", "provider", "locals"):
        if kind in config and not config[kind]:
            del config[kind]
    return sorted(removed)


def _block_provider(type_name: str, body: dict[str, Any]) -> str:
    explicit = body.get("provider")
    if isinstance(explicit, str):
        return explicit.removeprefix("${").split(".")[0]
    return type_name.split("_")[0]


def _reference_pattern(addresses: set[str]) -> re.Pattern[str] | None:
    # Only references count: `helm_release.x` inside `data.helm_release.x` or `y.helm_release.x` is another address.
    plain = sorted(address for address in addresses if not address.startswith(("output.", "locals.")))
    if not plain:
        return None
    alternatives = "|".join(re.escape(address) for address in plain)
    return re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-])")


class TerraformError(AssertionError):
    """Raised when a Terraform command exits with a status the caller did not expect."""


def run_terraform(
    terraform: str,
    arguments: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    expected_status: tuple[int, ...] = (0,),
) -> subprocess.CompletedProcess[str]:
    """Run `terraform ARGUMENTS` in `cwd`; raise TerraformError with its output on another exit status."""
    command = [terraform, *arguments, "-no-color"]
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False
    )
    if result.returncode not in expected_status:
        raise TerraformError(
            f"`terraform {' '.join(arguments)}` in {cwd} exited with {result.returncode}:\n"
            f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
        )
    return result


def find_terraform() -> str | None:
    return shutil.which("terraform")
