"""Every registry rule (codegen/rules/*.py), firing and staying quiet, side by side.

Each row of RULE_CASES is one small edit of the example registry and whether the
named rule must fire on it. Quiet rows are near misses: valid registries close to
the broken one, and they must come out with no registry finding at all.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from contracts_cli.config import open_root
from contracts_cli.findings import Finding
from contracts_cli.load import load_registry
from contracts_cli.rules import REGISTRY_RULES, run_registry_rules

from tests.registry_fixtures import (
    AUDIT,
    EMAIL,
    PREFERENCES,
    Edit,
    apply_edit,
    bound_message_file,
    copy_example_registry,
    line_of,
    session_cache,
)


@dataclass(frozen=True)
class RuleCase:
    rule: str
    fires: bool
    description: str
    edit: Edit

    @property
    def id(self) -> str:
        return f"{self.rule}-{'fires' if self.fires else 'quiet'}-{self.description}"


def fires(rule: str, description: str, file: str, old: str | re.Pattern[str] | None, new: str | None) -> RuleCase:
    return RuleCase(rule, True, description, Edit(file, old, new))


def quiet(rule: str, description: str, file: str, old: str | re.Pattern[str] | None, new: str | None) -> RuleCase:
    return RuleCase(rule, False, description, Edit(file, old, new))


def _bind_quiet_hours(topic: str) -> tuple[str, str, str]:
    """Bind the (documented, unbound) QuietHours message of preferences.proto to `topic`."""
    return (
        PREFERENCES,
        "message QuietHours {",
        f'message QuietHours {{\n  option (contracts.v1.topic) = {{name: "{topic}"}};',
    )


def _audit_option(old: str, new: str) -> tuple[str, str, str]:
    return AUDIT, old, new


MISC = "proto/misc/misc.proto"
MISC_V2BETA1 = "proto/misc/v2beta1/misc.proto"
LONGEST_TOPIC = "a" * 246 + ".v1"  # 249 characters: Kafka's limit
AUDIT_COMMENT = "// AuditEvent records one change to a customer resource."
EVENT_ID_COMMENT = "// Unique id of the event, assigned by the producer."

# fmt: off
RULE_CASES: list[RuleCase] = [
    fires("TOPIC_ONE_TYPE", "second type bound to a topic", *_bind_quiet_hours("preferences.changed.v1")),
    quiet("TOPIC_ONE_TYPE", "second type on a topic of its own", *_bind_quiet_hours("preferences.quiet_hours.v1")),
    fires("TOPIC_NAME_REQUIRED", "binding without name", AUDIT, '    name: "audit.events.v1"\n', ""),
    quiet("TOPIC_NAME_REQUIRED", "binding with another name", AUDIT, '"audit.events.v1"', '"audit.zone_events.v1"'),
    fires("TOPIC_MESSAGE_TOP_LEVEL", "nested message bound", AUDIT, "  message ZoneDeleted {",
          '  message ZoneDeleted {\n    option (contracts.v1.topic) = {name: "audit.zone_deleted.v1"};'),
    quiet("TOPIC_MESSAGE_TOP_LEVEL", "top-level message bound", *_bind_quiet_hours("preferences.quiet_hours.v1")),
    fires("TOPIC_PACKAGE_VERSIONED", "package without version", MISC, None,
          bound_message_file("misc", "Thing", "misc.things.v1")),
    quiet("TOPIC_PACKAGE_VERSIONED", "package with a beta version", MISC_V2BETA1, None,
          bound_message_file("misc.v2beta1", "Thing", "misc.things.v2")),
    fires("TOPIC_NAME_VALID", "slash in name", *_audit_option('"audit.events.v1"', '"audit/events.v1"')),
    fires("TOPIC_NAME_VALID", "space in name", *_audit_option('"audit.events.v1"', '"audit events.v1"')),
    fires("TOPIC_NAME_VALID", "name is a dot", *_audit_option('"audit.events.v1"', '"."')),
    fires("TOPIC_NAME_VALID", "name is 250 characters", *_audit_option('"audit.events.v1"', f'"a{LONGEST_TOPIC}"')),
    quiet("TOPIC_NAME_VALID", "every allowed character", *_audit_option('"audit.events.v1"', '"Audit_Events-2.v1"')),
    quiet("TOPIC_NAME_VALID", "name is 249 characters", *_audit_option('"audit.events.v1"', f'"{LONGEST_TOPIC}"')),
    fires("TOPIC_NAME_VERSION", "suffix ahead of package", *_audit_option('"audit.events.v1"', '"audit.events.v2"')),
    fires("TOPIC_NAME_VERSION", "no version suffix", *_audit_option('"audit.events.v1"', '"audit.events"')),
    fires("TOPIC_NAME_VERSION", "zero-padded suffix", *_audit_option('"audit.events.v1"', '"audit.events.v01"')),
    fires("TOPIC_NAME_VERSION", "version not last", *_audit_option('"audit.events.v1"', '"audit.v1.events"')),
    quiet("TOPIC_NAME_VERSION", "beta package, major suffix", MISC_V2BETA1, None,
          bound_message_file("misc.v2beta1", "Thing", "misc.things.v2")),
    quiet("TOPIC_NAME_VERSION", "renamed, same version", *_audit_option('"audit.events.v1"', '"audit.zone-events.v1"')),
    fires("TOPIC_NAME_COLLISION", "dot and underscore alike", *_bind_quiet_hours("preferences_changed.v1")),
    quiet("TOPIC_NAME_COLLISION", "one more word", *_bind_quiet_hours("preferences.changed_at.v1")),
    fires("TOPIC_IDENTIFIER_COLLISION", "dash and dot alike", *_bind_quiet_hours("preferences-changed.v1")),
    fires("TOPIC_IDENTIFIER_COLLISION", "case alike", *_bind_quiet_hours("Preferences.Changed.v1")),
    quiet("TOPIC_IDENTIFIER_COLLISION", "one more word", *_bind_quiet_hours("preferences.changed-at.v1")),
    fires("TOPIC_KEY_FIELD", "no such field", *_audit_option('key: "zone_id"', 'key: "zone"')),
    fires("TOPIC_KEY_FIELD", "message field", *_audit_option('key: "zone_id"', 'key: "actor"')),
    fires("TOPIC_KEY_FIELD", "map field", *_audit_option('key: "zone_id"', 'key: "labels"')),
    fires("TOPIC_KEY_FIELD", "oneof message member", *_audit_option('key: "zone_id"', 'key: "zone_deleted"')),
    fires("TOPIC_KEY_FIELD", "repeated field", PREFERENCES, 'key: "user_id"', 'key: "subscriptions"'),
    fires("TOPIC_KEY_FIELD", "nested message's field", EMAIL, 'key: "message_id"', 'key: "max_bytes"'),
    fires("TOPIC_KEY_FIELD", "group field", MISC_V2BETA1, None,
          bound_message_file("misc.v2beta1", "Thing", "misc.things.v2", extra_option='key: "item"',
                             body="  // Item.\n  optional group Item = 1 {\n    optional string sku = 2;\n  }\n")
          .replace('"proto3"', '"proto2"')),
    fires("TOPIC_KEY_FIELD", "double field", MISC_V2BETA1, None,
          bound_message_file("misc.v2beta1", "Thing", "misc.things.v2", extra_option='key: "score"',
                             body="  // A score.\n  double score = 1;\n")),
    quiet("TOPIC_KEY_FIELD", "another string field", *_audit_option('key: "zone_id"', 'key: "event_id"')),
    quiet("TOPIC_KEY_FIELD", "enum field", EMAIL, 'key: "message_id"', 'key: "priority"'),
    quiet("TOPIC_KEY_FIELD", "integer field", EMAIL, 'key: "message_id"', 'key: "template_version"'),
    quiet("TOPIC_KEY_FIELD", "no key", AUDIT, '    key: "zone_id"\n', ""),
    fires("TOPIC_KEY_PRESENCE", "proto3 optional key", MISC_V2BETA1, None,
          bound_message_file("misc.v2beta1", "Thing", "misc.things.v2", extra_option='key: "id"',
                             body="  // Identifier.\n  optional string id = 1;\n")),
    fires("TOPIC_KEY_PRESENCE", "proto2 optional key", MISC_V2BETA1, None,
          bound_message_file("misc.v2beta1", "Thing", "misc.things.v2", extra_option='key: "id"',
                             body="  // Identifier.\n  optional string id = 1;\n").replace('"proto3"', '"proto2"')),
    fires("TOPIC_KEY_PRESENCE", "oneof member key", MISC_V2BETA1, None,
          bound_message_file("misc.v2beta1", "Thing", "misc.things.v2", extra_option='key: "id"',
                             body="  // Choice.\n  oneof choice {\n    // Identifier.\n    string id = 1;\n"
                                  "    // Other.\n    int32 number = 2;\n  }\n")),
    quiet("TOPIC_KEY_PRESENCE", "optional field beside the key", MISC_V2BETA1, None,
          bound_message_file("misc.v2beta1", "Thing", "misc.things.v2", extra_option='key: "id"',
                             body="  // Identifier.\n  string id = 1;\n  // Note.\n  optional string note = 2;\n")),
    quiet("TOPIC_KEY_PRESENCE", "proto2 required key", MISC_V2BETA1, None,
          bound_message_file("misc.v2beta1", "Thing", "misc.things.v2", extra_option='key: "id"',
                             body="  // Identifier.\n  required string id = 1;\n").replace('"proto3"', '"proto2"')),
    fires("FILE_SYNTAX_SUPPORTED", "edition 2023", MISC_V2BETA1, None,
          'edition = "2023";\n\npackage misc.v2beta1;\n\nmessage Thing {\n  string id = 1;\n}\n'),
    quiet("FILE_SYNTAX_SUPPORTED", "proto2", MISC_V2BETA1, None,
          'syntax = "proto2";\n\npackage misc.v2beta1;\n\nmessage Thing {\n  optional string id = 1;\n}\n'),
    fires("FILE_PACKAGE_REQUIRED", "no package", MISC, None,
          'syntax = "proto3";\n\nmessage MiscThing {\n  string id = 1;\n}\n'),
    quiet("FILE_PACKAGE_REQUIRED", "package without version, unbound", MISC, None,
          'syntax = "proto3";\n\npackage misc;\n\nmessage Thing {\n  string id = 1;\n}\n'),
    fires("FIELD_JSON_NAME_COLLISION", "proto2 default JSON names clash", MISC_V2BETA1, None,
          'syntax = "proto2";\n\npackage misc.v2beta1;\n\n'
          "message Thing {\n  optional string foo_bar = 1;\n  optional string fooBar = 2;\n}\n"),
    quiet("FIELD_JSON_NAME_COLLISION", "json_name keeps them apart", MISC_V2BETA1, None,
          'syntax = "proto2";\n\npackage misc.v2beta1;\n\n'
          "message Thing {\n  optional string foo_bar = 1;\n"
          '  optional string fooBar = 2 [json_name = "fooBar2"];\n}\n'),
    fires("TOPIC_PARTITIONS_POSITIVE", "zero", *_audit_option("partitions: 12", "partitions: 0")),
    fires("TOPIC_PARTITIONS_POSITIVE", "negative", *_audit_option("partitions: 12", "partitions: -3")),
    quiet("TOPIC_PARTITIONS_POSITIVE", "one", *_audit_option("partitions: 12", "partitions: 1")),
    fires("TOPIC_REPLICATION_FACTOR_POSITIVE", "zero", *_audit_option("factor: 3", "factor: 0")),
    quiet("TOPIC_REPLICATION_FACTOR_POSITIVE", "one", *_audit_option("factor: 3", "factor: 1")),
    fires("TOPIC_RETENTION_VALID", "words", *_audit_option('retention: "7d"', 'retention: "7 days"')),
    fires("TOPIC_RETENTION_VALID", "upper-case unit", *_audit_option('retention: "7d"', 'retention: "7D"')),
    fires("TOPIC_RETENTION_VALID", "forever", *_audit_option('retention: "7d"', 'retention: "forever"')),
    fires("TOPIC_RETENTION_VALID", "no unit", *_audit_option('retention: "7d"', 'retention: "604800000"')),
    quiet("TOPIC_RETENTION_VALID", "milliseconds", *_audit_option('retention: "7d"', 'retention: "500ms"')),
    quiet("TOPIC_RETENTION_VALID", "weeks", *_audit_option('retention: "7d"', 'retention: "2w"')),
    quiet("TOPIC_RETENTION_VALID", "infinite", *_audit_option('retention: "7d"', 'retention: "infinite"')),
    fires("TOPIC_CLEANUP_POLICY_VALID", "unknown policy", PREFERENCES, '"compact"', '"compacted"'),
    quiet("TOPIC_CLEANUP_POLICY_VALID", "delete", PREFERENCES, '"compact"', '"delete"'),
    quiet("TOPIC_CLEANUP_POLICY_VALID", "compact on a keyed topic", *_audit_option(
        'retention: "7d"', 'retention: "7d"\n    cleanup_policy: "compact"')),
    fires("TOPIC_COMPACT_NEEDS_KEY", "compacted without key", PREFERENCES, '    key: "user_id"\n', ""),
    quiet("TOPIC_COMPACT_NEEDS_KEY", "deleted without key", AUDIT, '    key: "zone_id"\n', ""),
    fires("TOPIC_PRINCIPAL_VALID", "space in principal", *_audit_option('"User:svc-dns"', '"User:svc dns"')),
    fires("TOPIC_PRINCIPAL_VALID", "empty name", *_audit_option('"User:svc-dns"', '"User:"')),
    fires("TOPIC_PRINCIPAL_VALID", "listed twice", *_audit_option('"User:svc-dns"', '"User:svc-zones"')),
    quiet("TOPIC_PRINCIPAL_VALID", "producer also consumes", *_audit_option(
        'consumers: "svc-search"', 'consumers: "svc-search"\n    consumers: "User:svc-dns"')),
    quiet("TOPIC_PRINCIPAL_VALID", "another principal type", *_audit_option('"User:svc-dns"', '"Group:dns-team"')),
    fires("TOPIC_MESSAGE_COMMENT", "no comment", AUDIT, f"{AUDIT_COMMENT}\n", ""),
    fires("TOPIC_MESSAGE_COMMENT", "detached comment", AUDIT, f"{AUDIT_COMMENT}\n", f"{AUDIT_COMMENT}\n\n"),
    quiet("TOPIC_MESSAGE_COMMENT", "block comment", AUDIT, AUDIT_COMMENT, f"/*{AUDIT_COMMENT.removeprefix('//')} */"),
    quiet("TOPIC_MESSAGE_COMMENT", "unbound message without comment", PREFERENCES,
          "// QuietHours is a daily window in the person's time zone.\n", ""),
    fires("TOPIC_FIELD_COMMENT", "no comment", AUDIT, f"  {EVENT_ID_COMMENT}\n", ""),
    fires("TOPIC_FIELD_COMMENT", "trailing comment only", AUDIT, f"  {EVENT_ID_COMMENT}\n  string event_id = 1;",
          "  string event_id = 1; // Unique id."),
    quiet("TOPIC_FIELD_COMMENT", "unbound message's field without comment", PREFERENCES,
          "  // IANA time zone name.\n", ""),
]
# fmt: on


@pytest.fixture(scope="module", autouse=True)
def contracts_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Compile into this session's cache, never the user's."""
    with pytest.MonkeyPatch.context() as patch:
        cache = session_cache(tmp_path_factory)
        patch.setenv("CONTRACTS_CACHE", str(cache))
        patch.setenv("BUF_CACHE_DIR", str(cache / "buf"))
        yield cache


@pytest.fixture(scope="module")
def example_registry(tmp_path_factory: pytest.TempPathFactory, contracts_cache: Path) -> Path:
    """The example registry, compiled once so that its imports' compilation is warm."""
    root = copy_example_registry(tmp_path_factory.mktemp("rules-base") / "registry")
    load_registry(open_root(root))
    return root


def registry_findings(example_registry: Path, destination: Path, edit: Edit | None) -> tuple[Path, list[Finding]]:
    root = shutil.copytree(example_registry, destination / "registry")
    if edit is not None:
        apply_edit(root, edit)
    return root, run_registry_rules(load_registry(open_root(root)))


def test_the_example_registry_has_no_registry_findings(example_registry: Path, tmp_path: Path) -> None:
    _, findings = registry_findings(example_registry, tmp_path, None)
    assert findings == []


@pytest.mark.parametrize("case", RULE_CASES, ids=[case.id for case in RULE_CASES])
def test_rule(case: RuleCase, example_registry: Path, tmp_path: Path) -> None:
    _, findings = registry_findings(example_registry, tmp_path, case.edit)
    if case.fires:
        of_rule = [f for f in findings if f.rule == case.rule]
        assert of_rule, f"{case.rule} did not fire; findings: {findings}"
        assert all(f.path == case.edit.file and f.line >= 1 and f.column >= 1 for f in of_rule), of_rule
    else:
        assert findings == [], f"a valid registry got findings: {findings}"


def test_every_registry_rule_has_a_firing_and_a_quiet_case() -> None:
    registered = [rule.id for rule in REGISTRY_RULES]
    assert len(registered) == len(set(registered)), "rule ids must be unique"
    assert {case.rule for case in RULE_CASES if case.fires} == set(registered)
    assert {case.rule for case in RULE_CASES if not case.fires} == set(registered)


def test_every_registry_rule_states_its_purpose() -> None:
    for rule in REGISTRY_RULES:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", rule.id), rule.id
        assert rule.purpose.strip(), f"{rule.id} has no purpose"


def test_one_type_per_topic_names_every_binding(example_registry: Path, tmp_path: Path) -> None:
    root, findings = registry_findings(example_registry, tmp_path, Edit(*_bind_quiet_hours("preferences.changed.v1")))
    one_type = [f for f in findings if f.rule == "TOPIC_ONE_TYPE"]
    assert len(one_type) == 2, "each binding of the topic gets a finding"
    for finding in one_type:
        assert "preferences.v1.PreferenceChanged" in finding.message
        assert "preferences.v1.QuietHours" in finding.message
    assert {f.line for f in one_type} == {
        line_of(root, PREFERENCES, "option (contracts.v1.topic) = {"),
        line_of(root, PREFERENCES, 'option (contracts.v1.topic) = {name: "preferences.changed.v1"}'),
    }


def test_binding_findings_point_at_the_option(example_registry: Path, tmp_path: Path) -> None:
    root, findings = registry_findings(example_registry, tmp_path, Edit(AUDIT, "partitions: 12", "partitions: 0"))
    (finding,) = findings
    line = line_of(root, AUDIT, "option (contracts.v1.topic)")
    option_column = (root / AUDIT).read_text().splitlines()[line - 1].index("(contracts.v1.topic)") + 1
    assert (finding.path, finding.line, finding.column) == (AUDIT, line, option_column)


def test_field_comment_finding_points_at_the_field(example_registry: Path, tmp_path: Path) -> None:
    edit = Edit(AUDIT, "  // Unique id of the event, assigned by the producer.\n", "")
    root, findings = registry_findings(example_registry, tmp_path, edit)
    (finding,) = findings
    assert (finding.rule, finding.line, finding.column) == (
        "TOPIC_FIELD_COMMENT",
        line_of(root, AUDIT, "string event_id = 1;"),
        3,
    )
