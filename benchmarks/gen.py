"""Benchmark `contracts gen` (issues 3 and 14) on a synthetic registry, measured side by side.

Prints, in one run, each as the median wall time and the median CPU time (user + system of the
command and everything it started: on a shared machine CPU time is the steadier figure):
- contracts gen (no stamp, warm image cache) / raw `buf generate` with the same plugins;
- contracts gen after a one-file edit (its compilation included) / raw full `buf generate`;
- a no-op `contracts gen` (nothing changed);
- with --encode, Topic.encode (bytes + headers) / bare SerializeToString in Python.

    .venv/bin/python benchmarks/gen.py [--files 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from synthetic import write_registry

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CONTRACTS = str(VENV_BIN / "contracts")
BUF = str(VENV_BIN / "buf")
# The one-file edit: a new field in one domain file (its package's output changes, nothing else).
ONE_FILE = "proto/domain8/v1/events.proto"
ONE_FILE_ANCHOR = "  bool soft = 2;\n"
ONE_FILE_FIELD = "  // Added by the benchmark.\n  string note_{} = 3;\n"


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float  # user + system seconds of the command and of every process it waited for


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> Timing:
    cpu_before, start = _children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu_before
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return Timing(elapsed, cpu)


def raw_buf_template(registry: Path, env: dict[str, str], scratch: Path) -> Path:
    """The same plugins contracts gen runs, as a buf.gen.yaml would list them (a file: at 10,000
    files the Go import mappings are longer than the kernel allows a command-line argument to be)."""
    sys.path.insert(0, str(ROOT))
    os.environ["CONTRACTS_CACHE"] = env["CONTRACTS_CACHE"]
    from contracts_cli.config import open_root
    from contracts_cli.generate import go, python, rust
    from contracts_cli.load import load_registry

    root = open_root(registry)
    model = load_registry(root)
    plugins = [p for module in (python, go, rust) for p in module.plugins(model, root.settings)]
    template = scratch / "buf.gen.json"
    template.write_text(json.dumps({"version": "v2", "plugins": plugins}), encoding="utf-8")
    return template


@dataclass
class GenFigures:
    ours: list[Timing]
    raw: list[Timing]
    one_file: list[Timing]
    noop: list[Timing]


def gen_figures(registry: Path, env: dict[str, str], scratch: Path, repeats: int) -> GenFigures:
    """Full gen, raw generate, gen after a one-file edit and a no-op gen, alternating, `repeats` times."""
    template = raw_buf_template(registry, env, scratch)
    figures = GenFigures([], [], [], [])
    edited = registry / ONE_FILE
    original = edited.read_text(encoding="utf-8")
    for repeat in range(repeats):
        shutil.rmtree(registry / "generated", ignore_errors=True)
        shutil.rmtree(Path(env["CONTRACTS_CACHE"]) / "gen-stamps", ignore_errors=True)
        figures.ours.append(timed([CONTRACTS, "gen"], registry, env))
        figures.noop.append(timed([CONTRACTS, "gen"], registry, env))
        # A new field in one file of the registry: only that package's output changes.
        edited.write_text(original.replace(ONE_FILE_ANCHOR, ONE_FILE_ANCHOR + ONE_FILE_FIELD.format(repeat)), "utf-8")
        figures.one_file.append(timed([CONTRACTS, "gen"], registry, env))
        # Restored before the raw run, so that by the next full gen the file is seconds old: gen does
        # not trust the stats of a file modified within 2 s, and the no-op would hash every file.
        edited.write_text(original, encoding="utf-8")
        out = scratch / f"raw-{repeat}"
        figures.raw.append(timed([BUF, "generate", "--template", str(template), "-o", str(out)], registry, env))
        shutil.rmtree(out)
    return figures


def print_gen_figures(files: int, figures: GenFigures) -> None:
    def median(values: list[Timing], kind: str) -> float:
        return statistics.median(value.wall if kind == "wall" else value.cpu for value in values)

    def line(label: str, values: list[Timing], digits: int = 2) -> None:
        wall, cpu = median(values, "wall"), median(values, "cpu")
        runs = " ".join(f"{value.wall:.{digits}f}" for value in values)
        print(f"  {label:<26} wall {wall:7.{digits}f} s  cpu {cpu:7.{digits}f} s   (wall runs {runs})")

    def ratio(label: str, values: list[Timing], target: float) -> None:
        wall = median(values, "wall") / median(figures.raw, "wall")
        cpu = median(values, "cpu") / median(figures.raw, "cpu")
        print(f"  {label:<26} wall {wall:7.2f}    cpu {cpu:7.2f}     (target <= {target})")

    print(f"contracts gen on {files:,} files (python + pyi + go + prost), medians of {len(figures.ours)}:")
    line("contracts gen", figures.ours)
    line("raw buf generate", figures.raw)
    ratio("ratio gen / raw", figures.ours, 1.2)
    line("gen after a one-file edit", figures.one_file)
    ratio("ratio one-file / raw", figures.one_file, 0.2)
    target = 0.2 if files <= 1000 else 1.0
    line(f"no-op gen (target < {target} s)", figures.noop, 3)


def encode_ratio() -> float:
    sys.path[:0] = [str(ROOT / "generated" / "python"), str(ROOT / "runtime" / "python" / "src")]
    from google.protobuf.timestamp_pb2 import Timestamp
    from registry_contracts.audit.v1.audit_pb2 import AuditEvent
    from registry_contracts.common.v1.common_pb2 import Actor
    from registry_contracts.topics import AUDIT_EVENTS_V1

    event = AuditEvent(
        event_id="4f1c2d9e-0b7a-4c1e-9f3a-2d5e6f7a8b9c",
        zone_id="zone-123",
        actor=Actor(id="user-42", display_name="Ada", ip_address="192.0.2.10"),
        occurred_at=Timestamp(seconds=1_764_000_000),
        labels={"request_id": "req-1", "user_agent": "curl/8"},
    )
    event.zone_deleted.zone_name = "example.com"
    bare = min(timeit.repeat(event.SerializeToString, number=20_000, repeat=7)) / 20_000
    encode = min(timeit.repeat(lambda: AUDIT_EVENTS_V1.encode(event), number=20_000, repeat=7)) / 20_000
    print(f"  SerializeToString      {bare * 1e6:7.3f} us/message")
    print(f"  Topic.encode           {encode * 1e6:7.3f} us/message (bytes + key + 6 headers)")
    return encode / bare


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000, help="proto files in the synthetic registry")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of each measurement")
    parser.add_argument("--encode", action="store_true", help="also time Topic.encode against SerializeToString")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="contracts-bench-") as scratch:
        registry = write_registry(Path(scratch) / "registry", args.files)
        env = {**os.environ, "CONTRACTS_CACHE": str(Path(scratch) / "cache")}
        # Reuse the installed code generator plugins instead of timing their installation.
        tools = Path(os.environ.get("CONTRACTS_CACHE", Path.home() / ".cache" / "contracts")) / "tools"
        if tools.is_dir():
            shutil.copytree(tools, Path(scratch) / "cache" / "tools", symlinks=True)
        timed([CONTRACTS, "lint"], registry, env)  # warm buf's and our image caches once
        print_gen_figures(args.files, gen_figures(registry, env, Path(scratch), args.repeats))
    if args.encode:
        print("Python encode:")
        print(f"  ratio encode / bare    {encode_ratio():.2f}  (target <= 1.3)")


if __name__ == "__main__":
    main()
