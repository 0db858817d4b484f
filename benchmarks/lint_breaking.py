"""Benchmark `contracts lint` + `contracts breaking` against raw `buf lint` + `buf breaking` (issue 2).

Builds the synthetic registry of benchmarks/synthetic.py (1,000 files, about 3,000
messages, documented fields, ten shared packages imported everywhere), binds one
message of every file that has no topic yet (so about a third of the messages are
bound), commits it on main in a temporary git repository, makes one small breaking
edit, then times on the same tree, in one run:

- cold: the first run of each side with empty caches (contracts: no compiled
  images; buf: an empty BUF_CACHE_DIR);
- warm: --repeats runs of each side, alternating which side goes first.

Both wall-clock and CPU seconds (user + system of every process a side starts) are
reported: on a shared machine the CPU figure is the one that load does not skew.

Each side is the pair a CI job runs: `contracts lint` + `contracts breaking --against main`
versus `buf lint` + `buf breaking --against .git#ref=main`, both with the pinned buf
beside this interpreter. The ratio is contracts / buf; the target is <= 0.7.

Then, on the same registry and unless --no-gen, the figures of benchmarks/gen.py: gen against
raw buf generate, gen after a one-file edit, and a no-op gen, so that one run prints them all.

    .venv/bin/python benchmarks/lint_breaking.py [--files 1000] [--repeats 5] [--gen-repeats 3] [--no-gen]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gen import gen_figures, print_gen_figures
from synthetic import write_registry

VENV_BIN = Path(sys.executable).parent
CONTRACTS = str(VENV_BIN / "contracts")
BUF = str(VENV_BIN / "buf")
TARGET_RATIO = 0.7
GIT_IDENTITY = [
    "-c",
    "user.name=benchmark",
    "-c",
    "user.email=benchmark@contracts.invalid",
    "-c",
    "commit.gpgsign=false",
]
# A field of an unbound message renamed: buf's FILE rules and contracts (source level, the default) both flag it.
EDIT_FILE = "proto/domain7/v1/events.proto"
EDIT_OLD, EDIT_NEW = "bool soft = 2;", "bool is_soft = 2;"


@dataclass(frozen=True)
class Side:
    name: str
    commands: tuple[tuple[str, ...], ...]
    expected_exit: tuple[int, ...]  # per command: lint clean, breaking flags the edit


CONTRACTS_SIDE = Side(
    "contracts",
    ((CONTRACTS, "lint"), (CONTRACTS, "breaking", "--against", "main")),
    (0, 1),
)
BUF_SIDE = Side(
    "buf",
    ((BUF, "lint"), (BUF, "breaking", "--against", ".git#ref=main")),
    (0, 100),
)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000, help="proto files in the synthetic registry")
    parser.add_argument("--repeats", type=int, default=5, help="warm runs of each side")
    parser.add_argument("--gen-repeats", type=int, default=3, help="rounds of the gen figures")
    parser.add_argument("--no-gen", action="store_true", help="time lint + breaking only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    args = parser.parse_args(argv)

    workspace = Path(tempfile.mkdtemp(prefix="contracts-bench-"))
    try:
        registry = prepare_registry(workspace / "registry", args.files)
        print(describe(registry))
        sides = (CONTRACTS_SIDE, BUF_SIDE)
        cold = {side.name: run_side(side, registry, fresh_env(workspace, f"cold-{side.name}")) for side in sides}
        warm_envs = {side.name: fresh_env(workspace, f"warm-{side.name}") for side in sides}
        for side in sides:  # fill the warm caches before timing
            run_side(side, registry, warm_envs[side.name])
        warm: dict[str, list[Timing]] = {side.name: [] for side in sides}
        for repeat in range(args.repeats):
            order = (CONTRACTS_SIDE, BUF_SIDE) if repeat % 2 == 0 else (BUF_SIDE, CONTRACTS_SIDE)
            for side in order:
                warm[side.name].append(run_side(side, registry, warm_envs[side.name]))
        report(cold, warm)
        if not args.no_gen:
            gen_env = warm_envs["contracts"]
            tools = Path(os.environ.get("CONTRACTS_CACHE", Path.home() / ".cache" / "contracts")) / "tools"
            if tools.is_dir():  # reuse the installed code generator plugins instead of timing their installation
                shutil.copytree(tools, Path(gen_env["CONTRACTS_CACHE"]) / "tools", symlinks=True, dirs_exist_ok=True)
            print_gen_figures(args.files, gen_figures(registry, gen_env, workspace, args.gen_repeats))
    finally:
        if args.keep:
            print(f"kept {workspace}")
        else:
            shutil.rmtree(workspace, ignore_errors=True)


def prepare_registry(target: Path, files: int) -> Path:
    write_registry(target, files)
    for events in sorted((target / "proto").glob("domain*/v1/events.proto")):
        bind_deleted_message(events)
    git(target, "init", "--quiet", "-b", "main")
    git(target, "add", "--all")
    git(target, "commit", "--quiet", "-m", "synthetic registry")
    edited = target / EDIT_FILE
    text = edited.read_text(encoding="utf-8")
    if text.count(EDIT_OLD) != 1:
        raise SystemExit(f"{EDIT_FILE} no longer holds {EDIT_OLD!r}: update the benchmark's edit")
    edited.write_text(text.replace(EDIT_OLD, EDIT_NEW), encoding="utf-8")
    return target


def bind_deleted_message(events: Path) -> None:
    """Bind Deleted<N> to a topic in a synthetic file whose Created<N> is not bound."""
    text = events.read_text(encoding="utf-8")
    if "option (contracts.v1.topic)" in text:
        return
    index = events.parent.parent.name.removeprefix("domain")
    package_line, message_line = f"package domain{index}.v1;\n\n", f"message Deleted{index} {{\n"
    if text.count(package_line) != 1 or text.count(message_line) != 1:
        raise SystemExit(f"{events} is not shaped as benchmarks/synthetic.py used to write it: update the benchmark")
    option = f'  option (contracts.v1.topic) = {{name: "domain{index}.deleted.v1" key: "id" partitions: 3}};\n\n'
    text = text.replace(package_line, package_line + 'import "contracts/v1/options.proto";\n')
    events.write_text(text.replace(message_line, message_line + option), encoding="utf-8")


def describe(registry: Path) -> str:
    protos = list((registry / "proto").rglob("*.proto"))
    texts = [path.read_text(encoding="utf-8") for path in protos]
    messages = sum(text.count("\nmessage ") for text in texts)
    topics = sum(text.count("option (contracts.v1.topic)") for text in texts)
    edit = f"{EDIT_FILE}: {EDIT_OLD} -> {EDIT_NEW}"
    return f"registry: {len(protos)} files, {messages} messages, {topics} topics; edit: {edit}"


def fresh_env(workspace: Path, label: str) -> dict[str, str]:
    env = dict(os.environ)
    env["CONTRACTS_CACHE"] = str(workspace / label / "contracts")
    env["BUF_CACHE_DIR"] = str(workspace / label / "buf")
    return env


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_side(side: Side, registry: Path, env: dict[str, str]) -> Timing:
    """The side's commands one after the other, as a CI job runs them."""
    start, start_cpu = time.perf_counter(), children_cpu()
    for command, expected in zip(side.commands, side.expected_exit, strict=True):
        result = subprocess.run(command, cwd=registry, env=env, capture_output=True, text=True, check=False)
        if result.returncode != expected:
            raise SystemExit(
                f"{' '.join(command)} exited {result.returncode}, expected {expected}:\n{result.stdout}{result.stderr}"
            )
    return Timing(time.perf_counter() - start, children_cpu() - start_cpu)


def report(cold: dict[str, Timing], warm: dict[str, list[Timing]]) -> None:
    def row(label: str, contracts: float, buf: float) -> str:
        return f"{label:<24} contracts {contracts:6.2f} s   buf {buf:6.2f} s   ratio {contracts / buf:5.2f}"

    def pick(timing: Timing, measure: str) -> float:
        return timing.wall if measure == "wall" else timing.cpu

    def median(side: str, measure: str) -> float:
        return statistics.median(pick(timing, measure) for timing in warm[side])

    def best(side: str, measure: str) -> float:
        return min(pick(timing, measure) for timing in warm[side])

    runs = len(warm["contracts"])
    for measure in ("wall", "cpu"):
        print(f"{measure} seconds, lint + breaking:")
        print(row("  cold (first run)", pick(cold["contracts"], measure), pick(cold["buf"], measure)))
        print(row(f"  warm median of {runs}", median("contracts", measure), median("buf", measure)))
        print(row("  warm best", best("contracts", measure), best("buf", measure)))
    for side in ("contracts", "buf"):
        print(f"warm wall runs, {side}: " + " ".join(f"{timing.wall:.2f}" for timing in warm[side]))
    ratio = median("contracts", "wall") / median("buf", "wall")
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    print(f"ratio (warm wall median) {ratio:.2f}: {verdict} the target of <= {TARGET_RATIO}")
    print(f"load average at the end: {' '.join(f'{load:.2f}' for load in os.getloadavg())} on {os.cpu_count()} CPUs")


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, check=True, capture_output=True)


if __name__ == "__main__":
    main()
