"""What field rules cost: validation per record against encoding it, for a message with five rules.

Prints, in one run, per language, nanoseconds per record (median of --rounds rounds) for:

- encode: the record's bytes (Python: `Topic.encode`, the envelope included, and bare
  `SerializeToString`)
- validate, valid: protovalidate on a message that passes all five rules (what `Producer.send`
  adds in mode "reject")
- validate, invalid: the same message breaking all five rules (violations built, rule ids and paths)
- no rules: the check `send` makes for a message type without rules

and the ratio validate / encode. The contract (`BENCH_PROTO`: min_len, email, enum defined_only,
int64 gt and a CEL rule across two fields) and the two messages (`VALID`, `INVALID`) are the same
for every language.

The Go and Rust parts are programs in benchmarks/native/{go,rust}: `native_figures` runs each
with `validation --proto-dir DIR --records N` (DIR holds bench_validation/v1/account.proto and
buf/validate/validate.proto, written by `write_contract`) and reads one JSON line
`{"encode_ns": ..., "validate_ns": ..., "invalid_ns": ...}`; a language whose program does not
answer that is reported as not available.

    .venv/bin/python benchmarks/validation.py [--records 20000] [--rounds 5] [--languages python,go,rust]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "runtime" / "python" / "src")]

from contracts_runtime import Topic  # noqa: E402
from contracts_runtime.validation import violations  # noqa: E402

BENCH_PROTO = """syntax = "proto3";

package bench_validation.v1;

import "buf/validate/validate.proto";

enum Plan {
  PLAN_UNSPECIFIED = 0;
  PLAN_FREE = 1;
  PLAN_PAID = 2;
}

// Five rules: min_len, email, enum defined_only, int64 gt, and a CEL rule across two fields.
message Account {
  option (buf.validate.message).cel = {
    id: "account.window"
    message: "ends_at must come after starts_at"
    expression: "this.ends_at > this.starts_at"
  };
  string account_id = 1 [(buf.validate.field).string.min_len = 1];
  string email = 2 [(buf.validate.field).string.email = true];
  Plan plan = 3 [(buf.validate.field).enum.defined_only = true];
  int64 credit_cents = 4 [(buf.validate.field).int64.gt = 0];
  int64 starts_at = 5;
  int64 ends_at = 6;
  string note = 7;
}

// The same fields without rules.
message Plain {
  string account_id = 1;
  string email = 2;
  int32 plan = 3;
  int64 credit_cents = 4;
  int64 starts_at = 5;
  int64 ends_at = 6;
  string note = 7;
}
"""
VALID: dict[str, Any] = {
    "account_id": "acct-0042",
    "email": "ada@example.com",
    "plan": 1,
    "credit_cents": 1250,
    "starts_at": 1_764_000_000,
    "ends_at": 1_764_086_400,
    "note": "a short note that makes the record about a hundred bytes long",
}
INVALID: dict[str, Any] = {**VALID, "account_id": "", "email": "not-an-address", "plan": 9, "credit_cents": 0,
                           "ends_at": 1_763_000_000}  # fmt: skip
RULE_IDS = ["account.window", "string.min_len", "string.email", "enum.defined_only", "int64.gt"]


def write_contract(directory: Path) -> Path:
    """The benchmark's contract and the vendored validate.proto under `directory` (a protoc -I root)."""
    source = directory / "bench_validation" / "v1" / "account.proto"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(BENCH_PROTO)
    vendored = directory / "buf" / "validate" / "validate.proto"
    vendored.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "third_party" / "buf" / "validate" / "validate.proto", vendored)
    return source


def compile_python(directory: Path) -> Any:
    from grpc_tools import protoc  # type: ignore[import-untyped]

    source = write_contract(directory)
    status = protoc.main(
        [
            "protoc",
            f"-I{directory}",
            f"-I{resources.files('grpc_tools') / '_proto'}",
            f"--python_out={directory}",
            "buf/validate/validate.proto",
            str(source.relative_to(directory)),
        ]
    )
    if status != 0:
        raise SystemExit("protoc failed on the benchmark contract")
    sys.path.insert(0, str(directory))
    return importlib.import_module("bench_validation.v1.account_pb2")


@dataclass(frozen=True)
class Figures:
    """Nanoseconds per record."""

    language: str
    encode_ns: float
    validate_ns: float
    invalid_ns: float
    serialize_ns: float | None = None  # bare serialization, where it differs from `encode`
    no_rules_ns: float | None = None


def per_record_ns(call: Callable[[], object], records: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        for _ in range(records):
            call()
        samples.append((time.perf_counter_ns() - started) / records)
    return statistics.median(samples)


def python_figures(records: int, rounds: int) -> Figures:
    with tempfile.TemporaryDirectory(prefix="bench-validation-") as directory:
        pb = compile_python(Path(directory))
        valid, invalid = pb.Account(**VALID), pb.Account(**INVALID)
        found = [item.rule_id for item in violations(invalid)]
        if found != RULE_IDS or violations(valid):
            raise SystemExit(f"the benchmark contract does not behave as expected: {found}")
        accounts: Topic[Any] = Topic("bench.accounts.v1", pb.Account, key_field="account_id")
        plain_topic: Topic[Any] = Topic("bench.plain.v1", pb.Plain, key_field="account_id")
        per_record_ns(lambda: violations(valid), 1000, 1)  # warm-up: protovalidate compiles the rules once
        return Figures(
            "python",
            encode_ns=per_record_ns(lambda: accounts.encode(valid), records, rounds),
            validate_ns=per_record_ns(lambda: accounts.check_send(valid), records, rounds),
            invalid_ns=per_record_ns(lambda: violations(invalid), records, rounds),
            serialize_ns=per_record_ns(valid.SerializeToString, records, rounds),
            # What send() does for a type without rules: one attribute read.
            no_rules_ns=per_record_ns(lambda: plain_topic._send_check is not None, records, rounds),
        )


# The Go and Rust programs (benchmarks/native/<language>) time the same five-rule shape with the
# validation vectors' Signup (tests/vectors/validation) and print their own table, ratios included.
NATIVE_COMMANDS = {
    "go": ["go", "run", "./validationbench", "-records", "1024"],
    "rust": ["cargo", "run", "--quiet", "--release", "--features", "validate", "--bin", "validation", "--", "1024"],
}


def native_report(language: str) -> str:
    """What benchmarks/native/<language> prints, or why it could not run."""
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", str(ROOT / ".cache" / "cargo-target"))
    env.setdefault("PROTOC", str(_protoc_wrapper()))  # prost-protovalidate-types' build script needs one
    try:
        result = subprocess.run(
            NATIVE_COMMANDS[language], cwd=ROOT / "benchmarks" / "native" / language, env=env,
            capture_output=True, text=True, timeout=1800, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{language}: not available ({error})"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"{language}: not available ({last[:160]})"
    return result.stdout.rstrip()


def _protoc_wrapper() -> Path:
    wrapper = Path(tempfile.gettempdir()) / "contracts-bench-protoc"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m grpc_tools.protoc "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def render(rows: list[Figures | tuple[str, str]]) -> str:
    lines = [
        "validation per record against encoding, message with five rules (ns per record, median)",
        f"{'language':<8} {'encode':>9} {'validate':>9} {'ratio':>6} {'invalid':>9} {'serialize':>10} {'no rules':>9}",
    ]
    for row in rows:
        if isinstance(row, tuple):
            lines.append(f"{row[0]:<8} {row[1]}")
            continue
        serialize = "" if row.serialize_ns is None else f"{row.serialize_ns:10.0f}"
        no_rules = "" if row.no_rules_ns is None else f"{row.no_rules_ns:9.0f}"
        lines.append(
            f"{row.language:<8} {row.encode_ns:9.0f} {row.validate_ns:9.0f} {row.validate_ns / row.encode_ns:5.1f}x"
            f" {row.invalid_ns:9.0f} {serialize:>10} {no_rules:>9}"
        )
    lines.append(
        "encode: the record (Python: Topic.encode, envelope included); validate: a valid message; "
        "invalid: all five rules broken; serialize: bare SerializeToString; no rules: send's check "
        "for a type without rules"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--languages", default="python,go,rust")
    options = parser.parse_args()
    languages = options.languages.split(",")
    if "python" in languages:
        print(render([python_figures(options.records, options.rounds)]))
    for language in (name for name in languages if name in NATIVE_COMMANDS):
        print(f"\n{native_report(language)}")


if __name__ == "__main__":
    main()
