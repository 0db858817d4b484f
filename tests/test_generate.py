"""`contracts gen`: determinism, atomicity, `--check`, the no-op cache and the golden tree.

Every test runs the installed `contracts` command as a subprocess, the way CI and users
do, on a copy of the golden-file registry in tests/fixtures/registry/ (or of the example
registry), with every output directory under tmp_path. CONTRACTS_CACHE is one temporary
cache for the session, except that the pinned plugins (protoc-gen-go, protoc-gen-prost)
are linked in from the real tool cache so that no test reinstalls them.

The golden tree tests/golden/ is the expected output of the fixture registry; after an
intended change to codegen/generate/ or templates/, refresh it with scripts/refresh-golden
and review the diff. Tests marked `slow` compile the golden Go module and Rust crate.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from contracts_cli.buf import cache_dir
from contracts_cli.generate.tools import PROTOC_GEN_GO, PROTOC_GEN_PROST, Plugin
from contracts_cli.toolchain import GO_DIRECTIVE

from tests.registry_fixtures import REPOSITORY, contracts_env, run_contracts, session_cache

FIXTURE_REGISTRY = REPOSITORY / "tests" / "fixtures" / "registry"
GOLDEN = REPOSITORY / "tests" / "golden"
TYPECHECK = REPOSITORY / "tests" / "typecheck"
REFRESH_GOLDEN = REPOSITORY / "scripts" / "refresh-golden"
RUNTIME_PYTHON = REPOSITORY / "runtime" / "python" / "src"
RUNTIME_GO = REPOSITORY / "runtime" / "go"
RUNTIME_GO_MODULE = "github.com/contractsdev/contracts/runtime/go"
RUNTIME_RUST = REPOSITORY / "runtime" / "rust"

PYTHON_PACKAGE = "fixture_contracts"  # tests/fixtures/registry/contracts.toml
GO_MODULE = "example.com/fixture/gen"
INVENTORY = "proto/inventory/v1/inventory.proto"
SHARED = "proto/shared/v1/shared.proto"
ALERTS = "proto/alerts/v1/alerts.proto"
# A one-field edit of a bound message (file, old text, new text).
ADD_INVENTORY_FIELD = (
    INVENTORY,
    "  uint32 on_hand = 2;\n",
    "  uint32 on_hand = 2;\n  // Units reserved.\n  uint32 reserved = 4;\n",
)


# Plugins and caches


def real_tool_dir(plugin: Plugin) -> Path:
    """Where the user's own cache keeps `plugin` (evaluated in this process, before any test env)."""
    return cache_dir() / "tools" / f"{plugin.name}-{plugin.version}"


def link_plugins(cache: Path, plugins: tuple[Plugin, ...] = (PROTOC_GEN_GO, PROTOC_GEN_PROST)) -> Path:
    """Make `cache` use the already installed pinned plugins instead of installing them again."""
    tools = cache / "tools"
    tools.mkdir(parents=True, exist_ok=True)
    for plugin in plugins:
        source = real_tool_dir(plugin)
        target = tools / source.name
        if (source / "bin" / plugin.name).is_file() and not target.exists():
            target.symlink_to(source, target_is_directory=True)
    return cache


def generation_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's CONTRACTS_CACHE (shared with the other CLI tests) with the plugins linked in."""
    return link_plugins(session_cache(tmp_path_factory))


def fresh_cache(directory: Path) -> Path:
    """A cache of its own (no images, no stamps) that still reuses the installed plugins."""
    return link_plugins(directory)


def failing_prost_cache(directory: Path) -> Path:
    """A cache whose protoc-gen-prost exits 1: in buf generate, python and go succeed and rust fails."""
    link_plugins(directory, (PROTOC_GEN_GO,))
    binary = directory / "tools" / f"{PROTOC_GEN_PROST.name}-{PROTOC_GEN_PROST.version}" / "bin" / PROTOC_GEN_PROST.name
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\necho 'protoc-gen-prost: injected failure' >&2\nexit 1\n", encoding="utf-8")
    binary.chmod(0o755)
    return directory


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generation_cache(tmp_path_factory)


@pytest.fixture(scope="session")
def env(cache: Path) -> dict[str, str]:
    return contracts_env(cache)


# Registries, runs and trees


def copy_registry(destination: Path, source: Path = FIXTURE_REGISTRY) -> Path:
    if source == REPOSITORY:
        destination.mkdir(parents=True)
        for name in ("buf.yaml", "contracts.toml"):
            shutil.copy2(source / name, destination / name)
        shutil.copytree(source / "proto", destination / "proto")
        shutil.copytree(source / "third_party", destination / "third_party")
        return destination
    return Path(shutil.copytree(source, destination))


def gen(registry: Path, out: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_contracts(["gen", "--root", str(registry), "--out", str(out), *args], cwd=registry, env=env)


def gen_ok(registry: Path, out: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = gen(registry, out, env, *args)
    assert result.returncode == 0, f"contracts gen failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def edit(registry: Path, file: str, old: str, new: str) -> None:
    path = registry / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{file}: expected one {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def tree(directory: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and directory (None) under `directory`, by relative path."""
    entries: dict[str, bytes | None] = {}
    for path in directory.rglob("*"):
        entries[path.relative_to(directory).as_posix()] = None if path.is_dir() else path.read_bytes()
    return dict(sorted(entries.items()))


Snapshot = dict[str, tuple[bytes | None, int, int]]


def snapshot(directory: Path) -> Snapshot:
    """Bytes, mtime and mode of every file and directory under (and including) `directory`."""
    if not directory.exists():
        return {}
    entries: Snapshot = {}
    for path in [directory, *sorted(directory.rglob("*"))]:
        status = path.lstat()
        content = None if path.is_dir() else path.read_bytes()
        entries[path.relative_to(directory).as_posix() or "."] = (content, status.st_mtime_ns, status.st_mode)
    return entries


def changed(before: Mapping[str, bytes | None], after: Mapping[str, bytes | None]) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name, b"\0gone") != after.get(name, b"\0gone")
    )


def assert_same_snapshot(before: Snapshot, after: Snapshot) -> None:
    differences = [name for name in sorted(before.keys() | after.keys()) if before.get(name) != after.get(name)]
    assert not differences, f"the output directory changed: {differences}"


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    return lines[0]


@dataclass(frozen=True)
class Generated:
    registry: Path
    out: Path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Generated:
    """The fixture registry generated once; tests that change things work on copies of it."""
    base = tmp_path_factory.mktemp("baseline")
    registry = copy_registry(base / "registry")
    gen_ok(registry, base / "out", env)
    return Generated(registry, base / "out")


def copy_of(baseline: Generated, directory: Path) -> Generated:
    """A copy of the baseline registry and output; copytree keeps every mtime."""
    registry = Path(shutil.copytree(baseline.registry, directory / "registry"))
    out = Path(shutil.copytree(baseline.out, directory / "out"))
    return Generated(registry, out)


# Golden files


def readable_diff(
    expected: Mapping[str, bytes | None],
    actual: Mapping[str, bytes | None],
    labels: tuple[str, str] = ("golden", "generated"),
) -> str:
    """What differs between two trees: names only in one of them, a unified diff for the others."""
    report: list[str] = []
    for name in changed(expected, actual):
        if name not in actual:
            report.append(f"only in {labels[0]}: {name}")
        elif name not in expected:
            report.append(f"only in {labels[1]}: {name}")
        else:
            old = (expected[name] or b"").decode("utf-8", "replace").splitlines(keepends=True)
            new = (actual[name] or b"").decode("utf-8", "replace").splitlines(keepends=True)
            report.append("".join(difflib.unified_diff(old, new, f"{labels[0]}/{name}", f"{labels[1]}/{name}")))
    return "\n".join(report)


def test_generated_tree_matches_golden(baseline: Generated) -> None:
    expected, actual = tree(GOLDEN), tree(baseline.out)
    if expected != actual:
        pytest.fail(
            "contracts gen no longer writes tests/golden/; if the change is intended, run scripts/refresh-golden "
            "and review its diff:\n" + readable_diff(expected, actual),
            pytrace=False,
        )


def test_golden_tree_covers_every_language_and_binding_kind() -> None:
    files = set(tree(GOLDEN))
    for package in ("orders", "inventory", "alerts", "shared"):
        assert f"python/{PYTHON_PACKAGE}/{package}/v1/{package}_pb2.py" in files
        assert f"python/{PYTHON_PACKAGE}/{package}/v1/{package}_pb2.pyi" in files
        assert f"go/{package}/v1/{package}.pb.go" in files
        assert f"rust/src/{package}/v1/{package}.v1.rs" in files
    topics_rs = (GOLDEN / "rust/src/topics.rs").read_text(encoding="utf-8")
    assert "key::string(&m.order_id)" in topics_rs  # string key
    assert "key::int(m.sku_id)" in topics_rs  # int64 key
    assert "key::int(i64::from(m.severity))" in topics_rs  # enum key
    assert "\n    None,\n" in topics_rs  # no key (Heartbeat)


def test_refresh_golden_script_is_executable_and_golden_is_fresh(env: dict[str, str]) -> None:
    assert os.access(REFRESH_GOLDEN, os.X_OK), "scripts/refresh-golden must be executable"
    before = snapshot(GOLDEN)
    result = subprocess.run([str(REFRESH_GOLDEN), "--check"], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"tests/golden is stale; run scripts/refresh-golden:\n{result.stdout}{result.stderr}"
    assert_same_snapshot(before, snapshot(GOLDEN))


# Determinism


@pytest.mark.parametrize("source", [FIXTURE_REGISTRY, REPOSITORY], ids=["fixture-registry", "example-registry"])
def test_gen_twice_gives_byte_identical_trees(source: Path, tmp_path: Path, env: dict[str, str]) -> None:
    # Two checkouts at different paths, separate caches (so buf compiles twice) and hash seeds.
    first = copy_registry(tmp_path / "a" / "registry", source)
    second = copy_registry(tmp_path / "b" / "elsewhere", source)
    gen_ok(first, tmp_path / "out-a", {**env, "PYTHONHASHSEED": "1"})
    other_env = {**contracts_env(fresh_cache(tmp_path / "cache-b")), "PYTHONHASHSEED": "2"}
    gen_ok(second, tmp_path / "out-b", other_env)
    first_tree, second_tree = tree(tmp_path / "out-a"), tree(tmp_path / "out-b")
    if first_tree != second_tree:
        pytest.fail(
            "two runs wrote different trees:\n" + readable_diff(first_tree, second_tree, ("out-a", "out-b")),
            pytrace=False,
        )
    assert {name.split("/", 1)[0] for name in first_tree} == {"python", "go", "rust"}


def _package_files(package: str) -> list[str]:
    return sorted(
        [
            f"python/{PYTHON_PACKAGE}/{package}/v1/{package}_pb2.py",
            f"python/{PYTHON_PACKAGE}/{package}/v1/{package}_pb2.pyi",
            f"go/{package}/v1/{package}.pb.go",
            f"rust/src/{package}/v1/{package}.v1.rs",
        ]
    )


ONE_FIELD_EDITS = {
    # A bound message: its topic binding is unchanged, so topics.* stay as they are.
    "bound-message": (*ADD_INVENTORY_FIELD, "inventory"),
    # A type that orders, inventory and alerts import: only its own package's files change.
    "shared-type": (
        SHARED,
        "  int32 nanos = 3;\n",
        "  int32 nanos = 3;\n  // Rounding applied.\n  bool rounded = 4;\n",
        "shared",
    ),
}


@pytest.mark.parametrize("case", list(ONE_FIELD_EDITS), ids=list(ONE_FIELD_EDITS))
def test_one_field_edit_changes_only_that_package(
    case: str, baseline: Generated, tmp_path: Path, env: dict[str, str]
) -> None:
    file, old, new, package = ONE_FIELD_EDITS[case]
    generated = copy_of(baseline, tmp_path)
    before = snapshot(generated.out)
    edit(generated.registry, file, old, new)

    result = gen_ok(generated.registry, generated.out, env)

    after = snapshot(generated.out)
    contents_before = {name: entry[0] for name, entry in before.items()}
    contents_after = {name: entry[0] for name, entry in after.items()}
    assert changed(contents_before, contents_after) == _package_files(package)
    assert "4 written, 0 deleted" in result.stderr
    untouched = [name for name in before if name not in _package_files(package) and before[name][0] is not None]
    assert [name for name in untouched if before[name] != after[name]] == [], "unchanged files must keep their mtime"
    # Syncing into the old tree gives exactly what a fresh run writes.
    gen_ok(generated.registry, tmp_path / "fresh", env)
    assert tree(generated.out) == tree(tmp_path / "fresh")


def test_removed_package_is_deleted_with_its_directories(
    baseline: Generated, tmp_path: Path, env: dict[str, str]
) -> None:
    generated = copy_of(baseline, tmp_path)
    (generated.registry / ALERTS).unlink()

    result = gen_ok(generated.registry, generated.out, env)

    gen_ok(generated.registry, tmp_path / "fresh", env)
    assert tree(generated.out) == tree(tmp_path / "fresh"), "stale files or empty directories were left behind"
    assert not any("alerts" in name for name in tree(generated.out))
    assert "deleted" in result.stderr and "0 deleted" not in result.stderr


# Atomicity: a failure at any point leaves the output directory exactly as it was


def test_plugin_failure_halfway_leaves_output_untouched(baseline: Generated, tmp_path: Path) -> None:
    generated = copy_of(baseline, tmp_path)
    # A real change, so that a run that synced anything would visibly alter the tree.
    edit(generated.registry, *ADD_INVENTORY_FIELD)
    failing_env = contracts_env(failing_prost_cache(tmp_path / "failing-cache"))
    before = snapshot(generated.out)

    result = gen(generated.registry, generated.out, failing_env)

    assert result.returncode == 2, result.stderr
    line = one_line_error(result)
    assert line == "error: buf generate failed: protoc-gen-prost: injected failure", line
    assert_same_snapshot(before, snapshot(generated.out))
    # Nor is a missing output directory created.
    result = gen(generated.registry, tmp_path / "never", failing_env)
    assert result.returncode == 2
    one_line_error(result)
    assert not (tmp_path / "never").exists()


@dataclass(frozen=True)
class Breakage:
    file: str
    old: str | None  # None: create `file` holding `new`
    new: str
    stderr: str  # a pattern for the whole of stderr


TWIN_CONTRACT = """syntax = "proto3";

package inventory.v1;

import "contracts/v1/options.proto";

// StockTwin claims the topic of StockLevel.
message StockTwin {
  option (contracts.v1.topic) = {name: "inventory.stock.v1" key: "sku_id"};

  // Stock keeping unit.
  int64 sku_id = 1;
}
"""

BREAKAGES = {
    # Registry rules run before anything is generated: every finding, then one error line.
    "topic-one-type": Breakage(
        "proto/inventory/v1/inventory_twin.proto",
        None,
        TWIN_CONTRACT,
        r'proto/inventory/v1/inventory\.proto:11:10: TOPIC_ONE_TYPE topic "inventory\.stock\.v1" is bound by 2 .*\n'
        r'proto/inventory/v1/inventory_twin\.proto:9:10: TOPIC_ONE_TYPE topic "inventory\.stock\.v1" is bound by 2 .*\n'
        r"error: the registry breaks 2 rule\(s\); nothing was generated\n",
    ),
    # The package name is checked while rendering, after buf generate has run every plugin.
    "invalid-python-package": Breakage(
        "contracts.toml",
        'package = "fixture_contracts"',
        'package = "fixture-contracts"',
        r"contracts\.toml: error: python\.package 'fixture-contracts' is not a valid Python package name\n",
    ),
    # buf cannot compile the registry.
    "compile-error": Breakage(
        INVENTORY,
        "  int64 sku_id = 1;\n",
        "  int64 sku_id = 1\n",
        r"proto/inventory/v1/inventory\.proto:\d+:\d+: error: .*\n",
    ),
}


@pytest.mark.parametrize("case", list(BREAKAGES), ids=list(BREAKAGES))
def test_failed_gen_leaves_output_untouched(
    case: str, baseline: Generated, tmp_path: Path, env: dict[str, str]
) -> None:
    breakage = BREAKAGES[case]
    generated = copy_of(baseline, tmp_path)
    if breakage.old is None:
        (generated.registry / breakage.file).write_text(breakage.new, encoding="utf-8")
    else:
        edit(generated.registry, breakage.file, breakage.old, breakage.new)
    before = snapshot(generated.out)

    result = gen(generated.registry, generated.out, env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert re.fullmatch(breakage.stderr, result.stderr), result.stderr
    assert_same_snapshot(before, snapshot(generated.out))


def test_registry_breaking_topic_one_type_creates_no_output(tmp_path: Path, env: dict[str, str]) -> None:
    registry = copy_registry(tmp_path / "registry")
    (registry / "proto/inventory/v1/inventory_twin.proto").write_text(TWIN_CONTRACT, encoding="utf-8")
    result = gen(registry, tmp_path / "out", env)
    assert result.returncode == 2
    assert "TOPIC_ONE_TYPE" in result.stdout + result.stderr
    assert not (tmp_path / "out").exists()


# --check


def test_check_passes_on_a_fresh_tree_and_writes_nothing(
    baseline: Generated, tmp_path: Path, env: dict[str, str]
) -> None:
    generated = copy_of(baseline, tmp_path)
    gen_ok(generated.registry, generated.out, env)  # the stamp of this output directory
    before = snapshot(generated.out)
    for check_env in (env, contracts_env(fresh_cache(tmp_path / "no-stamp"))):  # with and without the stamp
        result = gen(generated.registry, generated.out, check_env, "--check")
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
    assert_same_snapshot(before, snapshot(generated.out))


def test_check_lists_every_stale_missing_and_extra_file(
    baseline: Generated, tmp_path: Path, env: dict[str, str]
) -> None:
    generated = copy_of(baseline, tmp_path)
    gen_ok(generated.registry, generated.out, env)
    stale = f"python/{PYTHON_PACKAGE}/topics.py"
    missing = "go/orders/v1/orders.pb.go"
    extra = "rust/src/stray.rs"
    with (generated.out / stale).open("a", encoding="utf-8") as file:
        file.write("# edited by hand\n")
    (generated.out / missing).unlink()
    (generated.out / extra).write_text("// not generated\n", encoding="utf-8")
    before = snapshot(generated.out)

    for check_env in (env, contracts_env(fresh_cache(tmp_path / "no-stamp"))):
        result = gen(generated.registry, generated.out, check_env, "--check")
        assert result.returncode == 1, result.stdout + result.stderr
        assert result.stdout.splitlines() == [f"missing: {missing}", f"stale: {stale}", f"extra: {extra}"]
        assert "3 generated file(s) out of date" in result.stderr
        assert "Traceback" not in result.stderr
    assert_same_snapshot(before, snapshot(generated.out))


def test_check_after_a_registry_edit_lists_that_package(
    baseline: Generated, tmp_path: Path, env: dict[str, str]
) -> None:
    generated = copy_of(baseline, tmp_path)
    edit(generated.registry, *ADD_INVENTORY_FIELD)
    before = snapshot(generated.out)

    result = gen(generated.registry, generated.out, env, "--check")

    assert result.returncode == 1
    assert sorted(result.stdout.splitlines()) == [f"stale: {name}" for name in _package_files("inventory")]
    assert_same_snapshot(before, snapshot(generated.out))


def test_check_of_a_missing_output_lists_every_file_and_creates_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    registry = copy_registry(tmp_path / "registry")
    result = gen(registry, tmp_path / "out", env, "--check")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"missing: {name}" for name, content in tree(GOLDEN).items() if content is not None
    ]
    assert not (tmp_path / "out").exists()


# The no-op cache


def test_second_gen_is_up_to_date_and_touches_nothing(baseline: Generated, tmp_path: Path, env: dict[str, str]) -> None:
    generated = copy_of(baseline, tmp_path)
    gen_ok(generated.registry, generated.out, env)
    before = snapshot(generated.out)

    result = gen_ok(generated.registry, generated.out, env)

    assert result.stderr.strip() == f"{generated.out}: up to date"
    assert_same_snapshot(before, snapshot(generated.out))


def test_cache_follows_content_not_mtime(baseline: Generated, tmp_path: Path, env: dict[str, str]) -> None:
    generated = copy_of(baseline, tmp_path)
    gen_ok(generated.registry, generated.out, env)
    proto = generated.registry / INVENTORY

    os.utime(proto, ns=(proto.stat().st_atime_ns, proto.stat().st_mtime_ns + 10**9))
    assert "up to date" in gen_ok(generated.registry, generated.out, env).stderr

    with proto.open("a", encoding="utf-8") as file:
        file.write("\n// A trailing comment changes the content hash, not the output.\n")
    result = gen_ok(generated.registry, generated.out, env)
    assert "up to date" not in result.stderr and "no changes" in result.stderr, result.stderr
    assert "up to date" in gen_ok(generated.registry, generated.out, env).stderr


def test_config_change_rewrites_only_what_names_the_version(
    baseline: Generated, tmp_path: Path, env: dict[str, str]
) -> None:
    generated = copy_of(baseline, tmp_path)
    gen_ok(generated.registry, generated.out, env)
    before = tree(generated.out)
    edit(generated.registry, "contracts.toml", 'version = "0.3.0"', 'version = "0.4.0"')

    gen_ok(generated.registry, generated.out, env)

    assert changed(before, tree(generated.out)) == [
        f"python/{PYTHON_PACKAGE}/__init__.py",
        "python/pyproject.toml",
        "rust/Cargo.toml",
    ]


def test_hand_edits_are_detected_and_undone(baseline: Generated, tmp_path: Path, env: dict[str, str]) -> None:
    generated = copy_of(baseline, tmp_path)
    gen_ok(generated.registry, generated.out, env)
    expected = tree(generated.out)
    edited = generated.out / "go" / "topics" / "topics.go"
    deleted = generated.out / "rust" / "src" / "topics.rs"
    extra = generated.out / "python" / PYTHON_PACKAGE / "scratch.py"

    edited.write_bytes(edited.read_bytes().replace(b'"orders.placed.v1"', b'"orders.placed.v2"'))
    result = gen_ok(generated.registry, generated.out, env)
    assert "1 written, 0 deleted" in result.stderr, result.stderr

    deleted.unlink()
    extra.write_text("x = 1\n", encoding="utf-8")
    result = gen_ok(generated.registry, generated.out, env)
    assert "1 written, 1 deleted" in result.stderr, result.stderr

    assert tree(generated.out) == expected
    assert "up to date" in gen_ok(generated.registry, generated.out, env).stderr


# Incremental gen: after a change, only the packages whose inputs changed go through the plugins


def recording_cache(directory: Path) -> Path:
    """A cache whose protoc-gen-prost keeps each request it receives in directory/requests/, then
    runs the real plugin: which files a gen handed to the plugins is then a fact to assert on."""
    link_plugins(directory, (PROTOC_GEN_GO,))
    real = real_tool_dir(PROTOC_GEN_PROST) / "bin" / PROTOC_GEN_PROST.name
    requests = directory / "requests"
    requests.mkdir(parents=True)
    binary = directory / "tools" / f"{PROTOC_GEN_PROST.name}-{PROTOC_GEN_PROST.version}" / "bin" / PROTOC_GEN_PROST.name
    binary.parent.mkdir(parents=True)
    binary.write_text(
        f'#!/bin/sh\nrequest=$(mktemp "{requests}/request.XXXXXX")\ntee "$request" | exec "{real}" "$@"\n',
        encoding="utf-8",
    )
    binary.chmod(0o755)
    return directory


def plugin_targets(cache: Path) -> list[list[str]]:
    """The files each recorded plugin request asked to generate, oldest request first; consumed."""
    from google.protobuf.compiler import plugin_pb2

    recorded = sorted((cache / "requests").iterdir(), key=lambda path: path.stat().st_mtime_ns)
    targets = [
        sorted(plugin_pb2.CodeGeneratorRequest.FromString(path.read_bytes()).file_to_generate) for path in recorded
    ]
    for path in recorded:
        path.unlink()
    return targets


@dataclass(frozen=True)
class Recorded:
    generated: Generated
    cache: Path
    env: dict[str, str]


@pytest.fixture
def recorded(baseline: Generated, tmp_path: Path) -> Recorded:
    """A copy of the baseline generated once more with a recording cache: its stamp is in place."""
    generated = copy_of(baseline, tmp_path)
    cache = recording_cache(tmp_path / "recording-cache")
    env = contracts_env(cache)
    gen_ok(generated.registry, generated.out, env)
    assert len(plugin_targets(cache)) == 1  # no stamp yet: one full run
    return Recorded(generated, cache, env)


def assert_same_as_full_gen(generated: Generated, tmp_path: Path) -> None:
    """What an incremental gen left equals, byte for byte, a full gen from a cache of its own."""
    fresh = tmp_path / "full"
    gen_ok(generated.registry, fresh, contracts_env(fresh_cache(tmp_path / "full-cache")))
    incremental, full = tree(generated.out), tree(fresh)
    if incremental != full:
        pytest.fail("incremental and full gen differ:\n" + readable_diff(full, incremental, ("full", "incremental")))


def test_incremental_edit_hands_only_that_package_to_the_plugins(recorded: Recorded, tmp_path: Path) -> None:
    generated = recorded.generated
    before = snapshot(generated.out)
    edit(generated.registry, *ADD_INVENTORY_FIELD)

    result = gen_ok(generated.registry, generated.out, recorded.env)

    assert plugin_targets(recorded.cache) == [["inventory/v1/inventory.proto"]]
    assert "4 written, 0 deleted" in result.stderr, result.stderr
    after = snapshot(generated.out)
    assert changed({k: v[0] for k, v in before.items()}, {k: v[0] for k, v in after.items()}) == _package_files(
        "inventory"
    )
    untouched = [name for name in before if name not in _package_files("inventory") and before[name][0] is not None]
    assert [name for name in untouched if before[name] != after[name]] == [], "unchanged files keep their mtime"
    assert_same_as_full_gen(generated, tmp_path)
    assert "up to date" in gen_ok(generated.registry, generated.out, recorded.env).stderr


def test_incremental_edit_of_an_imported_file_regenerates_its_importers(recorded: Recorded, tmp_path: Path) -> None:
    generated = recorded.generated
    edit(generated.registry, *ONE_FIELD_EDITS["shared-type"][:3])

    gen_ok(generated.registry, generated.out, recorded.env)

    # Every package importing shared.v1 (directly or not) sees other inputs; only shared's output changes.
    assert plugin_targets(recorded.cache) == [
        [
            "alerts/v1/alerts.proto",
            "inventory/v1/inventory.proto",
            "orders/v1/orders.proto",
            "shared/v1/shared.proto",
        ]
    ]
    assert_same_as_full_gen(generated, tmp_path)


NOTES_CONTRACT = """syntax = "proto3";

package notes.v1;

import "contracts/v1/options.proto";
import "inventory/v1/inventory.proto";

// NoteAdded attaches a note to a stock level.
message NoteAdded {
  option (contracts.v1.topic) = {name: "notes.added.v1" key: "id"};

  // Id of the note.
  string id = 1;
  // The stock level it is about.
  inventory.v1.StockLevel stock = 2;
}
"""


def test_incremental_new_file_and_new_import(recorded: Recorded, tmp_path: Path) -> None:
    generated = recorded.generated
    before = tree(generated.out)
    notes = generated.registry / "proto/notes/v1/notes.proto"
    notes.parent.mkdir(parents=True)
    notes.write_text(NOTES_CONTRACT, encoding="utf-8")

    gen_ok(generated.registry, generated.out, recorded.env)

    assert plugin_targets(recorded.cache) == [["notes/v1/notes.proto"]]
    written = changed(before, tree(generated.out))
    assert [name for name in written if "notes" not in name.split("/")] == sorted(
        [f"python/{PYTHON_PACKAGE}/topics.py", "go/topics/topics.go", "rust/src/lib.rs", "rust/src/topics.rs"]
    )
    assert_same_as_full_gen(generated, tmp_path)

    # An existing file that starts importing another: the importer is regenerated, not the imported.
    edit(
        generated.registry,
        "proto/notes/v1/notes.proto",
        'import "inventory',
        'import "alerts/v1/alerts.proto";\nimport "inventory',
    )
    edit(
        generated.registry,
        "proto/notes/v1/notes.proto",
        "  inventory.v1.StockLevel stock = 2;\n",
        "  inventory.v1.StockLevel stock = 2;\n  // The alert raised.\n  alerts.v1.Alert alert = 3;\n",
    )
    gen_ok(generated.registry, generated.out, recorded.env)
    assert plugin_targets(recorded.cache) == [["notes/v1/notes.proto"]]
    assert_same_as_full_gen(generated, tmp_path)


def test_incremental_deleted_file_takes_its_outputs_away(recorded: Recorded, tmp_path: Path) -> None:
    generated = recorded.generated
    (generated.registry / ALERTS).unlink()

    result = gen_ok(generated.registry, generated.out, recorded.env)

    assert plugin_targets(recorded.cache) == []  # nothing imported alerts: no plugin runs at all
    assert not any("alerts" in name for name in tree(generated.out))
    assert "0 deleted" not in result.stderr
    assert_same_as_full_gen(generated, tmp_path)


def test_incremental_regenerates_a_hand_edited_plugin_output(recorded: Recorded, tmp_path: Path) -> None:
    generated = recorded.generated
    expected = tree(generated.out)
    edited = generated.out / "go" / "orders" / "v1" / "orders.pb.go"
    edited.write_bytes(edited.read_bytes() + b"// edited by hand\n")

    result = gen_ok(generated.registry, generated.out, recorded.env)

    assert "1 written, 0 deleted" in result.stderr, result.stderr
    assert plugin_targets(recorded.cache) == [["orders/v1/orders.proto"]]
    assert tree(generated.out) == expected


def test_incremental_check_lists_that_package_and_writes_nothing(recorded: Recorded) -> None:
    generated = recorded.generated
    edit(generated.registry, *ADD_INVENTORY_FIELD)
    before = snapshot(generated.out)

    result = gen(generated.registry, generated.out, recorded.env, "--check")

    assert result.returncode == 1, result.stderr
    assert sorted(result.stdout.splitlines()) == [f"stale: {name}" for name in _package_files("inventory")]
    assert plugin_targets(recorded.cache) == [["inventory/v1/inventory.proto"]]
    assert_same_snapshot(before, snapshot(generated.out))


def test_build_output_inside_the_tree_keeps_a_gen_a_no_op(recorded: Recorded) -> None:
    generated = recorded.generated
    (generated.out / "python" / PYTHON_PACKAGE / "orders" / "__pycache__").mkdir()
    (generated.out / "rust" / "target").mkdir()
    (generated.out / "rust" / "Cargo.lock").write_text("# cargo\n", encoding="utf-8")
    assert "up to date" in gen_ok(generated.registry, generated.out, recorded.env).stderr

    # A file of our own kind in a directory of ours is not: it is deleted.
    stray = generated.out / "go" / "orders" / "v1" / "stray.go"
    stray.write_text("package ordersv1\n", encoding="utf-8")
    result = gen_ok(generated.registry, generated.out, recorded.env)
    assert "0 written, 1 deleted" in result.stderr, result.stderr
    assert not stray.exists()


# The golden tree compiles and its bindings pick the right key fields, in every language


FIXTURE_KEYS = (
    # topic, ce_type, key ("-" = none); the values are the messages in tests/typecheck/*/fixture_keys*.
    "alerts.heartbeats.v1\talerts.v1.Heartbeat\t-\n"
    "alerts.raised.v1\talerts.v1.Alert\t2\n"
    "inventory.stock.v1\tinventory.v1.StockLevel\t-42\n"
    "orders.placed.v1\torders.v1.OrderPlaced\to-1\n"
)


def python_path(*directories: Path) -> dict[str, str]:
    """Import from `directories`, without writing __pycache__ into the golden or generated tree."""
    return {"PYTHONPATH": os.pathsep.join(str(directory) for directory in directories), "PYTHONDONTWRITEBYTECODE": "1"}


def run(
    args: list[str], cwd: Path, extra_env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_ok(args: list[str], cwd: Path, extra_env: Mapping[str, str] | None = None, timeout: float = 900) -> str:
    result = run(args, cwd, extra_env, timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_golden_python_package_type_checks_and_keys(tmp_path: Path) -> None:
    program = TYPECHECK / "python" / "fixture_keys.py"
    # PYTHONPATH, not MYPYPATH: mypy then treats the packages as installed, as `pip install` would.
    paths = python_path(RUNTIME_PYTHON, GOLDEN / "python")
    run_ok(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy"), str(program)], tmp_path, paths
    )
    assert run_ok([sys.executable, str(program)], tmp_path, paths) == FIXTURE_KEYS


def go_module(directory: Path, program: Path, replacements: Mapping[str, Path], require: str) -> Path:
    """A throwaway main module holding `program`, with `replace`s to local modules."""
    directory.mkdir(parents=True)
    shutil.copyfile(program, directory / "main.go")
    replaces = "".join(f"replace {module} => {path}\n" for module, path in replacements.items())
    (directory / "go.mod").write_text(
        f"module example.com/typecheck\n\ngo {GO_DIRECTIVE}\n\nrequire {require} v0.0.0\n\n{replaces}", encoding="utf-8"
    )
    module_sum = replacements[require] / "go.sum"
    if module_sum.is_file():
        shutil.copy2(module_sum, directory / "go.sum")
    run_ok(["go", "mod", "tidy"], directory)
    return directory


def cargo_env() -> dict[str, str]:
    return {"CARGO_TARGET_DIR": os.environ.get("CARGO_TARGET_DIR", str(REPOSITORY / ".cache" / "cargo-target"))}


def rust_crate(directory: Path, program: Path, dependency: str, path: Path) -> Path:
    """A throwaway binary crate holding `program`, depending on a generated crate by path (types only)."""
    (directory / "src").mkdir(parents=True)
    # A fresh mtime and a name per program: cargo hashes a root package by name, not by path, so
    # two crates of one name in a shared target dir would otherwise pass for one another.
    shutil.copyfile(program, directory / "src" / "main.rs")
    name = f"typecheck-{program.stem.replace('_', '-')}"
    (directory / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        f'[dependencies]\n{dependency} = {{ path = "{path}", default-features = false }}\n\n[workspace]\n',
        encoding="utf-8",
    )
    # The lock of the repository's generated crate pins the same prost the shared target dir already built.
    lock = REPOSITORY / "generated" / "rust" / "Cargo.lock"
    if lock.is_file():
        shutil.copy2(lock, directory / "Cargo.lock")
    return directory


@pytest.mark.slow
def test_golden_go_module_builds_and_keys(tmp_path: Path) -> None:
    golden_go = GOLDEN / "go"  # its go.mod points at ../../../runtime/go: this checkout's runtime
    run_ok(["go", "vet", "./..."], golden_go)
    run_ok(["go", "build", "./..."], golden_go)
    assert run_ok(["gofmt", "-l", "."], golden_go) == ""
    module = go_module(
        tmp_path / "keys",
        TYPECHECK / "go" / "fixture_keys" / "main.go",
        {GO_MODULE: golden_go, RUNTIME_GO_MODULE: RUNTIME_GO},
        require=GO_MODULE,
    )
    assert run_ok(["go", "run", "."], module) == FIXTURE_KEYS


@pytest.fixture(scope="module")
def golden_rust(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/golden/rust copied out of the repository (cargo writes Cargo.lock beside Cargo.toml)."""
    crate = Path(shutil.copytree(GOLDEN / "rust", tmp_path_factory.mktemp("golden") / "rust"))
    manifest = crate / "Cargo.toml"
    text = manifest.read_text(encoding="utf-8")
    assert text.count('path = "../../../runtime/rust"') == 1
    manifest.write_text(text.replace('path = "../../../runtime/rust"', f'path = "{RUNTIME_RUST}"'), encoding="utf-8")
    return crate


@pytest.mark.slow
def test_golden_rust_crate_builds_clean(golden_rust: Path) -> None:
    run_ok(["cargo", "build", "--no-default-features"], golden_rust, cargo_env())
    run_ok(["cargo", "clippy", "--no-default-features", "--", "-D", "warnings"], golden_rust, cargo_env())


@pytest.mark.slow
def test_golden_rust_bindings_pick_the_key_fields(golden_rust: Path, tmp_path: Path) -> None:
    crate = rust_crate(tmp_path / "keys", TYPECHECK / "rust" / "fixture_keys.rs", "fixture-contracts", golden_rust)
    assert run_ok(["cargo", "run", "--quiet"], crate, cargo_env()) == FIXTURE_KEYS


@pytest.fixture(autouse=True)
def _no_stray_output(tmp_path: Path) -> Iterator[None]:
    """Nothing a test runs may write into the repository's golden tree."""
    before = snapshot(GOLDEN)
    yield
    assert_same_snapshot(before, snapshot(GOLDEN))


# The betterproto2 flavour


def test_betterproto_flavour_binds_dataclasses_to_topics(tmp_path: Path, env: dict[str, str]) -> None:
    registry = copy_registry(tmp_path / "registry", REPOSITORY)
    out = tmp_path / "out"
    gen_ok(registry, out, env, "--lang", "python", "--python-runtime", "betterproto")
    package = out / "python" / "registry_contracts"
    assert "class AuditEvent(betterproto2.Message)" in (package / "audit" / "v1" / "__init__.py").read_text()
    assert not list(package.rglob("*_pb2.py")), "the betterproto flavour writes no protoc classes"
    assert '"betterproto2==0.10.0"' in (out / "python" / "pyproject.toml").read_text()
    program = """
from registry_contracts.audit.v1 import AuditEvent
from registry_contracts.email.v1 import EmailMessage
from registry_contracts.topics import AUDIT_EVENTS_V1

record = AUDIT_EVENTS_V1.encode(AuditEvent(zone_id="z1", labels={"a": "b"}))
assert record.key == b"z1", record.key
assert dict(record.headers)["ce_type"] == b"audit.v1.AuditEvent"
event = AUDIT_EVENTS_V1.decode(record.value, record.headers)
assert isinstance(event, AuditEvent) and event.zone_id == "z1" and event.labels == {"a": "b"}
try:
    AUDIT_EVENTS_V1.encode(EmailMessage())  # type: ignore[arg-type]
except TypeError:
    print("ok")
"""
    python_path = os.pathsep.join([str(out / "python"), str(REPOSITORY / "runtime" / "python" / "src")])
    result = subprocess.run(
        [sys.executable, "-c", program], env={**env, "PYTHONPATH": python_path}, capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_unknown_python_runtime_is_a_configuration_error(tmp_path: Path, env: dict[str, str]) -> None:
    registry = copy_registry(tmp_path / "registry", REPOSITORY)
    result = gen(registry, tmp_path / "out", env, "--lang", "python", "--python-runtime", "cython")
    assert result.returncode == 2 and "python.runtime 'cython' is not one of protobuf, betterproto" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_fixture_registry_declares_the_same_topic_option_as_the_registry() -> None:
    """The golden tree is only evidence for the real option schema while the fixture carries a copy of it."""
    option = Path("proto") / "contracts" / "v1" / "options.proto"
    assert (FIXTURE_REGISTRY / option).read_bytes() == (REPOSITORY / option).read_bytes(), (
        "tests/fixtures/registry has a stale options.proto: copy proto/contracts/v1/options.proto there "
        "and run scripts/refresh-golden"
    )
