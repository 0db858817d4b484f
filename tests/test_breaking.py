"""`contracts breaking`: the topic-level rules both ways, and a corpus of edits run through the CLI.

The corpus runs the installed command in a temporary git repository whose `main`
holds the example registry, exactly as CI does: each row is one edit of the
working tree and the rule id that must be reported (None: the edit is safe and
the command must exit 0). The example registry's topics cover every level:
audit.events.v1 is SOURCE (the default), email.dispatch.v1 WIRE_JSON and
preferences.changed.v1 WIRE; common.v1.Actor is shared by the audit (SOURCE) and
preferences (WIRE) topics, common.v1.Channel only by preferences, and
common.v1.EmailAddress only by email.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from contracts_cli.breaking import TOPIC_RULES
from contracts_cli.config import open_root
from contracts_cli.findings import Finding
from contracts_cli.load import load_registry
from contracts_cli.model import Registry

from tests.registry_fixtures import (
    AUDIT,
    COMMON,
    EMAIL,
    PREFERENCES,
    Edit,
    apply_edits,
    bound_message_file,
    clone_registry,
    commit_all,
    contracts_env,
    init_git_registry,
    run_contracts,
    session_cache,
)

TEXT_FINDING = re.compile(
    r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<column>\d+): (?P<rule>[A-Z][A-Z0-9_]+) (?P<message>.+)$"
)
TOPIC_OPTION = re.compile(r"  option \(contracts\.v1\.topic\) = \{.*?\};\n", re.S)
NEW_TOPIC = "proto/billing/v1/invoice.proto"
DETAILS = "  google.protobuf.Struct details = 8;\n"
LOCALE = "string locale = 6;"
PRIORITY_HIGH = "PRIORITY_HIGH = 3;"
VALIDATE = "buf/validate/validate.proto"
START_MINUTE = "uint32 start_minute = 1 [(buf.validate.field).uint32.lt = 1440];"
ZONE_NAME_RULE = "(buf.validate.field).string.min_len = 1"
WINDOW_RULE = "this.start_minute != this.end_minute"
LOWER_AUDIT_TO_NONE = Edit(AUDIT, 'owner: "team-audit"', 'owner: "team-audit"\n    compatibility: COMPATIBILITY_NONE')


@dataclass(frozen=True)
class Change:
    description: str
    edits: tuple[Edit, ...]
    expected: str | None  # the rule id that must be reported, or None for a safe change

    @property
    def id(self) -> str:
        return self.description.replace(" ", "-")


def change(
    description: str, file: str, old: str | re.Pattern[str] | None, new: str | None, expected: str | None
) -> Change:
    return Change(description, (Edit(file, old, new),), expected)


# fmt: off
BREAKING_CHANGES: list[Change] = [
    # Source level: audit.events.v1 (the default, COMPATIBILITY_SOURCE) and the types it uses.
    change("source field type changed", AUDIT, "string event_id = 1;", "int64 event_id = 1;", "FIELD_SAME_TYPE"),
    change("source field number reused", AUDIT, "map<string, string> labels = 7;", "string region = 7;",
           "FIELD_SAME_NAME"),
    change("source field removed without reserved", AUDIT, DETAILS, "", "FIELD_NO_DELETE"),
    change("source field removed with reserved", AUDIT, DETAILS,
           '  reserved 8;\n  reserved "details";\n', "FIELD_NO_DELETE"),
    change("source field renamed", AUDIT, "string event_id = 1;", "string event_uuid = 1;", "FIELD_SAME_NAME"),
    change("source field made optional", AUDIT, "string event_id = 1;", "optional string event_id = 1;",
           "FIELD_SAME_CARDINALITY"),
    change("source field moved into a oneof", AUDIT, "  string event_id = 1;\n",
           "  oneof id {\n    // Unique id.\n    string event_id = 1;\n  }\n", "FIELD_SAME_ONEOF"),
    change("source map value type changed", AUDIT, "map<string, string> labels = 7;", "map<string, int64> labels = 7;",
           "FIELD_SAME_TYPE"),
    change("source file option changed", AUDIT, "package audit.v1;",
           'package audit.v1;\n\noption java_package = "com.example.audit.v1";', "FILE_SAME_JAVA_PACKAGE"),
    change("shared enum value removed", COMMON, "  ACTOR_KIND_SYSTEM = 3;\n", "", "ENUM_VALUE_NO_DELETE"),
    change("shared enum value renumbered", COMMON, "ACTOR_KIND_SYSTEM = 3;", "ACTOR_KIND_SYSTEM = 4;",
           "ENUM_VALUE_NO_DELETE"),
    change("type shared by wire and source topics judged at source", COMMON, "string display_name = 3;",
           "string name = 3;", "FIELD_SAME_NAME"),
    # Wire level: preferences.changed.v1 (COMPATIBILITY_WIRE) and the types only it uses.
    change("wire field type changed", PREFERENCES, LOCALE, "int64 locale = 6;", "FIELD_WIRE_COMPATIBLE_TYPE"),
    change("wire shared field type changed", PREFERENCES, START_MINUTE, "string start_minute = 1;",
           "FIELD_WIRE_COMPATIBLE_TYPE"),
    change("wire field removed without reserved", PREFERENCES, "  string locale = 6;\n", "",
           "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"),
    change("wire field made repeated", PREFERENCES, "string locale = 6;", "repeated string locale = 6;",
           "FIELD_WIRE_COMPATIBLE_CARDINALITY"),
    change("wire enum value removed", COMMON, "  CHANNEL_PUSH = 3;\n", "",
           "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"),
    # JSON level: email.dispatch.v1 (COMPATIBILITY_WIRE_JSON) and the types only it uses.
    change("json field renamed", EMAIL, "string template_id = 2;", "string template_ref = 2;", "FIELD_SAME_JSON_NAME"),
    change("json name changed", EMAIL, "string template_id = 2;", 'string template_id = 2 [json_name = "templateRef"];',
           "FIELD_SAME_JSON_NAME"),
    change("json enum value renamed", EMAIL, "PRIORITY_LOW = 1;", "PRIORITY_MINOR = 1;", "ENUM_VALUE_SAME_NAME"),
    change("json enum value removed, number reserved", EMAIL, "  PRIORITY_HIGH = 3;\n", "  reserved 3;\n",
           "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED"),
    change("json field removed, number reserved", EMAIL, "  Limits limits = 12;\n", "  reserved 12;\n",
           "FIELD_NO_DELETE_UNLESS_NAME_RESERVED"),
    change("json int32 widened to int64", EMAIL, "int32 template_version = 3;", "int64 template_version = 3;",
           "FIELD_WIRE_JSON_COMPATIBLE_TYPE"),
    change("json shared field renamed", COMMON, "string name = 2;", "string display_name = 2;", "FIELD_SAME_JSON_NAME"),
    # Topic level: what buf cannot know.
    change("topic binding removed", AUDIT, TOPIC_OPTION, "", "TOPIC_REMOVED"),
    change("topic file deleted", PREFERENCES, None, None, "TOPIC_REMOVED"),
    change("topic renamed", AUDIT, 'name: "audit.events.v1"', 'name: "audit.changes.v1"', "TOPIC_RENAMED"),
    change("topic re-bound to a renamed type", PREFERENCES, "message PreferenceChanged {",
           "message PreferencesChanged {", "TOPIC_REBOUND"),
    Change("topic re-bound to another type", (
        Edit(PREFERENCES, TOPIC_OPTION, ""),
        Edit(PREFERENCES, "message QuietHours {", 'message QuietHours {\n  option (contracts.v1.topic) = '
             '{name: "preferences.changed.v1" key: "time_zone" partitions: 3 cleanup_policy: "compact"};'),
    ), "TOPIC_REBOUND"),
    change("topic key changed", AUDIT, 'key: "zone_id"', 'key: "event_id"', "TOPIC_KEY_CHANGED"),
    change("topic key removed", AUDIT, '    key: "zone_id"\n', "", "TOPIC_KEY_CHANGED"),
    change("topic partitions decreased", AUDIT, "partitions: 12", "partitions: 6", "TOPIC_PARTITIONS_DECREASED"),
    change("topic cleanup policy compact to delete", PREFERENCES, '"compact"', '"delete"',
           "TOPIC_CLEANUP_POLICY_CHANGED"),
    change("topic cleanup policy delete to compact", AUDIT, 'retention: "7d"',
           'retention: "7d"\n    cleanup_policy: "compact"', "TOPIC_CLEANUP_POLICY_CHANGED"),
    # Field rules (protovalidate): a record valid yesterday must stay valid, at every level but NONE.
    change("rule bound moved inward", AUDIT, ZONE_NAME_RULE, "(buf.validate.field).string.min_len = 3",
           "TOPIC_RULE_TIGHTENED"),
    change("rule added to a shared type", COMMON, "string display_name = 3;",
           "string display_name = 3 [(buf.validate.field).string.max_len = 64];", "TOPIC_RULE_TIGHTENED"),
    change("required added", AUDIT, "common.v1.Actor actor = 3;",
           "common.v1.Actor actor = 3 [(buf.validate.field).required = true];", "TOPIC_RULE_TIGHTENED"),
    change("CEL rule changed", PREFERENCES, WINDOW_RULE, "this.start_minute < this.end_minute",
           "TOPIC_RULE_TIGHTENED"),
    change("enum rule tightened", PREFERENCES, "not_in: [0]", "not_in: [0, 3]", "TOPIC_RULE_TIGHTENED"),
    Change("rule on a new field without presence", (
        Edit(EMAIL, 'import "common/v1/common.proto";', f'import "{VALIDATE}";\nimport "common/v1/common.proto";'),
        Edit(EMAIL, "  Limits limits = 12;\n",
             "  Limits limits = 12;\n  // Campaign.\n  string campaign = 13 [(buf.validate.field).string.len = 3];\n"),
    ), "TOPIC_RULE_TIGHTENED"),
    # Levels change only once merged: lowering and breaking in one change is judged at the old level,
    # raising and breaking in one change at the new one.
    Change("lowering compatibility in the breaking change itself", (
        LOWER_AUDIT_TO_NONE, Edit(AUDIT, "string event_id = 1;", "int64 event_id = 1;"),
    ), "FIELD_SAME_TYPE"),
    Change("raising compatibility in the breaking change itself", (
        Edit(PREFERENCES, "COMPATIBILITY_WIRE", "COMPATIBILITY_SOURCE"),
        Edit(PREFERENCES, "string locale = 6;", "string language = 6;"),
    ), "FIELD_SAME_NAME"),
]

SAFE_CHANGES: list[Change] = [
    change("rule bound moved outward", PREFERENCES, START_MINUTE,
           "uint32 start_minute = 1 [(buf.validate.field).uint32.lte = 1440];", None),
    change("rule removed", COMMON, " [(buf.validate.field).string.email = true]", "", None),
    change("CEL rule removed", PREFERENCES, re.compile(r"  // The window may.*?  \};\n\n", re.S), "", None),
    change("enum rule loosened", PREFERENCES, "    defined_only: true\n", "", None),
    change("rule on a new optional field", AUDIT, DETAILS,
           f"{DETAILS}  // Region.\n  optional string region = 9 [(buf.validate.field).string.min_len = 2];\n", None),
    change("rule message reworded", PREFERENCES, "a quiet window ends at another minute than it starts",
           "a quiet window cannot be empty", None),
    change("field added", AUDIT, "google.protobuf.Struct details = 8;",
           "google.protobuf.Struct details = 8;\n  // Region the zone is served from.\n  string region = 9;", None),
    change("enum value added", EMAIL, PRIORITY_HIGH, f"{PRIORITY_HIGH}\n  // Right now.\n  PRIORITY_URGENT = 4;", None),
    change("shared enum value added", COMMON, "ACTOR_KIND_SYSTEM = 3;",
           "ACTOR_KIND_SYSTEM = 3;\n  // An automated agent.\n  ACTOR_KIND_AGENT = 4;", None),
    change("comment changed", AUDIT, "// Who made the change.", "// Who made the change: a person or a service.", None),
    change("message added", COMMON, "// EmailAddress is", "// Money is an amount.\nmessage Money {\n  // Cents.\n"
           "  int64 cents = 1;\n}\n\n// EmailAddress is", None),
    change("nested message added", AUDIT, "  // ZoneDeleted carries", "  // Restored is a zone brought back.\n"
           "  message Restored {\n    // Zone name.\n    string zone_name = 1;\n  }\n\n  // ZoneDeleted carries", None),
    change("new topic", NEW_TOPIC, None, bound_message_file("billing.v1", "Invoice", "billing.invoices.v1"), None),
    change("shared type bound to a new topic", PREFERENCES, "message QuietHours {",
           'message QuietHours {\n  option (contracts.v1.topic) = {name: "preferences.quiet_hours.v1"};', None),
    change("partitions increased", AUDIT, "partitions: 12", "partitions: 24", None),
    change("retention changed", AUDIT, 'retention: "7d"', 'retention: "14d"', None),
    change("replication factor changed", EMAIL, "replication_factor: 3", "replication_factor: 5", None),
    change("owner and consumers changed", AUDIT, 'owner: "team-audit"',
           'owner: "team-dns"\n    consumers: "svc-billing"', None),
    change("cleanup policy spelled out as the default", AUDIT, 'retention: "7d"',
           'retention: "7d"\n    cleanup_policy: "delete"', None),
    change("compatibility raised", PREFERENCES, "COMPATIBILITY_WIRE", "COMPATIBILITY_SOURCE", None),
    # Wire level lets names change and wire-compatible types widen.
    change("wire field renamed", PREFERENCES, "string locale = 6;", "string language = 6;", None),
    change("wire shared field renamed", PREFERENCES, "bool opted_in = 2;", "bool enabled = 2;", None),
    change("wire field widened, its rule kept", PREFERENCES, START_MINUTE,
           "uint64 start_minute = 1 [(buf.validate.field).uint64.lt = 1440];", None),
    change("wire field removed, number reserved", PREFERENCES, "  string locale = 6;\n", "  reserved 6;\n", None),
    change("wire enum value renamed", COMMON, "CHANNEL_SMS = 2;", "CHANNEL_TEXT = 2;", None),
    change("wire file option changed", PREFERENCES, "package preferences.v1;",
           'package preferences.v1;\n\noption java_package = "com.example.preferences.v1";', None),
    # JSON level needs names reserved too, and then lets the field go.
    change("json field removed, number and name reserved", EMAIL, "  Limits limits = 12;\n",
           '  reserved 12;\n  reserved "limits";\n', None),
    change("json enum value removed, number and name reserved", EMAIL, "  PRIORITY_HIGH = 3;\n",
           '  reserved 3;\n  reserved "PRIORITY_HIGH";\n', None),
]

# Changes judged after audit.events.v1 was lowered to COMPATIBILITY_NONE on main.
AFTER_AUDIT_LOWERED_TO_NONE: list[Change] = [
    change("none topic field type changed", AUDIT, "string event_id = 1;", "int64 event_id = 1;", None),
    change("none topic field removed", AUDIT, "  google.protobuf.Struct details = 8;\n", "", None),
    change("none topic rule tightened", AUDIT, ZONE_NAME_RULE, "(buf.validate.field).string.min_len = 3", None),
    change("none topic still keeps its partitions", AUDIT, "partitions: 12", "partitions: 6",
           "TOPIC_PARTITIONS_DECREASED"),
    # common.v1.Actor is now used by a NONE and a WIRE topic: WIRE decides.
    change("shared type falls to wire: rename passes", COMMON, "string display_name = 3;", "string name = 3;", None),
    change("shared type falls to wire: type change fails", COMMON, "string display_name", "int64 display_name",
           "FIELD_WIRE_COMPATIBLE_TYPE"),
]
# fmt: on


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return contracts_env(session_cache(tmp_path_factory))


@pytest.fixture(scope="module")
def base_repository(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    """The example registry committed on main, with main's image already in the cache."""
    repository = init_git_registry(tmp_path_factory.mktemp("breaking-base") / "registry")
    result = run_contracts(["breaking"], repository, env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    return repository


@pytest.fixture(scope="module")
def lowered_repository(tmp_path_factory: pytest.TempPathFactory, base_repository: Path, env: dict[str, str]) -> Path:
    """The base repository with audit.events.v1 lowered to COMPATIBILITY_NONE in a second commit on main."""
    repository = clone_registry(base_repository, tmp_path_factory.mktemp("breaking-lowered") / "registry")
    apply_edits(repository, [LOWER_AUDIT_TO_NONE])
    commit_all(repository, "audit: no compatibility check")
    result = run_contracts(["breaking"], repository, env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    return repository


def reported_findings(repository: Path, env: dict[str, str]) -> tuple[int, list[re.Match[str]]]:
    result = run_contracts(["breaking"], repository, env)
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    matches = [TEXT_FINDING.match(line) for line in lines]
    assert all(matches), f"not path:line:col: RULE message lines:\n{result.stdout}"
    if result.returncode == 2:
        pytest.fail(f"contracts breaking failed: {result.stderr}")
    return result.returncode, [m for m in matches if m]


def check_change(case: Change, base: Path, destination: Path, env: dict[str, str]) -> None:
    repository = clone_registry(base, destination / "registry")
    apply_edits(repository, case.edits)
    exit_code, findings = reported_findings(repository, env)
    reported = sorted({f["rule"] for f in findings})
    if case.expected is None:
        assert (exit_code, reported) == (0, []), f"a safe change was flagged: {[f.group(0) for f in findings]}"
    else:
        assert exit_code == 1, f"a breaking change passed: {case.description}"
        assert case.expected in reported, f"expected {case.expected}, got {[f.group(0) for f in findings]}"
        edited_files = {edit.file for edit in case.edits}
        assert all(f["path"] in edited_files for f in findings if f["rule"] == case.expected), findings


@pytest.mark.parametrize("case", BREAKING_CHANGES, ids=[case.id for case in BREAKING_CHANGES])
def test_breaking_change_is_flagged(case: Change, base_repository: Path, tmp_path: Path, env: dict[str, str]) -> None:
    check_change(case, base_repository, tmp_path, env)


@pytest.mark.parametrize("case", SAFE_CHANGES, ids=[case.id for case in SAFE_CHANGES])
def test_safe_change_passes(case: Change, base_repository: Path, tmp_path: Path, env: dict[str, str]) -> None:
    check_change(case, base_repository, tmp_path, env)


@pytest.mark.parametrize("case", AFTER_AUDIT_LOWERED_TO_NONE, ids=[case.id for case in AFTER_AUDIT_LOWERED_TO_NONE])
def test_compatibility_none(case: Change, lowered_repository: Path, tmp_path: Path, env: dict[str, str]) -> None:
    check_change(case, lowered_repository, tmp_path, env)


def test_the_corpus_covers_every_kind_of_change() -> None:
    assert len(BREAKING_CHANGES) >= 25
    assert len(SAFE_CHANGES) >= 10
    expected = {case.expected for case in BREAKING_CHANGES}
    source = {"FIELD_SAME_TYPE", "FIELD_SAME_NAME", "FIELD_NO_DELETE", "ENUM_VALUE_NO_DELETE"}
    wire = {"FIELD_WIRE_COMPATIBLE_TYPE", "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"}
    json = {"FIELD_SAME_JSON_NAME", "ENUM_VALUE_SAME_NAME"}
    topic = {rule.id for rule in TOPIC_RULES}
    assert source | wire | json | topic <= expected


def test_findings_name_the_level_that_judged_them(base_repository: Path, tmp_path: Path, env: dict[str, str]) -> None:
    repository = clone_registry(base_repository, tmp_path / "registry")
    apply_edits(repository, [Edit(COMMON, "string display_name = 3;", "string name = 3;")])
    _, findings = reported_findings(repository, env)
    assert findings
    for finding in findings:
        assert finding["path"] == COMMON
        assert finding["message"].endswith("(topic compatibility: source)")


def test_deleted_file_is_reported_at_its_own_path(base_repository: Path, tmp_path: Path, env: dict[str, str]) -> None:
    repository = clone_registry(base_repository, tmp_path / "registry")
    apply_edits(repository, [Edit(AUDIT, None, None)])
    _, findings = reported_findings(repository, env)
    assert {(f["path"], f["rule"]) for f in findings} >= {(AUDIT, "FILE_NO_DELETE"), (AUDIT, "TOPIC_REMOVED")}


def test_deleted_file_of_a_wire_topic_is_only_a_removed_topic(
    base_repository: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    # Deleting a file is a source change: a WIRE topic only cares that its topic is gone.
    repository = clone_registry(base_repository, tmp_path / "registry")
    apply_edits(repository, [Edit(PREFERENCES, None, None)])
    _, findings = reported_findings(repository, env)
    assert [(f["path"], f["rule"]) for f in findings] == [(PREFERENCES, "TOPIC_REMOVED")]


# The topic-level rules on their own: each compares two models, so these run in-process.


@dataclass(frozen=True)
class TopicRuleCase:
    rule: str
    fires: bool
    description: str
    edits: tuple[Edit, ...]

    @property
    def id(self) -> str:
        return f"{self.rule}-{'fires' if self.fires else 'quiet'}-{self.description}"


def fires(rule: str, description: str, *edits: Edit) -> TopicRuleCase:
    return TopicRuleCase(rule, True, description, edits)


def quiet(rule: str, description: str, *edits: Edit) -> TopicRuleCase:
    return TopicRuleCase(rule, False, description, edits)


# fmt: off
TOPIC_RULE_CASES: list[TopicRuleCase] = [
    fires("TOPIC_REMOVED", "binding removed", Edit(AUDIT, TOPIC_OPTION, "")),
    fires("TOPIC_REMOVED", "file deleted", Edit(PREFERENCES, None, None)),
    quiet("TOPIC_REMOVED", "renamed, not removed", Edit(AUDIT, '"audit.events.v1"', '"audit.changes.v1"')),
    quiet("TOPIC_REMOVED", "re-bound, not removed", Edit(PREFERENCES, "message PreferenceChanged {",
                                                         "message PreferencesChanged {")),
    fires("TOPIC_RENAMED", "name changed", Edit(AUDIT, '"audit.events.v1"', '"audit.changes.v1"')),
    quiet("TOPIC_RENAMED", "binding removed", Edit(AUDIT, TOPIC_OPTION, "")),
    quiet("TOPIC_RENAMED", "other settings changed", Edit(AUDIT, 'retention: "7d"', 'retention: "30d"')),
    fires("TOPIC_REBOUND", "message renamed", Edit(PREFERENCES, "message PreferenceChanged {",
                                                   "message PreferencesChanged {")),
    fires("TOPIC_REBOUND", "binding moved to another message",
          Edit(PREFERENCES, TOPIC_OPTION, ""),
          Edit(PREFERENCES, "message QuietHours {",
               'message QuietHours {\n  option (contracts.v1.topic) = {name: "preferences.changed.v1"};')),
    quiet("TOPIC_REBOUND", "message gains a field", Edit(PREFERENCES, "string locale = 6;",
                                                         "string locale = 6;\n  // Region.\n  string region = 8;")),
    fires("TOPIC_KEY_CHANGED", "key changed", Edit(AUDIT, 'key: "zone_id"', 'key: "event_id"')),
    fires("TOPIC_KEY_CHANGED", "key removed", Edit(AUDIT, '    key: "zone_id"\n', "")),
    quiet("TOPIC_KEY_CHANGED", "key field documented differently", Edit(AUDIT, "// The zone the change applies to;",
                                                                        "// The zone changed;")),
    fires("TOPIC_PARTITIONS_DECREASED", "12 to 6", Edit(AUDIT, "partitions: 12", "partitions: 6")),
    fires("TOPIC_PARTITIONS_DECREASED", "12 to 11", Edit(AUDIT, "partitions: 12", "partitions: 11")),
    quiet("TOPIC_PARTITIONS_DECREASED", "12 to 24", Edit(AUDIT, "partitions: 12", "partitions: 24")),
    fires("TOPIC_CLEANUP_POLICY_CHANGED", "compact to delete", Edit(PREFERENCES, '"compact"', '"delete"')),
    fires("TOPIC_CLEANUP_POLICY_CHANGED", "default delete to compact",
          Edit(AUDIT, 'retention: "7d"', 'retention: "7d"\n    cleanup_policy: "compact"')),
    fires("TOPIC_RULE_TIGHTENED", "email rule added to an unbound type used by a topic",
          Edit(COMMON, "string id = 2;", "string id = 2 [(buf.validate.field).string.min_len = 1];")),
    fires("TOPIC_RULE_TIGHTENED", "required oneof",
          Edit(AUDIT, "  oneof change {\n", "  oneof change {\n    option (buf.validate.oneof).required = true;\n")),
    quiet("TOPIC_RULE_TIGHTENED", "rule removed", Edit(AUDIT, f" [{ZONE_NAME_RULE}]", "")),
    quiet("TOPIC_RULE_TIGHTENED", "ignore always",
          Edit(AUDIT, ZONE_NAME_RULE, "(buf.validate.field) = {string: {min_len: 5} ignore: IGNORE_ALWAYS}")),
    quiet("TOPIC_CLEANUP_POLICY_CHANGED", "default delete spelled out",
          Edit(AUDIT, 'retention: "7d"', 'retention: "7d"\n    cleanup_policy: "delete"')),
]
# fmt: on


@pytest.fixture(scope="module")
def compile_in_session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        cache = session_cache(tmp_path_factory)
        patch.setenv("CONTRACTS_CACHE", str(cache))
        patch.setenv("BUF_CACHE_DIR", str(cache / "buf"))
        yield


@pytest.fixture(scope="module")
def previous_registry(base_repository: Path, compile_in_session_cache: None) -> Registry:
    return load_registry(open_root(base_repository))


def topic_findings(case: TopicRuleCase, base: Path, destination: Path, previous: Registry) -> list[Finding]:
    root = shutil.copytree(base, destination / "registry", ignore=shutil.ignore_patterns(".git"))
    apply_edits(root, case.edits)
    current = load_registry(open_root(root))
    (rule,) = [rule for rule in TOPIC_RULES if rule.id == case.rule]
    return list(rule.check(previous, current))


@pytest.mark.parametrize("case", TOPIC_RULE_CASES, ids=[case.id for case in TOPIC_RULE_CASES])
def test_topic_rule(case: TopicRuleCase, base_repository: Path, previous_registry: Registry, tmp_path: Path) -> None:
    findings = topic_findings(case, base_repository, tmp_path, previous_registry)
    if case.fires:
        assert findings, f"{case.rule} did not fire"
        assert all(f.rule == case.rule and f.line >= 1 and f.column >= 1 for f in findings), findings
        assert all(f.path == case.edits[-1].file for f in findings), findings
    else:
        assert findings == []


def test_every_topic_rule_has_a_firing_and_a_quiet_case() -> None:
    registered = [rule.id for rule in TOPIC_RULES]
    assert len(registered) == len(set(registered))
    assert {case.rule for case in TOPIC_RULE_CASES if case.fires} == set(registered)
    assert {case.rule for case in TOPIC_RULE_CASES if not case.fires} == set(registered)
