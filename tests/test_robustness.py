"""The registry tools on protos no one here wrote, and on every construct buf compiles (issue 14).

tests/corpus/real/ holds public proto sets trimmed with their licences (Google's common API
protos, Prometheus' metrics.proto, protobuf-go's extension and field-name test files);
tests/corpus/edge/ holds one hand-written case per construct: proto2 groups and defaults,
editions 2023 and 2024, extensions (of a bound message too), json_name and JSON-name clashes,
proto3 optional, nested and imported enums as keys, a deeply nested package, a file without a
package, services and custom options. Files under edge/proto/refused/ are what the generated
packages cannot hold: each line a registry rule must report ends in `// expect: RULE_ID`.

Every command runs as the installed CLI on one registry made of all of it; none may print a
traceback. Generated code is compiled once per language for the whole corpus.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from contracts_cli.rules import REGISTRY_RULES

from tests.programs import build_go_and_rust
from tests.registry_fixtures import (
    REPOSITORY,
    commit_all,
    contracts_env,
    git,
    run_contracts,
    session_cache,
)

CORPUS = Path(__file__).resolve().parent / "corpus"
REAL_MODULES = ("googleapis", "prometheus", "golang-protobuf")
REFUSED = "proto/refused"
# Real-world files the registry rules refuse, with the lines they name (no markers in others' files).
REAL_REFUSALS = {
    ("golang-protobuf/cmd/protoc-gen-go/testdata/fieldnames/fieldnames.proto", 31, "FIELD_JSON_NAME_COLLISION"),
    ("golang-protobuf/cmd/protoc-gen-go/testdata/fieldnames/fieldnames.proto", 33, "FIELD_JSON_NAME_COLLISION"),
}
REAL_REFUSED_FILES = {path for path, _, _ in REAL_REFUSALS}
EXPECT = re.compile(r"//\s*expect:\s*([A-Z_]+)")
REGISTRY_RULE_IDS = {rule.id for rule in REGISTRY_RULES}
GO_MODULE = "example.com/corpus/gen"
RUST_CRATE = "corpus-contracts"
PYTHON_PACKAGE = "corpus_contracts"


def write_registry(target: Path, modules: tuple[str, ...] = REAL_MODULES, refused: bool = True) -> Path:
    """The corpus as one registry: edge/proto (with the contracts option) and the real-world modules."""
    shutil.copytree(CORPUS / "edge" / "proto", target / "proto")
    options = target / "proto" / "contracts" / "v1"
    options.mkdir(parents=True)
    shutil.copy2(REPOSITORY / "proto" / "contracts" / "v1" / "options.proto", options)
    if not refused:
        shutil.rmtree(target / REFUSED)
    for module in modules:
        shutil.copytree(CORPUS / "real" / module, target / module)
        if not refused:
            for path in REAL_REFUSED_FILES:
                if path.startswith(f"{module}/"):
                    (target / path).unlink()
    listed = "".join(f"  - path: {module}\n" for module in ("proto", *modules))
    (target / "buf.yaml").write_text(
        f"version: v2\nmodules:\n{listed}lint:\n  use:\n    - STANDARD\nbreaking:\n  use:\n    - FILE\n",
        encoding="utf-8",
    )
    (target / "contracts.toml").write_text(
        f'[python]\npackage = "{PYTHON_PACKAGE}"\ndistribution = "corpus-contracts"\n\n'
        f'[go]\nmodule = "{GO_MODULE}"\nruntime_replace = "{REPOSITORY / "runtime" / "go"}"\n\n'
        f'[rust]\ncrate = "{RUST_CRATE}"\nruntime_path = "{REPOSITORY / "runtime" / "rust"}"\n',
        encoding="utf-8",
    )
    return target


def local_protos(root: Path) -> list[str]:
    """Root-relative paths of the corpus's own files (not the contracts option)."""
    return sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.proto")
        if ".git" not in path.parts and not str(path.relative_to(root)).startswith("proto/contracts/")
    )


def expected_refusals(root: Path) -> set[tuple[str, int, str]]:
    expected = set(REAL_REFUSALS)
    for relative in local_protos(root):
        for number, line in enumerate((root / relative).read_text(encoding="utf-8").splitlines(), start=1):
            for rule_id in EXPECT.findall(line):
                expected.add((relative, number, rule_id))
    return expected


def assert_no_traceback(result: subprocess.CompletedProcess[str], exit_codes: tuple[int, ...]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in exit_codes, f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    if result.returncode == 2:
        assert len(result.stderr.strip().splitlines()) == 1, f"not a one-line error:\n{result.stderr}"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return contracts_env(session_cache(tmp_path_factory))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_registry(tmp_path_factory.mktemp("corpus") / "registry")
    git(root, "init", "--quiet", "-b", "main")
    commit_all(root, "corpus")
    return root


def test_every_marker_names_a_registry_rule() -> None:
    root = CORPUS / "edge"
    markers = {rule for path in root.rglob("*.proto") for rule in EXPECT.findall(path.read_text(encoding="utf-8"))}
    assert markers and markers <= REGISTRY_RULE_IDS, markers - REGISTRY_RULE_IDS


def test_every_real_world_set_keeps_its_licence() -> None:
    for module in REAL_MODULES:
        assert (CORPUS / "real" / module / "LICENSE").is_file(), module


def test_lint_reports_each_refusal_at_its_line_and_nothing_else(corpus: Path, env: dict[str, str]) -> None:
    result = run_contracts(["lint", "--format", "json"], corpus, env)
    assert_no_traceback(result, (1,))
    findings = json.loads(result.stdout)
    ours = {(f["path"], f["line"], f["rule"]) for f in findings if f["rule"] in REGISTRY_RULE_IDS}
    assert ours == expected_refusals(corpus)
    # buf's own findings arrive with root-relative paths in every module.
    assert {f["path"].split("/", 1)[0] for f in findings} >= {"proto", *REAL_MODULES}
    assert all((corpus / f["path"]).is_file() for f in findings)


def test_topics_reads_every_binding(corpus: Path, env: dict[str, str]) -> None:
    result = run_contracts(["topics", "--format", "json"], corpus, env)
    assert_no_traceback(result, (0,))
    topics = {row["topic"]: row for row in json.loads(result.stdout)}
    assert topics["edge.orders.v1"]["key"] == "id"  # proto2, beside groups and extension ranges
    assert topics["edge.nested-enum-key.v1"]["key"] == "kind"
    assert topics["edge.pings.v1"]["file"] == "proto/edge/services/v1/services.proto"  # beside custom options
    assert topics["refused.readings.v1"]["message"] == "refused.editions.v1.Reading"  # edition 2023
    assert topics["refused.ticks.v1"]["message"] == "refused.editions.v1.Tick2024"  # edition 2024


def test_gen_refuses_what_the_rules_refuse_in_one_line(corpus: Path, env: dict[str, str], tmp_path: Path) -> None:
    result = run_contracts(["gen", "--out", str(tmp_path / "out")], corpus, env)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2
    *findings, error = result.stderr.strip().splitlines()
    assert error == f"error: the registry breaks {len(findings)} rule(s); nothing was generated"
    named = {(line.split(":")[0], int(line.split(":")[1]), line.split(" ")[1]) for line in findings}
    assert named == expected_refusals(corpus)
    assert not (tmp_path / "out").exists()


def previous_with_one_edit_per_file(corpus: Path, previous: Path) -> None:
    """A copy in which every file declares one more message, and one topic had another key.

    Compared with it, the corpus deleted a message from every file (buf's MESSAGE_NO_DELETE)
    and changed a topic's key (TOPIC_KEY_CHANGED)."""
    shutil.copytree(corpus, previous, ignore=shutil.ignore_patterns(".git"))
    for index, relative in enumerate(local_protos(previous)):
        with open(previous / relative, "a", encoding="utf-8") as proto:
            proto.write(f"\n// Removed by the corpus test.\nmessage CorpusRemoved{index} {{\n}}\n")
    keys = previous / "proto/edge/keys/v1/keys.proto"
    text = keys.read_text(encoding="utf-8")
    assert text.count('key: "kind"') == 1
    keys.write_text(text.replace('key: "kind"', 'key: "note"'), encoding="utf-8")


def test_breaking_against_an_edited_copy_of_every_file(corpus: Path, env: dict[str, str], tmp_path: Path) -> None:
    previous = tmp_path / "previous"
    previous_with_one_edit_per_file(corpus, previous)
    result = run_contracts(["breaking", "--against", str(previous), "--format", "json"], corpus, env)
    assert_no_traceback(result, (1,))
    findings = json.loads(result.stdout)
    deleted = {f["path"] for f in findings if f["rule"] == "MESSAGE_NO_DELETE"}
    assert deleted == set(local_protos(corpus))
    key_changes = [f for f in findings if f["rule"] == "TOPIC_KEY_CHANGED"]
    assert [(f["path"], f["message"]) for f in key_changes] == [
        ("proto/edge/keys/v1/keys.proto", 'key of topic "edge.nested-enum-key.v1" changed from note to kind')
    ]


def test_breaking_against_itself_is_clean(corpus: Path, env: dict[str, str]) -> None:
    result = run_contracts(["breaking", "--against", "main"], corpus, env)
    assert_no_traceback(result, (0,))


def go_program(directory: Path, generated: Path) -> None:
    """A Go main package importing every generated package, so `go build` compiles each of them."""
    packages = sorted(
        {str(path.parent.relative_to(generated)) for path in generated.rglob("*.go") if path.parent != generated}
    )
    imports = "".join(f'\t_ "{GO_MODULE}/{package}"\n' for package in packages)
    directory.mkdir(parents=True)
    (directory / "main.go").write_text(f"package main\n\nimport (\n{imports})\n\nfunc main() {{}}\n", encoding="utf-8")
    runtime = REPOSITORY / "runtime" / "go"
    (directory / "go.mod").write_text(
        f"module example.com/corpuscheck\n\ngo 1.26.0\n\nrequire {GO_MODULE} v0.0.0\n\n"
        f"replace {GO_MODULE} => {generated}\n\n"
        f"replace github.com/contractsdev/contracts/runtime/go => {runtime}\n",
        encoding="utf-8",
    )
    tidy = subprocess.run(["go", "mod", "tidy"], cwd=directory, capture_output=True, text=True, check=False)
    assert tidy.returncode == 0, tidy.stderr


def rust_program(directory: Path, generated: Path) -> None:
    """A binary crate that links the generated crate (types only, no librdkafka)."""
    (directory / "src").mkdir(parents=True)
    crate = RUST_CRATE.replace("-", "_")
    (directory / "src" / "main.rs").write_text(
        f'fn main() {{\n    println!("{{}}", {crate}::topics::EDGE_ORDERS_V1.name());\n}}\n', encoding="utf-8"
    )
    (directory / "Cargo.toml").write_text(
        '[package]\nname = "corpus-check"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        f'[dependencies]\n{RUST_CRATE} = {{ path = "{generated}", default-features = false }}\n\n[workspace]\n',
        encoding="utf-8",
    )
    # The lock of the repository's generated crate pins the same prost the shared target dir already built.
    lock = REPOSITORY / "generated" / "rust" / "Cargo.lock"
    if lock.is_file():
        shutil.copy2(lock, directory / "Cargo.lock")


@pytest.mark.slow
def test_gen_of_everything_accepted_compiles_in_three_languages(
    tmp_path: Path, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = write_registry(tmp_path / "registry", refused=False)
    out = tmp_path / "generated"
    result = run_contracts(["gen", "--out", str(out)], root, env, timeout=600)
    assert_no_traceback(result, (0,))

    modules = sorted(
        ".".join(path.relative_to(out / "python").with_suffix("").parts)
        for path in (out / "python" / PYTHON_PACKAGE).rglob("*_pb2.py")
    )
    assert len(modules) == len(local_protos(root)) + 1  # and the contracts option
    names = [*modules, f"{PYTHON_PACKAGE}.topics"]
    check = f"import importlib\nfor name in {names!r}:\n    importlib.import_module(name)\n"
    python_path = f"{out / 'python'}:{REPOSITORY / 'runtime' / 'python' / 'src'}"
    imported = subprocess.run(
        [sys.executable, "-c", check], env={**env, "PYTHONPATH": python_path}, capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr

    programs = tmp_path / "programs"
    go_program(programs / "go", out / "go")
    rust_program(programs / "rust", out / "rust")
    binaries = build_go_and_rust(programs, tmp_path, "corpus-go", "corpus-check", "the robustness corpus")
    ran = subprocess.run([binaries["rust"]], capture_output=True, text=True, check=False)
    assert ran.stdout.strip() == "edge.orders.v1", ran.stderr


def test_googleapis_in_the_python_package_imports(tmp_path: Path, env: dict[str, str]) -> None:
    root = write_registry(tmp_path / "registry", ("googleapis",), refused=False)
    out = tmp_path / "generated"
    assert_no_traceback(run_contracts(["gen", "--lang", "python", "--out", str(out)], root, env), (0,))
    python_path = f"{out / 'python'}:{REPOSITORY / 'runtime' / 'python' / 'src'}"
    imported = subprocess.run(
        [sys.executable, "-c", f"import {PYTHON_PACKAGE}.google.rpc.status_pb2"],
        env={**env, "PYTHONPATH": python_path},
        capture_output=True,
        text=True,
    )
    assert imported.returncode == 0, imported.stderr


@pytest.mark.parametrize("module", ["golang-protobuf", "googleapis"])
def test_rust_modules_include_what_prost_wrote(module: str, tmp_path: Path, env: dict[str, str]) -> None:
    root = write_registry(tmp_path / "registry", (module,), refused=False)
    out = tmp_path / "generated"
    assert_no_traceback(run_contracts(["gen", "--lang", "rust", "--out", str(out)], root, env), (0,))
    source = out / "rust" / "src"
    included = re.findall(r'include!\("([^"]+)"\)', (source / "lib.rs").read_text(encoding="utf-8"))
    assert included
    assert [path for path in included if not (source / path).is_file()] == []
