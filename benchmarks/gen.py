"""Benchmark `contracts gen` (issue 3) on a synthetic 1,000-file registry, measured side by side.

Prints, in one run:
- contracts gen (cold: no stamp, warm image cache) / raw `buf generate` with the same plugins;
- a no-op `contracts gen` (nothing changed);
- Topic.encode (bytes + headers) / bare SerializeToString in Python.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

from synthetic import write_registry

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
CONTRACTS = str(VENV_BIN / "contracts")
BUF = str(VENV_BIN / "buf")
REPEATS = 3


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed


def raw_buf_template(registry: Path, env: dict[str, str]) -> str:
    """The same plugins contracts gen runs, as a buf.gen.yaml would list them."""
    sys.path.insert(0, str(ROOT))
    os.environ["CONTRACTS_CACHE"] = env["CONTRACTS_CACHE"]
    from contracts_cli.config import open_root
    from contracts_cli.generate import go, python, rust
    from contracts_cli.load import load_registry

    root = open_root(registry)
    model = load_registry(root)
    plugins = [p for module in (python, go, rust) for p in module.plugins(model, root.settings)]
    return json.dumps({"version": "v2", "plugins": plugins})


def gen_ratio(registry: Path, env: dict[str, str]) -> tuple[list[float], list[float], list[float]]:
    template = raw_buf_template(registry, env)
    ours, raw, noop = [], [], []
    for _ in range(REPEATS):
        shutil.rmtree(registry / "generated", ignore_errors=True)
        shutil.rmtree(Path(env["CONTRACTS_CACHE"]) / "gen-stamps", ignore_errors=True)
        ours.append(timed([CONTRACTS, "gen"], registry, env))
        noop.append(timed([CONTRACTS, "gen"], registry, env))
        out = Path(tempfile.mkdtemp(prefix="raw-buf-"))
        raw.append(timed([BUF, "generate", "--template", template, "-o", str(out)], registry, env))
        shutil.rmtree(out)
    return ours, raw, noop


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


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="contracts-bench-") as scratch:
        registry = write_registry(Path(scratch) / "registry")
        env = {**os.environ, "CONTRACTS_CACHE": str(Path(scratch) / "cache")}
        # Reuse the installed code generator plugins instead of timing their installation.
        tools = Path(os.environ.get("CONTRACTS_CACHE", Path.home() / ".cache" / "contracts")) / "tools"
        if tools.is_dir():
            shutil.copytree(tools, Path(scratch) / "cache" / "tools", symlinks=True)
        timed([CONTRACTS, "lint"], registry, env)  # warm buf's and our image caches once
        ours, raw, noop = gen_ratio(registry, env)
        print("contracts gen on 1,000 files / 3,000 messages (python + pyi + go + prost):")
        print(f"  contracts gen          median {statistics.median(ours):.2f} s  {[f'{t:.2f}' for t in ours]}")
        print(f"  raw buf generate       median {statistics.median(raw):.2f} s  {[f'{t:.2f}' for t in raw]}")
        print(f"  ratio gen / buf        {statistics.median(ours) / statistics.median(raw):.2f}  (target <= 1.3)")
        print(f"  no-op contracts gen    median {statistics.median(noop):.3f} s  (target < 0.3 s)")
    print("Python encode:")
    print(f"  ratio encode / bare    {encode_ratio():.2f}  (target <= 1.3)")


if __name__ == "__main__":
    main()
