"""Benchmark synthesis against the cost of loading the provider bindings; see docs/benchmark.md.

Runs each case as a child process several times and prints medians of wall time, CPU time and peak
memory:

- synth: `main.py` for one example environment of each cloud, for all examples, and for N copies
  of one example (`--copies`, default 50);
- naive floor: a process that imports the same provider packages the usual way and exits;
- assembly floor: a process that only loads the same jsii assemblies (each package's `_jsii` after
  the light registration of `eso_oidc.bindings`) and exits as `main.py` does;
- the time from the end of synthesis (the app's "synthesized" line on stdout) to process exit.

Peak memory is the maximum, over samples taken every 20 ms, of the summed resident set size of the
child and all its descendants: the Python process and the jsii runtime's two Node processes.
Pages shared between them are counted once per process, so the sum slightly overstates the total.
CPU time is the user plus system time of the same processes, as last sampled before each exited, so
it misses up to 20 ms per process. Unlike wall time, it barely changes when other work shares the CPUs.

Usage: pipenv run python scripts/bench.py [--runs 5] [--copies 50]
Linux only (reads /proc). Takes minutes, so it never runs as a timed test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from eso_oidc.app import silence_node_20_warning  # noqa: E402
from eso_oidc.bindings import NORMAL_IMPORT_VARIABLE, provider_packages  # noqa: E402
from eso_oidc.config import EnvironmentFile, load_environments  # noqa: E402
from eso_oidc.errors import ConfigError  # noqa: E402

EXAMPLES_DIR = PROJECT_DIR / "config"
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.02
# Descendants are looked up by scanning /proc, which costs more than reading their memory.
SCAN_EVERY = 10
SYNTHESIZED_LINE = "eso-oidc: synthesized"

# Keys whose values name or identify a cloud resource. Copies of an example get distinct values,
# replaced everywhere in the file, so that checks across files see no shared resource.
NUMBER_KEYS = {"account_id", "project_number"}
NAME_KEYS = {"name", "project_id", "identity_name", "pool_id", "provider_id", "bucket", "key", "prefix", "path"}
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Measurement:
    """One run of a child process."""

    wall: float
    peak_kb: int
    cpu: float
    exit_after_synth: float | None = None


@dataclass
class Case:
    """A command to measure, and its runs."""

    label: str
    command: list[str]
    environment: dict[str, str]
    runs: list[Measurement] = field(default_factory=list)

    def median_wall(self) -> float:
        return statistics.median(run.wall for run in self.runs)

    def median_cpu(self) -> float:
        return statistics.median(run.cpu for run in self.runs)

    def median_peak_mb(self) -> float:
        return statistics.median(run.peak_kb for run in self.runs) / 1024

    def exit_times(self) -> list[float]:
        return [run.exit_after_synth for run in self.runs if run.exit_after_synth is not None]


def process_tree(root: int) -> set[int]:
    """Return `root` and its descendants, from the parent ids in /proc/*/stat."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                # The command name in parentheses may contain spaces, so split after its closing one.
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
    tree = {root}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return tree


def cpu_seconds(pids: set[int], seen: dict[int, float]) -> None:
    """Record in `seen` the user plus system CPU time of each process in `pids` that is still running."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime and stime are fields 14 and 15 of /proc/PID/stat, counted from 1 with the name as 2.
        seen[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def resident_kb(pids: set[int]) -> int:
    """Return the summed resident set size of `pids` in KiB, skipping processes that have exited."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
                total += int(statm.read().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(command: list[str], environment: dict[str, str]) -> Measurement:
    """Run `command` once; return its wall time, peak tree memory and time from synthesis to exit."""
    synthesized_at: list[float] = []
    output_lines: list[str] = []
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=PROJECT_DIR, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )

    def read_stdout() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith(SYNTHESIZED_LINE):
                synthesized_at.append(time.perf_counter())
            output_lines.append(line)

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()

    peak = 0
    pids = {child.pid}
    cpu: dict[int, float] = {}
    samples = 0
    while child.poll() is None:
        if samples % SCAN_EVERY == 0:
            pids |= process_tree(child.pid)
        peak = max(peak, resident_kb(pids))
        cpu_seconds(pids, cpu)
        samples += 1
        time.sleep(SAMPLE_SECONDS)
    end = time.perf_counter()
    reader.join(timeout=10)

    if child.returncode != 0:
        raise SystemExit(f"failed with exit status {child.returncode}: {' '.join(command)}\n{''.join(output_lines)}")
    exit_after_synth = end - synthesized_at[0] if synthesized_at else None
    return Measurement(wall=end - start, peak_kb=peak, cpu=sum(cpu.values()), exit_after_synth=exit_after_synth)


def naive_floor_command(packages: list[str]) -> list[str]:
    imports = "; ".join(f"import {package}" for package in packages)
    return [sys.executable, "-c", f"import cdktf; {imports}"]


def assembly_floor_command(packages: list[str]) -> list[str]:
    imports = "; ".join(f"import {package}._jsii" for package in packages)
    code = (
        "import os, sys; import eso_oidc.constructs; import cdktf; "
        f"{imports}; "
        "from main import release_jsii_runtime; release_jsii_runtime(); "
        "sys.stdout.flush(); sys.stderr.flush(); os._exit(0)"
    )
    return [sys.executable, "-c", code]


def child_environment(**overrides: str) -> dict[str, str]:
    environment = dict(os.environ)
    for name in ("ESO_CONFIG_DIR", "ESO_ENVIRONMENTS", NORMAL_IMPORT_VARIABLE, "CDKTF_OUTDIR"):
        environment.pop(name, None)
    environment.update(overrides)
    return environment


def distinct_value(value: object, key: str, index: int) -> str | None:
    """Return the value of `key` for copy number `index`, or None to keep `value`."""
    if not isinstance(value, str) or not value:
        return None
    if UUID_PATTERN.match(value):
        return f"{value[:-12]}{index:012x}"
    if key in NUMBER_KEYS and value.isdigit():
        return f"{(int(value) + index) % 10 ** len(value):0{len(value)}d}"
    if key in NAME_KEYS or key.endswith("_name"):
        return f"{value}-{index:02d}"
    return None


def identifying_values(data: object, key: str = "") -> list[tuple[str, str]]:
    """Return (key, value) for every value in `data` that a copy must change."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        for child_key, child in data.items():
            found.extend(identifying_values(child, str(child_key)))
    elif isinstance(data, list):
        for child in data:
            found.extend(identifying_values(child, key))
    elif distinct_value(data, key, 1) is not None:
        found.append((key, str(data)))
    return found


def write_copies(example: EnvironmentFile, count: int, folder: Path) -> list[str]:
    """Write `count` copies of `example` into `folder`, each with distinct resource names and ids."""
    import yaml

    text = example.path.read_text()
    values = identifying_values(yaml.safe_load(text))
    names = []
    for index in range(1, count + 1):
        copy = text
        # Longest first, so that a value containing another is replaced whole.
        for key, value in sorted(set(values), key=lambda item: -len(item[1])):
            replacement = distinct_value(value, key, index)
            copy = re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w])", replacement, copy)
        name = f"{example.name}-{index:02d}"
        (folder / f"{name}.yaml").write_text(copy)
        names.append(name)
    return names


def format_ratio(numerator: float, denominator: float, target: str) -> str:
    return f"{numerator / denominator:5.2f}x (target {target})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each case; medians are printed (default: 5)")
    parser.add_argument("--copies", type=int, default=50, help="environments in the many-copies case (default: 50)")
    parser.add_argument("--clouds", help="comma-separated clouds to measure (default: every cloud in config/)")
    parser.add_argument("--skip-naive", action="store_true", help="skip the slow naive floor")
    options = parser.parse_args()

    silence_node_20_warning()
    examples = load_environments(sorted(EXAMPLES_DIR.glob("*.yaml")))
    by_cloud: dict[str, list[EnvironmentFile]] = {}
    for example in examples:
        by_cloud.setdefault(example.config.cloud, []).append(example)
    clouds = options.clouds.split(",") if options.clouds else sorted(by_cloud)

    work = Path(tempfile.mkdtemp(prefix="eso-oidc-bench-"))
    try:
        return run_benchmark(options, examples, by_cloud, clouds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_benchmark(options, examples, by_cloud, clouds, work: Path) -> int:  # type: ignore[no-untyped-def]
    synth = [sys.executable, "main.py"]
    outdir = str(work / "cdktf.out")
    groups: list[tuple[str, list[str], list[str]]] = [
        (cloud, [by_cloud[cloud][0].name], provider_packages([cloud])) for cloud in clouds
    ]
    groups.append(("all examples", [example.name for example in examples], provider_packages(by_cloud)))

    cases: dict[tuple[str, str], Case] = {}
    for label, names, packages in groups:
        environment = child_environment(ESO_CONFIG_DIR=str(EXAMPLES_DIR), ESO_ENVIRONMENTS=",".join(names), CDKTF_OUTDIR=outdir)
        cases[(label, "synth")] = Case(f"{label}: synth", synth, environment)
        cases[(label, "assembly")] = Case(f"{label}: assembly floor", assembly_floor_command(packages), environment)
        if not options.skip_naive:
            cases[(label, "naive")] = Case(f"{label}: naive floor", naive_floor_command(packages), environment)

    many_cloud = clouds[0]
    copies_dir = work / "copies"
    copies_dir.mkdir()
    copy_names = write_copies(by_cloud[many_cloud][0], options.copies, copies_dir)
    try:
        load_environments(sorted(copies_dir.glob("*.yaml")))
    except ConfigError as error:
        print(f"skipping the {options.copies}-copies case, the copies are invalid:\n{error}", file=sys.stderr)
    else:
        environment = child_environment(ESO_CONFIG_DIR=str(copies_dir), CDKTF_OUTDIR=outdir)
        cases[("many", "synth")] = Case(f"{many_cloud}: {options.copies} environments", synth, environment)

    print(f"{len(cases)} cases x {options.runs} runs; clouds: {', '.join(clouds)}", file=sys.stderr)
    for run in range(options.runs):
        for case in cases.values():
            case.runs.append(measure(case.command, case.environment))
            print(f"  run {run + 1}: {case.label}: {case.runs[-1].wall:.2f} s", file=sys.stderr)

    print_results(cases, groups, options, many_cloud)
    return 0


def print_results(cases, groups, options, many_cloud) -> None:  # type: ignore[no-untyped-def]
    print(
        f"\nmedians of {options.runs} runs: wall time and CPU time (user + system, sampled) in seconds, "
        "peak memory of the process tree in MiB\n"
    )
    print(f"{'case':<42} {'wall':>7} {'cpu':>7} {'peak':>7}")
    for case in cases.values():
        print(f"{case.label:<42} {case.median_wall():7.2f} {case.median_cpu():7.2f} {case.median_peak_mb():7.0f}")

    print("\nratios")
    for label, _, _ in groups:
        synth, assembly = cases[(label, "synth")], cases[(label, "assembly")]
        target = "<= 1.3"
        print(f"{label}: synth / assembly floor, wall: {format_ratio(synth.median_wall(), assembly.median_wall(), target)}")
        print(f"{label}: synth / assembly floor, cpu:  {format_ratio(synth.median_cpu(), assembly.median_cpu(), target)}")
        if label != "all examples":
            print(
                f"{label}: synth / assembly floor, peak: "
                f"{format_ratio(synth.median_peak_mb(), assembly.median_peak_mb(), '<= 1.1')}"
            )
        if (label, "naive") in cases:
            naive = cases[(label, "naive")]
            print(f"{label}: synth / naive floor, wall:    {format_ratio(synth.median_wall(), naive.median_wall(), '<= 0.3')}")
    if ("many", "synth") in cases:
        many, one = cases[("many", "synth")], cases[(many_cloud, "synth")]
        print(
            f"{many_cloud}: {options.copies} environments / 1, wall: "
            f"{format_ratio(many.median_wall(), one.median_wall(), '<= 1.3')}"
        )
        print(
            f"{many_cloud}: {options.copies} environments / 1, cpu:  "
            f"{format_ratio(many.median_cpu(), one.median_cpu(), '<= 1.3')}"
        )

    exit_times = [seconds for case in cases.values() for seconds in case.exit_times()]
    if exit_times:
        print(
            f"\nend of synthesis to process exit: median {statistics.median(exit_times):.3f} s, "
            f"max {max(exit_times):.3f} s over {len(exit_times)} runs (target < 0.5 s)"
        )
    print(f"\n{os.cpu_count()} cores, Node {node_version()}, Python {sys.version.split()[0]}")


def node_version() -> str:
    node = os.environ.get("JSII_NODE", "node")
    try:
        return subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except OSError as error:
        return f"unknown ({error})"


if __name__ == "__main__":
    sys.exit(main())
