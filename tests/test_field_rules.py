"""Field rules (protovalidate) on the registry side: the model reads them, `contracts lint` checks them
with buf's PROTOVALIDATE rule, `contracts breaking` tells a tightened rule from a loosened one
(`rule_changes`), and the generated bindings carry each topic's `validation` mode.

The runtimes' enforcement has its own tests (runtime/*/tests); here the generated Python package is
imported as a service would import it, and its topics are asked to validate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from contracts_cli.config import open_root
from contracts_cli.generate.tools import protoc_wrapper
from contracts_cli.lint import image_lint_config
from contracts_cli.load import load_registry
from contracts_cli.model import Registry, Rules
from contracts_cli.rule_changes import tightened

from tests.registry_fixtures import (
    AUDIT,
    COMMON,
    PREFERENCES,
    REPOSITORY,
    Edit,
    apply_edits,
    clone_registry,
    contracts_env,
    init_git_registry,
    line_of,
    run_contracts,
    session_cache,
)

# fmt: off
# (description, before, after): each must count as tightened.
TIGHTER: list[tuple[str, Rules, Rules]] = [
    ("constraint added", (), (("string.email", True),)),
    ("required added", (), (("required", True),)),
    ("lower bound raised", (("string.min_len", 1),), (("string.min_len", 3),)),
    ("upper bound lowered", (("string.max_len", 64),), (("string.max_len", 32),)),
    ("upper bound added", (), (("uint32.lt", 1440),)),
    ("lt moved inward", (("int64.lt", 100),), (("int64.lt", 50),)),
    ("gte became gt at the same value", (("int64.gte", 0),), (("int64.gt", 0),)),
    ("lte became lt at the same value", (("int64.lte", 9),), (("int64.lt", 9),)),
    ("in lost a value", (("string.in", ("a", "b")),), (("string.in", ("a",)),)),
    ("not_in gained a value", (("enum.not_in", (0,)),), (("enum.not_in", (0, 3)),)),
    ("CEL expression changed", (("cel", (("r", "this.a < this.b"),)),), (("cel", (("r", "this.a <= this.b - 1"),)),)),
    ("CEL rule added", (("cel", (("r", "x"),)),), (("cel", (("r", "x"), ("s", "y"))),)),
    ("pattern changed", (("string.pattern", "^a"),), (("string.pattern", "^ab"),)),
    ("ignore removed", (("ignore", "IGNORE_IF_ZERO_VALUE"), ("string.min_len", 1)), (("string.min_len", 1),)),
    ("strict turned back on", (("string.strict", False),), ()),
    ("items rule added", (), (("repeated.items.string.email", True),)),
    ("timestamp lower bound raised", (("timestamp.gt", 10),), (("timestamp.gt", 20),)),
    ("exclusive range changed", (("int32.gt", 10), ("int32.lt", 5)), (("int32.gt", 10), ("int32.lt", 4))),
]
# Each must pass: loosened or unchanged in effect.
LOOSER: list[tuple[str, Rules, Rules]] = [
    ("constraint removed", (("string.email", True),), ()),
    ("required removed", (("required", True),), ()),
    ("lower bound lowered", (("string.min_len", 3),), (("string.min_len", 1),)),
    ("upper bound raised", (("string.max_len", 32),), (("string.max_len", 64),)),
    ("gt became gte at the same value", (("int64.gt", 0),), (("int64.gte", 0),)),
    ("in gained a value", (("string.in", ("a",)),), (("string.in", ("a", "b")),)),
    ("not_in lost a value", (("enum.not_in", (0, 3)),), (("enum.not_in", (0,)),)),
    ("CEL rule removed", (("cel", (("r", "x"), ("s", "y"))),), (("cel", (("r", "x"),)),)),
    ("CEL id renamed, same expression", (("cel", (("r", "x"),)),), (("cel", (("renamed", "x"),)),)),
    ("ignore added", (("string.min_len", 1),), (("ignore", "IGNORE_IF_ZERO_VALUE"), ("string.min_len", 1))),
    ("ignore always", (), (("ignore", "IGNORE_ALWAYS"), ("string.min_len", 9))),
    ("strict turned off", (), (("string.strict", False),)),
    ("examples changed", (("string.example", ("a",)),), (("string.example", ("b",)),)),
    ("numeric type widened, bound kept", (("uint32.lt", 1440),), (("uint64.lt", 1440),)),
    ("unchanged", (("string.min_len", 1), ("string.email", True)), (("string.min_len", 1), ("string.email", True))),
]
# fmt: on


@pytest.mark.parametrize(("description", "before", "after"), TIGHTER, ids=[row[0] for row in TIGHTER])
def test_tightened(description: str, before: Rules, after: Rules) -> None:
    assert tightened(before, after), description


@pytest.mark.parametrize(("description", "before", "after"), LOOSER, ids=[row[0] for row in LOOSER])
def test_not_tightened(description: str, before: Rules, after: Rules) -> None:
    assert tightened(before, after) == [], description


def test_a_tightening_names_the_rule_and_both_values() -> None:
    (change,) = tightened((("string.min_len", 1),), (("string.min_len", 3),))
    assert change.describe() == "string.min_len 1 -> 3"
    (added,) = tightened((("cel", (("r", "a"),)),), (("cel", (("r", "a"), ("s", "b"))),))
    assert added.describe() == "cel 'b' added"


# ------------------------------------------------------------------------ the example registry's model


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return contracts_env(session_cache(tmp_path_factory))


@pytest.fixture(scope="module")
def compile_in_session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        cache = session_cache(tmp_path_factory)
        patch.setenv("CONTRACTS_CACHE", str(cache))
        patch.setenv("BUF_CACHE_DIR", str(cache / "buf"))
        yield


@pytest.fixture(scope="module")
def registry(compile_in_session_cache: None) -> Registry:
    return load_registry(open_root(REPOSITORY))


def test_the_model_reads_field_message_and_enum_rules(registry: Registry) -> None:
    address = registry.messages["common.v1.EmailAddress"].field_named("address")
    assert address is not None and address.rules == (("string.email", True),)
    channel = registry.messages["preferences.v1.ChannelPreference"].field_named("channel")
    assert channel is not None and channel.rules == (("enum.defined_only", True), ("enum.not_in", (0,)))
    quiet_hours = registry.messages["preferences.v1.QuietHours"]
    assert quiet_hours.rules == (("cel", (("quiet_hours.window", "this.start_minute != this.end_minute"),)),)
    zone_name = registry.messages["audit.v1.AuditEvent.ZoneDeleted"].field_named("zone_name")
    assert zone_name is not None and zone_name.rules == (("string.min_len", 1),)
    event_id = registry.messages["audit.v1.AuditEvent"].field_named("event_id")
    assert event_id is not None and event_id.rules == ()


def test_the_model_reads_each_topics_validation_mode(registry: Registry) -> None:
    modes = {topic.name: topic.validation for topic in registry.topics}
    assert modes == {
        "audit.events.v1": "dlq",
        "email.dispatch.v1": "reject",
        "marketing.audience.v1": "reject",
        "preferences.changed.v1": "reject",
    }


def test_protovalidate_is_vendored_not_a_contract(registry: Registry) -> None:
    assert "buf/validate/validate.proto" in registry.files
    assert "buf/validate/validate.proto" not in {f.name for f in registry.local_files()}
    assert registry.uses_field_rules


def test_lint_of_the_image_leaves_third_party_out() -> None:
    config = json.loads(image_lint_config(open_root(REPOSITORY)) or "{}")
    assert config["lint"]["ignore"] == ["buf/validate/validate.proto"]


# ------------------------------------------------------------------------ the CLI


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_git_registry(tmp_path_factory.mktemp("field-rules") / "registry")


def lint_lines(repository: Path, env: dict[str, str]) -> tuple[int, list[str]]:
    result = run_contracts(["lint"], repository, env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout.splitlines()


def test_lint_is_clean_on_the_example_registry(base: Path, tmp_path: Path, env: dict[str, str]) -> None:
    assert lint_lines(clone_registry(base, tmp_path / "registry"), env) == (0, [])


BUF_YAML_FORMS = {
    "per-module ignore": (
        "version: v2\nmodules:\n  - path: proto\n  - path: third_party\n    lint:\n      ignore:\n"
        "        - third_party\nlint:\n  use:\n    - STANDARD\nbreaking:\n  use:\n    - FILE\n"
    ),
    "a set without PROTOVALIDATE": (
        "version: v2\nmodules:\n  - path: proto\n  - path: third_party\nlint:\n  use:\n    - MINIMAL\n"
        "  ignore:\n    - third_party\nbreaking:\n  use:\n    - FILE\n"
    ),
    "linted from the sources": (
        "version: v2\nmodules:\n  - path: proto\n  - path: third_party\n    lint:\n      use:\n        - MINIMAL\n"
        "      ignore:\n        - third_party/buf\nlint:\n  use:\n    - STANDARD\n"
    ),
}


@pytest.mark.parametrize("form", [None, *BUF_YAML_FORMS], ids=["repository buf.yaml", *BUF_YAML_FORMS])
def test_lint_reports_contradictory_rules_and_cel_that_does_not_type_check(
    form: str | None, base: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    repository = clone_registry(base, tmp_path / "registry")
    edits = [
        Edit(AUDIT, "string.min_len = 1]", "string = {min_len: 5, max_len: 2}]"),
        Edit(PREFERENCES, "this.start_minute != this.end_minute", "this.start_minute != 'midnight'"),
    ]
    if form is not None:
        edits.append(Edit("buf.yaml", None, BUF_YAML_FORMS[form]))
    apply_edits(repository, edits)
    code, lines = lint_lines(repository, env)
    assert code == 1
    found = {(line.split(":")[0], int(line.split(":")[1]), line.split()[1]) for line in lines}
    assert (AUDIT, line_of(repository, AUDIT, "max_len: 2"), "PROTOVALIDATE") in found
    assert (PREFERENCES, line_of(repository, PREFERENCES, "'midnight'") - 1, "PROTOVALIDATE") in found or any(
        path == PREFERENCES and rule == "PROTOVALIDATE" for path, _, rule in found
    )
    assert not any("third_party" in line for line in lines), lines


def test_topics_json_carries_the_validation_mode(base: Path, env: dict[str, str]) -> None:
    result = run_contracts(["topics", "--format", "json"], base, env)
    assert result.returncode == 0, result.stderr
    modes = {row["topic"]: row["validation"] for row in json.loads(result.stdout)}
    assert modes["audit.events.v1"] == "dlq" and modes["email.dispatch.v1"] == "reject"


def test_validation_off_reaches_the_model(base: Path, tmp_path: Path, compile_in_session_cache: None) -> None:
    repository = clone_registry(base, tmp_path / "registry")
    apply_edits(repository, [Edit(AUDIT, "validation: VALIDATION_DLQ", "validation: VALIDATION_OFF")])
    modes = {topic.name: topic.validation for topic in load_registry(open_root(repository)).topics}
    assert modes["audit.events.v1"] == "off"


def test_breaking_reports_a_tightened_rule_where_it_is(base: Path, tmp_path: Path, env: dict[str, str]) -> None:
    repository = clone_registry(base, tmp_path / "registry")
    rule = "string id = 2 [(buf.validate.field).string.min_len = 3];"
    apply_edits(repository, [Edit(COMMON, "string id = 2;", rule)])
    result = run_contracts(["breaking"], repository, env)
    assert result.returncode == 1, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{COMMON}:{line_of(repository, COMMON, 'string id = 2')}:")
    assert "TOPIC_RULE_TIGHTENED" in line and "common.v1.Actor.id" in line and "string.min_len = 3 added" in line
    assert '"audit.events.v1"' in line and '"preferences.changed.v1"' in line


def test_breaking_ignores_the_vendored_module(base: Path, tmp_path: Path, env: dict[str, str]) -> None:
    repository = clone_registry(base, tmp_path / "registry")
    apply_edits(repository, [Edit("third_party/buf/validate/validate.proto", "  optional bool required = 25;\n", "")])
    result = run_contracts(["breaking"], repository, env)
    assert (result.returncode, result.stdout) == (0, ""), result.stdout


# ------------------------------------------------------------------------ the generated Python package

GENERATED_PYTHON = REPOSITORY / "generated" / "python"

VALIDATE_SCRIPT = """
from registry_contracts.audit.v1.audit_pb2 import AuditEvent
from registry_contracts.preferences.v1.preferences_pb2 import ChannelPreference, PreferenceChanged, QuietHours
from registry_contracts.topics import AUDIT_EVENTS_V1, PREFERENCES_CHANGED_V1

invalid = PreferenceChanged(
    user_id="u-1",
    channels=[ChannelPreference(channel=1), ChannelPreference()],
    quiet_hours=QuietHours(start_minute=600, end_minute=600),
)
print(PREFERENCES_CHANGED_V1.validation, AUDIT_EVENTS_V1.validation)
for violation in PREFERENCES_CHANGED_V1.violations(invalid):
    print(violation.rule_id, violation.field)
print(len(AUDIT_EVENTS_V1.violations(AuditEvent(zone_id=""))))
"""


def test_generated_python_topics_validate_with_the_contracts_rules(tmp_path: Path) -> None:
    # A process of its own, with only the generated package on the path (as a service has it).
    result = subprocess.run(
        [sys.executable, "-c", VALIDATE_SCRIPT],
        cwd=tmp_path,
        env={"PYTHONPATH": str(GENERATED_PYTHON), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "reject dlq",
        "enum.not_in channels[1].channel",
        "quiet_hours.window quiet_hours",
        "0",
    ]
    assert (GENERATED_PYTHON / "registry_contracts" / "buf" / "validate" / "validate_pb2.py").is_file()


# ------------------------------------------------------------------------ the generated Go module and Rust crate

PROGRAMS = Path(__file__).resolve().parent / "field_rules"  # main.go and main.rs: validate one message
EXPECTED_VIOLATIONS = ["enum.not_in channels[1].channel", "quiet_hours.window quiet_hours", "VALIDATION_DLQ"]


@pytest.mark.slow
def test_generated_go_topics_validate_with_the_contracts_rules(tmp_path: Path) -> None:
    module = tmp_path / "go"
    module.mkdir()
    (module / "go.mod").write_text(
        "module fieldrules\n\ngo 1.26.0\n\nrequire example.com/registry/gen v0.0.0\n\n"
        f"replace example.com/registry/gen => {REPOSITORY / 'generated' / 'go'}\n\n"
        f"replace github.com/contractsdev/contracts/runtime/go => {REPOSITORY / 'runtime' / 'go'}\n"
    )
    (module / "go.sum").write_bytes((REPOSITORY / "generated" / "go" / "go.sum").read_bytes())
    (module / "main.go").write_bytes((PROGRAMS / "main.go").read_bytes())
    result = subprocess.run(
        ["go", "run", "-mod=mod", "."], cwd=module, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED_VIOLATIONS


@pytest.mark.slow
def test_generated_rust_topics_validate_with_the_contracts_rules(
    tmp_path: Path, compile_in_session_cache: None
) -> None:
    crate = tmp_path / "rust"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "fieldrules"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
        f'registry-contracts = {{ path = "{REPOSITORY / "generated" / "rust"}", default-features = false, '
        'features = ["validate"] }\n\n[workspace]\n'
    )
    (crate / "src" / "main.rs").write_bytes((PROGRAMS / "main.rs").read_bytes())
    # prost-protovalidate-types compiles validate.proto with a protoc: grpcio-tools' serves.
    cargo_env = {**os.environ, "PROTOC": str(protoc_wrapper())}
    cargo_env.setdefault("CARGO_TARGET_DIR", str(REPOSITORY / ".cache" / "cargo-target"))
    result = subprocess.run(
        ["cargo", "run", "--quiet"], cwd=crate, env=cargo_env, capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED_VIOLATIONS
