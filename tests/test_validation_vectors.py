"""Field rules give the same violations in Python, Go and Rust (docs/runtime.md, "Field rules").

tests/vectors/validation holds the test contract and the vectors; each language's program prints,
for every vector, the `(rule_id, field)` pairs its runtime reports, and the three must agree with
each other and with the violations the vector states. Message texts differ between the protovalidate
libraries and are not compared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from contracts_cli.generate.tools import protoc_wrapper

from tests.programs import build_go_and_rust

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
VECTORS_DIR = ROOT / "tests" / "vectors" / "validation"
VECTORS = VECTORS_DIR / "vectors.json"

# The Python side, in a process of its own: it compiles the test contract beside protovalidate's
# rules and reports through the runtime, as the Go and Rust programs do.
PYTHON_PROGRAM = """
import json, shutil, sys
from importlib import resources
from pathlib import Path
from grpc_tools import protoc
out, proto_dir, third_party, vectors = (Path(a) for a in sys.argv[1:5])
shutil.copytree(third_party / "buf", out / "buf", dirs_exist_ok=True)
shutil.copytree(proto_dir / "validation", out / "validation", dirs_exist_ok=True)
status = protoc.main(["protoc", f"-I{out}", f"-I{resources.files('grpc_tools') / '_proto'}", f"--python_out={out}",
                      "buf/validate/validate.proto", "validation/v1/validation.proto"])
assert status == 0, "protoc failed"
sys.path.insert(0, str(out))
from google.protobuf import json_format
from validation.v1 import validation_pb2
from contracts_runtime.validation import violations
results = []
for vector in json.loads(vectors.read_text()):
    message = getattr(validation_pb2, vector["type"].rsplit(".", 1)[1])()
    json_format.ParseDict(vector["message"], message)
    found = [{"rule_id": v.rule_id, "field": v.field} for v in violations(message)]
    results.append({"id": vector["id"], "type": vector["type"], "violations": found})
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    # prost-protovalidate-types' build script needs a protoc; grpcio-tools bundles one.
    os.environ.setdefault("PROTOC", str(protoc_wrapper()))
    return build_go_and_rust(
        VECTORS_DIR,
        tmp_path_factory.mktemp("validation-vectors"),
        "validation-vectors-go",
        "validation-vectors",
        "the validation vectors",
    )


def report(language: str, programs: dict[str, Path], tmp_path: Path) -> list[dict[str, Any]]:
    if language == "python":
        command = [
            sys.executable,
            "-c",
            PYTHON_PROGRAM,
            str(tmp_path),
            str(VECTORS_DIR / "proto"),
            str(ROOT / "third_party"),
            str(VECTORS),
        ]
    else:
        command = [str(programs[language]), str(VECTORS)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode in (0, 1), f"{language}: {result.stderr}"
    reported: list[dict[str, Any]] = json.loads(result.stdout)
    return reported


def test_every_language_reports_the_stated_violations(programs: dict[str, Path], tmp_path: Path) -> None:
    vectors = json.loads(VECTORS.read_text())
    stated = {v["id"]: v["violations"] for v in vectors}
    assert len(stated) == len(vectors) >= 10 and any(stated.values()) and not all(stated.values())
    by_language = {language: report(language, programs, tmp_path / language) for language in ("python", "go", "rust")}
    for language, results in by_language.items():
        assert [r["id"] for r in results] == list(stated), language
        mismatches = [
            f"{language} {r['id']}: {r['violations']} != {stated[r['id']]}"
            for r in results
            if r["violations"] != stated[r["id"]]
        ]
        assert not mismatches, "\n".join(mismatches)
    assert by_language["python"] == by_language["go"] == by_language["rust"]
