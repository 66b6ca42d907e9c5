"""Broken and hostile environment files: each gets its exact messages, and none a traceback.

Every case in tests/broken/ is a file `<case>.yaml`, or a folder `<case>/` of files checked
together, next to `<case>.expected` with the exact output of `python -m eso_oidc check`. After a
deliberate change of messages, rewrite the expected files with
`ESO_UPDATE_EXPECTED=1 pytest tests/test_broken_files.py` and read the diff.

Cases for a cloud whose model is not installed are skipped; they run once it is.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eso_oidc.check import run_check
from eso_oidc.config.models import ENVIRONMENT_MODELS
from eso_oidc.config.yaml_source import MAX_FILE_BYTES
from tests.conftest import PROJECT_DIR

BROKEN_DIR = PROJECT_DIR / "tests" / "broken"
CASES = sorted(path for path in BROKEN_DIR.iterdir() if path.suffix == ".yaml" or path.is_dir())
UPDATE = os.environ.get("ESO_UPDATE_EXPECTED") == "1"
# Expected files write the list of supported clouds as {clouds}, so that adding a cloud changes none.
SUPPORTED_CLOUDS = ", ".join(sorted(ENVIRONMENT_MODELS))


def _case_name(case: Path) -> str:
    return case.stem if case.is_file() else case.name


def _case_files(case: Path) -> list[Path]:
    return [case] if case.is_file() else sorted(case.glob("*.yaml"))


def _clouds(case: Path) -> set[str]:
    clouds = set()
    for path in _case_files(case):
        match = re.search(rb"^cloud:\s*([a-z]+)", path.read_bytes(), re.MULTILINE)
        if match:
            clouds.add(match.group(1).decode())
    return clouds


def _pending_clouds(case: Path) -> set[str]:
    """Return the clouds a case uses whose model is not installed."""
    return _clouds(case) & {"aws", "azure", "gcp"} - set(ENVIRONMENT_MODELS)


def _check_output(case: Path) -> tuple[int, list[str]]:
    out = io.StringIO()
    status = run_check([str(case.relative_to(PROJECT_DIR))], out=out)
    return status, out.getvalue().splitlines()


def test_corpus_has_thirty_cases():
    runnable = [case for case in CASES if not _pending_clouds(case)]
    assert len(runnable) >= 30


def test_every_case_has_expected_output():
    missing = [_case_name(case) for case in CASES if not (BROKEN_DIR / f"{_case_name(case)}.expected").is_file()]
    assert missing == []


@pytest.mark.parametrize("case", CASES, ids=_case_name)
def test_broken_file_message(case, monkeypatch):
    pending = _pending_clouds(case)
    if pending:
        pytest.skip(f"needs the {', '.join(sorted(pending))} model")
    monkeypatch.chdir(PROJECT_DIR)
    expected_path = BROKEN_DIR / f"{_case_name(case)}.expected"

    status, lines = _check_output(case)

    if UPDATE:
        text = "\n".join(lines) + "\n"
        expected_path.write_text(text.replace(f"use one of: {SUPPORTED_CLOUDS}", "use one of: {clouds}"), encoding="utf-8")
    expected = expected_path.read_text(encoding="utf-8").replace("{clouds}", SUPPORTED_CLOUDS)
    assert status == 1
    assert lines == expected.splitlines()
    assert not any("Traceback" in line for line in lines)


def _write_ten_megabytes(path: Path) -> None:
    with path.open("wb") as file:
        file.write(b"cloud: aws\ntags:\n")
        for index in range(10 * 1024 * 1024 // 32):
            file.write(f"  key-{index:08d}: value-{index:08d}\n".encode())


def test_ten_megabyte_file_rejected_unread(tmp_path):
    path = tmp_path / "huge.yaml"
    _write_ten_megabytes(path)
    out = io.StringIO()

    status = run_check([str(path)], out=out)

    assert status == 1
    assert out.getvalue() == (
        f"{path}: file is {path.stat().st_size} bytes, over the limit of {MAX_FILE_BYTES}; is it an environment file?\n"
    )


def test_missing_file_reported(tmp_path):
    out = io.StringIO()

    status = run_check([str(tmp_path / "absent.yaml")], out=out)

    assert status == 1
    assert out.getvalue() == f"{tmp_path / 'absent.yaml'}: file not found\n"


def _corpus_config_dir(tmp_path: Path) -> Path:
    """Copy every runnable case into one config folder, folder cases' files prefixed by the case name."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    for case in CASES:
        if _pending_clouds(case):
            continue
        if case.is_file():
            shutil.copyfile(case, config_dir / case.name)
        else:
            for path in _case_files(case):
                shutil.copyfile(path, config_dir / f"{case.name}-{path.name}")
    return config_dir


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_app_rejects_corpus_without_writing(tmp_path):
    config_dir = _corpus_config_dir(tmp_path)
    _write_ten_megabytes(config_dir / "huge.yaml")
    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "earlier").mkdir(parents=True)
    (outdir / "stacks" / "earlier" / "cdk.tf.json").write_text('{"sentinel": true}\n')
    (outdir / "manifest.json").write_text('{"version": "sentinel"}\n')
    before = _snapshot(outdir)
    environment = {
        **os.environ,
        "ESO_CONFIG_DIR": "config",
        "CDKTF_OUTDIR": str(outdir),
        "PYTHONPATH": str(PROJECT_DIR),
    }
    environment.pop("ESO_ENVIRONMENTS", None)

    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("eso-oidc: invalid environment files, nothing was synthesized:\n")
    assert "config/empty.yaml:1: file is empty" in result.stderr
    assert f"config/huge.yaml: file is {(config_dir / 'huge.yaml').stat().st_size} bytes, over the limit" in result.stderr
    assert "config/python-object-tag.yaml:3: cluster.name: the YAML tag !!python/object/apply:os.system" in result.stderr
    assert "config/same-role-name-aws-staging.yaml:7: aws.role_name: 'ESO-Shared' would create" in result.stderr
    assert _snapshot(outdir) == before


def test_app_reports_what_check_reports(tmp_path, monkeypatch):
    config_dir = _corpus_config_dir(tmp_path)
    environment = {**os.environ, "ESO_CONFIG_DIR": "config", "CDKTF_OUTDIR": str(tmp_path / "out"), "PYTHONPATH": str(PROJECT_DIR)}
    environment.pop("ESO_ENVIRONMENTS", None)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    run_check([str(config_dir.relative_to(tmp_path))], out=out)

    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=120
    )

    assert result.stderr.splitlines()[1:] == out.getvalue().splitlines()
