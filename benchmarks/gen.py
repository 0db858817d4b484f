"""Benchmark `contracts gen` (issues 3 and 14) on a synthetic registry, measured side by side.

Prints, in one run:
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


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed


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
    ours: list[float]
    raw: list[float]
    one_file: list[float]
    noop: list[float]


def gen_figures(registry: Path, env: dict[str, str], scratch: Path, repeats: int) -> GenFigures:
    """Full gen, raw generate, gen after a one-file edit and a no-op gen, alternating, `repeats` times."""
    template = raw_buf_template(registry, env, scratch)
    figures = GenFigures([], [], [], [])
    edited = registry / ONE_FILE
    original = edited.read_text(encoding="utf-8")
    for repeat in range(repeats):
        shutil.rmtree(registry / "generated", ignore_errors=True)
        shutil.rmtree(Path(env["CONTRACTS_CACHE"]) / "gen-stamps", ignore_errors=True)
        edited.write_text(original, encoding="utf-8")
        figures.ours.append(timed([CONTRACTS, "gen"], registry, env))
        figures.noop.append(timed([CONTRACTS, "gen"], registry, env))
        # A new field in one file of the registry: only that package's output changes.
        edited.write_text(original.replace(ONE_FILE_ANCHOR, ONE_FILE_ANCHOR + ONE_FILE_FIELD.format(repeat)), "utf-8")
        figures.one_file.append(timed([CONTRACTS, "gen"], registry, env))
        out = scratch / f"raw-{repeat}"
        figures.raw.append(timed([BUF, "generate", "--template", str(template), "-o", str(out)], registry, env))
        shutil.rmtree(out)
    edited.write_text(original, encoding="utf-8")
    return figures


def print_gen_figures(files: int, figures: GenFigures) -> None:
    def runs(values: list[float]) -> str:
        return " ".join(f"{value:.2f}" for value in values)

    ours, raw = statistics.median(figures.ours), statistics.median(figures.raw)
    one_file, noop = statistics.median(figures.one_file), statistics.median(figures.noop)
    print(f"contracts gen on {files:,} files (python + pyi + go + prost), medians of {len(figures.ours)}:")
    print(f"  contracts gen          {ours:7.2f} s   runs {runs(figures.ours)}")
    print(f"  raw buf generate       {raw:7.2f} s   runs {runs(figures.raw)}")
    print(f"  ratio gen / raw        {ours / raw:7.2f}     (target <= 1.2)")
    print(f"  gen after a one-file edit {one_file:7.2f} s   runs {runs(figures.one_file)}")
    print(f"  ratio one-file / raw   {one_file / raw:7.2f}     (target <= 0.2)")
    target = 0.2 if files <= 1000 else 1.0
    print(f"  no-op contracts gen    {noop:7.3f} s   runs {runs(figures.noop)}  (target < {target} s)")


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
