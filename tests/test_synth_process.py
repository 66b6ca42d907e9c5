"""`main.py` in a child process: both import paths agree, only the selected clouds load, exit is clean."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from eso_oidc.app import NODE_WARNING_VARIABLE
from eso_oidc.bindings import NORMAL_IMPORT_VARIABLE, PROVIDER_PACKAGES, provider_packages
from eso_oidc.config import load_environments
from tests.conftest import EXAMPLES_DIR, PROJECT_DIR

EXAMPLES = load_environments(sorted(EXAMPLES_DIR.glob("*.yaml")))
# The first example of each cloud, by file name.
EXAMPLE_OF_CLOUD = {}
for _example in EXAMPLES:
    EXAMPLE_OF_CLOUD.setdefault(_example.config.cloud, _example.name)

# Runs main.py unchanged, but reports the provider modules loaded just before its final os._exit.
# If main.py falls back to the normal exit, nothing is reported and the test fails.
REPORTING_MAIN = """\
import json, os, runpy, sys

exit_now = os._exit

def report_and_exit(status):
    modules = sorted(name for name in sys.modules if name.startswith("cdktf_cdktf_provider_"))
    print(json.dumps({"modules": modules}), flush=True)
    exit_now(status)

os._exit = report_and_exit
sys.argv = ["main.py"]
runpy.run_path("main.py", run_name="__main__")
"""


def child_environment(**overrides: str) -> dict[str, str]:
    """Return this process's environment without the app's own settings, plus `overrides`."""
    environment = dict(os.environ)
    for name in ("ESO_CONFIG_DIR", "ESO_ENVIRONMENTS", NORMAL_IMPORT_VARIABLE, NODE_WARNING_VARIABLE, "CDKTF_OUTDIR"):
        environment.pop(name, None)
    environment.update(overrides)
    return environment


def stack_files(outdir: Path) -> dict[str, bytes]:
    """Return every file below `outdir/stacks` by relative path."""
    stacks = outdir / "stacks"
    return {str(path.relative_to(stacks)): path.read_bytes() for path in sorted(stacks.rglob("*")) if path.is_file()}


def processes_with_marker(marker: str) -> list[int]:
    """Return the ids of running processes whose environment contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


class ImportPathSynths:
    """`main.py` for every example, once with the light provider registration and once without.

    Importing the provider packages the usual way takes 10 to 30 s of CPU here, so the conftest
    starts both processes right after collection and the other tests run meanwhile.
    """

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="eso-oidc-import-paths-"))
        command = [sys.executable, "main.py"]
        self.children = {
            "fast": subprocess.Popen(
                command, cwd=PROJECT_DIR, env=child_environment(CDKTF_OUTDIR=str(self.folder / "fast")),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            ),
            "normal": subprocess.Popen(
                command, cwd=PROJECT_DIR,
                env=child_environment(CDKTF_OUTDIR=str(self.folder / "normal"), **{NORMAL_IMPORT_VARIABLE: "1"}),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            ),
        }

    def wait(self) -> dict[str, Path]:
        """Wait for both processes; return each one's output folder by path name."""
        for name, child in self.children.items():
            _, stderr = child.communicate(timeout=900)
            assert child.returncode == 0, f"{name} import path failed:\n{stderr.decode()}"
        return {name: self.folder / name for name in self.children}

    def close(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.kill()
            child.communicate()
        shutil.rmtree(self.folder, ignore_errors=True)


_import_path_synths: ImportPathSynths | None = None


def start_import_path_synths() -> ImportPathSynths:
    """Start the two `main.py` processes once per test session; later calls return the same."""
    global _import_path_synths
    if _import_path_synths is None:
        _import_path_synths = ImportPathSynths()
    return _import_path_synths


def stop_import_path_synths() -> None:
    """Stop the two processes if still running, and delete their output."""
    if _import_path_synths is not None:
        _import_path_synths.close()


def test_fast_and_normal_imports_write_identical_files():
    outdirs = start_import_path_synths().wait()

    fast_files, normal_files = stack_files(outdirs["fast"]), stack_files(outdirs["normal"])

    assert sorted({name.split("/")[0] for name in fast_files}) == sorted(example.name for example in EXAMPLES)
    assert sorted(fast_files) == sorted(normal_files)
    for name in fast_files:
        assert fast_files[name] == normal_files[name], name


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to find leftover processes")
@pytest.mark.parametrize("cloud", sorted(EXAMPLE_OF_CLOUD))
def test_synth_loads_only_its_cloud(cloud, tmp_path):
    name = EXAMPLE_OF_CLOUD[cloud]
    run_id = uuid.uuid4().hex
    marker = f"ESO_OIDC_TEST_RUN={run_id}"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    environment = child_environment(
        CDKTF_OUTDIR=str(tmp_path / "cdktf.out"), ESO_ENVIRONMENTS=name, TMPDIR=str(temporary), ESO_OIDC_TEST_RUN=run_id
    )

    result = subprocess.run(
        [sys.executable, "-c", REPORTING_MAIN], cwd=PROJECT_DIR, env=environment, capture_output=True, text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), f"main.py did not reach its fast exit:\n{result.stderr}"
    modules = json.loads(result.stdout.strip().splitlines()[-1])["modules"]
    loaded = sorted(module.removesuffix("._jsii") for module in modules if module.endswith("._jsii"))
    assert loaded == provider_packages([cloud])
    for package in sorted(set(PROVIDER_PACKAGES) - set(loaded)):
        # The package itself is registered at no cost, but none of its modules may be imported.
        assert [module for module in modules if module.startswith(f"{package}.")] == []
    # The light path imports a few dozen generated modules, while the normal one imports thousands.
    assert len(modules) < 100, modules
    assert f"synthesized {name} into" in result.stdout
    assert "end-of-life" not in result.stderr
    assert (tmp_path / "cdktf.out" / "stacks" / name / "cdk.tf.json").is_file()

    # The jsii runtime's Node processes exit by themselves and remove their temporary files.
    deadline = time.monotonic() + 20
    while processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert processes_with_marker(marker) == []
    assert sorted(path.name for path in temporary.iterdir()) == []
