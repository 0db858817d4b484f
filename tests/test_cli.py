"""The `contracts` command as users and CI run it: a subprocess in a temporary git repository.

Covers what users script against: exit codes (0 clean, 1 findings, 2 errors),
the three output formats, `--root`, every form of `--against`, and that errors
are one line with a location, never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.registry_fixtures import (
    AUDIT,
    EMAIL,
    MARKETING,
    PREFERENCES,
    Edit,
    apply_edits,
    buf_command,
    clone_registry,
    commit_all,
    contracts_env,
    copy_example_registry,
    git,
    init_git_registry,
    line_of,
    run_contracts,
    session_cache,
)

TEXT_FINDING = re.compile(
    r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<column>\d+): (?P<rule>[A-Z][A-Z0-9_]+) (?P<message>.+)$"
)
GITHUB_FINDING = re.compile(
    r"^::error file=(?P<path>[^,]+),line=(?P<line>\d+),col=(?P<column>\d+)(?:,title=(?P<title>[^:]*))?"
    r"::(?P<message>.+)$"
)
ERROR_LINE = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):(?P<column>\d+): error: (?P<message>.+)$")

PARTITIONS_ZERO = Edit(AUDIT, "partitions: 12", "partitions: 0")
PARTITIONS_DECREASED = Edit(AUDIT, "partitions: 12", "partitions: 6")
FIELD_TYPE_CHANGED = Edit(AUDIT, "string event_id = 1;", "int64 event_id = 1;")
COMMANDS = (["lint"], ["breaking"], ["topics"])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return contracts_env(session_cache(tmp_path_factory))


@pytest.fixture(scope="module")
def base_repository(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    """The example registry committed on main, compiled once (working tree and main)."""
    repository = init_git_registry(tmp_path_factory.mktemp("cli-base") / "registry")
    result = run_contracts(["breaking"], repository, env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    return repository


@pytest.fixture
def repository(base_repository: Path, tmp_path: Path) -> Path:
    return clone_registry(base_repository, tmp_path / "registry")


def edited(repository: Path, *edits: Edit) -> Path:
    apply_edits(repository, edits)
    return repository


def assert_one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    return lines[0]


# lint


def test_lint_of_the_example_registry_is_clean(repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(["lint"], repository, env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_lint_json_of_a_clean_registry_is_an_empty_array(repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(["lint", "--format", "json"], repository, env)
    assert (result.returncode, json.loads(result.stdout)) == (0, [])


def test_lint_reports_registry_rules_as_text(repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(["lint"], edited(repository, PARTITIONS_ZERO), env)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    finding = TEXT_FINDING.match(line)
    assert finding, line
    assert (finding["path"], int(finding["line"]), finding["rule"]) == (
        AUDIT,
        line_of(repository, AUDIT, "option (contracts.v1.topic)"),
        "TOPIC_PARTITIONS_POSITIVE",
    )


def test_lint_reports_buf_rules_too(repository: Path, env: dict[str, str]) -> None:
    edit = Edit(EMAIL, "string template_id = 2;", "string templateId = 2;")
    result = run_contracts(["lint", "--format", "json"], edited(repository, edit), env)
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert {(f["path"], f["line"], f["rule"]) for f in findings} == {
        (EMAIL, line_of(repository, EMAIL, "string templateId = 2;"), "FIELD_LOWER_SNAKE_CASE")
    }


def test_lint_json_format(repository: Path, env: dict[str, str]) -> None:
    edits = (PARTITIONS_ZERO, Edit(AUDIT, "  // Unique id of the event, assigned by the producer.\n", ""))
    result = run_contracts(["lint", "--format", "json"], edited(repository, *edits), env)
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert isinstance(findings, list)
    assert {f["rule"] for f in findings} == {"TOPIC_PARTITIONS_POSITIVE", "TOPIC_FIELD_COMMENT"}
    for finding in findings:
        assert {"path", "line", "column", "rule", "message"} <= set(finding)
        assert finding["path"] == AUDIT
        assert isinstance(finding["line"], int) and isinstance(finding["column"], int)
        assert finding["message"]


def test_lint_github_format(repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(["lint", "--format", "github"], edited(repository, PARTITIONS_ZERO), env)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    annotation = GITHUB_FINDING.match(line)
    assert annotation, line
    assert annotation["path"] == AUDIT
    assert int(annotation["line"]) == line_of(repository, AUDIT, "option (contracts.v1.topic)")
    assert "TOPIC_PARTITIONS_POSITIVE" in annotation["message"]


# breaking: formats and every form of --against


def test_breaking_json_format(repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(
        ["breaking", "--format", "json"], edited(repository, PARTITIONS_DECREASED, FIELD_TYPE_CHANGED), env
    )
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert isinstance(findings, list)
    assert {(f["path"], f["rule"]) for f in findings} == {
        (AUDIT, "TOPIC_PARTITIONS_DECREASED"),
        (AUDIT, "FIELD_SAME_TYPE"),
    }
    type_change = next(f for f in findings if f["rule"] == "FIELD_SAME_TYPE")
    assert type_change["line"] == line_of(repository, AUDIT, "int64 event_id = 1;")
    for finding in findings:
        assert {"path", "line", "column", "rule", "message"} <= set(finding)
        assert isinstance(finding["line"], int) and isinstance(finding["column"], int) and finding["message"]


def test_breaking_json_of_a_safe_change_is_an_empty_array(repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(
        ["breaking", "--format", "json"], edited(repository, Edit(AUDIT, "partitions: 12", "partitions: 24")), env
    )
    assert (result.returncode, json.loads(result.stdout)) == (0, [])


def test_breaking_github_format(repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(
        ["breaking", "--format", "github"], edited(repository, PARTITIONS_DECREASED, FIELD_TYPE_CHANGED), env
    )
    assert result.returncode == 1
    annotations = [GITHUB_FINDING.match(line) for line in result.stdout.splitlines()]
    assert len(annotations) == 2 and all(annotations), result.stdout
    assert {a["path"] for a in annotations if a} == {AUDIT}
    assert any("FIELD_SAME_TYPE" in a["message"] for a in annotations if a)


def test_breaking_against_a_git_ref(repository: Path, env: dict[str, str]) -> None:
    commit_all(edited(repository, FIELD_TYPE_CHANGED), "change a type")
    flagged = run_contracts(["breaking", "--against", "HEAD~1"], repository, env)
    assert flagged.returncode == 1 and "FIELD_SAME_TYPE" in flagged.stdout
    clean = run_contracts(["breaking", "--against", "HEAD"], repository, env)
    assert (clean.returncode, clean.stdout) == (0, "")


def test_breaking_prefers_origin_main(repository: Path, env: dict[str, str]) -> None:
    base_commit = git(repository, "rev-parse", "HEAD")
    commit_all(edited(repository, FIELD_TYPE_CHANGED), "change a type on main")
    git(repository, "update-ref", "refs/remotes/origin/main", base_commit)
    by_default = run_contracts(["breaking"], repository, env)
    assert by_default.returncode == 1 and "FIELD_SAME_TYPE" in by_default.stdout
    against_main = run_contracts(["breaking", "--against", "main"], repository, env)
    assert (against_main.returncode, against_main.stdout) == (0, "")


def test_breaking_against_a_directory(repository: Path, tmp_path: Path, env: dict[str, str]) -> None:
    previous = copy_example_registry(tmp_path / "previous")
    result = run_contracts(["breaking", "--against", str(previous)], edited(repository, FIELD_TYPE_CHANGED), env)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    finding = TEXT_FINDING.match(line)
    assert finding and (finding["path"], finding["rule"]) == (AUDIT, "FIELD_SAME_TYPE")
    unchanged = run_contracts(
        ["breaking", "--against", str(previous)], clone_registry(previous, tmp_path / "same"), env
    )
    assert (unchanged.returncode, unchanged.stdout) == (0, "")


def test_breaking_against_a_buf_image(repository: Path, tmp_path: Path, env: dict[str, str]) -> None:
    image = tmp_path / "previous.binpb"
    subprocess.run([buf_command(), "build", "-o", str(image)], cwd=repository, env=env, check=True, capture_output=True)
    result = run_contracts(
        ["breaking", "--against", str(image), "--format", "json"], edited(repository, PARTITIONS_DECREASED), env
    )
    assert result.returncode == 1
    assert [(f["path"], f["rule"]) for f in json.loads(result.stdout)] == [(AUDIT, "TOPIC_PARTITIONS_DECREASED")]
    edited(repository, Edit(AUDIT, "partitions: 6", "partitions: 24"))
    safe = run_contracts(["breaking", "--against", str(image)], repository, env)
    assert (safe.returncode, safe.stdout) == (0, "")


# --root


def test_root_option_from_another_directory(repository: Path, tmp_path: Path, env: dict[str, str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = ["--root", str(repository)]
    assert run_contracts(["lint", *root], elsewhere, env).returncode == 0
    assert json.loads(run_contracts(["topics", "--format", "json", *root], elsewhere, env).stdout)
    result = run_contracts(["breaking", *root], elsewhere, env)
    assert (result.returncode, result.stdout) == (0, "")
    flagged = run_contracts(["breaking", *root], edited(repository, PARTITIONS_DECREASED), env)
    assert flagged.returncode == 1
    assert flagged.stdout.startswith(f"{AUDIT}:"), "paths stay relative to the registry root"


def test_registry_in_a_subdirectory_of_the_repository(tmp_path: Path, env: dict[str, str]) -> None:
    repository = tmp_path / "monorepo"
    registry = copy_example_registry(repository / "contracts")
    (repository / "README.md").write_text("a service and its contracts\n")
    git(repository, "init", "--quiet", "-b", "main")
    commit_all(repository, "monorepo")
    edited(registry, FIELD_TYPE_CHANGED)
    from_outside = run_contracts(["breaking", "--root", str(registry)], repository, env)
    assert from_outside.returncode == 1
    assert from_outside.stdout.startswith(f"{AUDIT}:") and "FIELD_SAME_TYPE" in from_outside.stdout
    from_inside = run_contracts(["breaking"], registry, env)
    assert (from_inside.returncode, from_inside.stdout) == (1, from_outside.stdout)


# topics


def test_topics_json(repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(["topics", "--format", "json"], repository, env)
    assert result.returncode == 0
    topics = {row["topic"]: row for row in json.loads(result.stdout)}
    assert set(topics) == {"audit.events.v1", "email.dispatch.v1", "preferences.changed.v1", "marketing.audience.v1"}
    for row in topics.values():
        assert {"topic", "message", "file", "key", "partitions", "owner", "compatibility"} <= set(row)
    expected = {
        "audit.events.v1": ("audit.v1.AuditEvent", AUDIT, "zone_id", 12, "team-audit", "source"),
        "email.dispatch.v1": ("email.v1.EmailMessage", EMAIL, "message_id", 6, "team-messaging", "wire_json"),
        "preferences.changed.v1": (
            "preferences.v1.PreferenceChanged",
            PREFERENCES,
            "user_id",
            3,
            "team-accounts",
            "wire",
        ),
        "marketing.audience.v1": ("marketing.v1.AudienceMember", MARKETING, "user_id", 3, "team-marketing", "wire"),
    }
    for name, (message, file, key, partitions, owner, compatibility) in expected.items():
        row = topics[name]
        assert (row["message"], row["file"], row["key"], row["partitions"], row["owner"], row["compatibility"]) == (
            message,
            file,
            key,
            partitions,
            owner,
            compatibility,
        )


def test_topics_json_of_unset_settings(repository: Path, env: dict[str, str]) -> None:
    edits = (
        Edit(AUDIT, '    key: "zone_id"\n', ""),
        Edit(AUDIT, "    partitions: 12\n", ""),
        Edit(AUDIT, '    owner: "team-audit"\n', ""),
    )
    result = run_contracts(["topics", "--format", "json"], edited(repository, *edits), env)
    audit = next(row for row in json.loads(result.stdout) if row["topic"] == "audit.events.v1")
    assert (audit["key"], audit["partitions"], audit["owner"]) == (None, None, None)


def test_topics_text_has_one_line_per_topic(repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(["topics"], repository, env)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("audit.events.v1\taudit.v1.AuditEvent\t")


# Errors: one line with a location, exit 2, never a traceback


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
def test_syntax_error(command: list[str], repository: Path, env: dict[str, str]) -> None:
    edited(repository, Edit(AUDIT, "string event_id = 1;", "string event_id = ;"))
    error = ERROR_LINE.match(assert_one_error_line(run_contracts(command, repository, env)))
    assert error and (error["path"], int(error["line"])) == (AUDIT, line_of(repository, AUDIT, "string event_id = ;"))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
def test_missing_import(command: list[str], repository: Path, env: dict[str, str]) -> None:
    edited(repository, Edit(AUDIT, '"common/v1/common.proto"', '"common/v1/missing.proto"'))
    error = ERROR_LINE.match(assert_one_error_line(run_contracts(command, repository, env)))
    assert error and (error["path"], int(error["line"])) == (
        AUDIT,
        line_of(repository, AUDIT, "common/v1/missing.proto"),
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
def test_unreadable_file(command: list[str], repository: Path, env: dict[str, str]) -> None:
    unreadable = repository / "proto/audit/v1/unreadable.proto"
    if os.geteuid() != 0:
        unreadable.write_text('syntax = "proto3";\n')
        unreadable.chmod(0)
    elif Path("/proc/self/mem").exists():
        unreadable.symlink_to("/proc/self/mem")  # root reads any file; this one fails with EIO
    else:
        pytest.skip("no way to make an unreadable file as root here")
    error = ERROR_LINE.match(assert_one_error_line(run_contracts(command, repository, env)))
    assert error and error["path"] == "proto/audit/v1/unreadable.proto"


def test_entries_buf_ignores_are_ignored(repository: Path, env: dict[str, str]) -> None:
    (repository / "proto/audit/v1/directory.proto").mkdir()
    (repository / "proto/audit/v1/dangling.proto").symlink_to("nowhere.proto")
    result = run_contracts(["lint"], repository, env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_compile_error_in_the_against_ref(repository: Path, env: dict[str, str]) -> None:
    commit_all(edited(repository, Edit(AUDIT, "string event_id = 1;", "string event_id = ;")), "broken")
    edited(repository, Edit(AUDIT, "string event_id = ;", "string event_id = 1;"))
    line = assert_one_error_line(run_contracts(["breaking", "--against", "HEAD"], repository, env))
    assert AUDIT in line and "HEAD" in line


@pytest.mark.parametrize(
    "against", ["no-such-ref", "buf.yaml"], ids=["unknown ref", "file that is no image"]
)
def test_bad_against(against: str, repository: Path, env: dict[str, str]) -> None:
    line = assert_one_error_line(run_contracts(["breaking", "--against", against], repository, env))
    assert "error:" in line


def assert_nothing_to_compare(result: subprocess.CompletedProcess[str], *, mentions: str) -> None:
    """The change that introduces the registry passes its own gate: every contract is new."""
    assert (result.returncode, result.stdout) == (0, ""), result
    assert result.stderr.startswith("note: ") and "every contract is new" in result.stderr, result.stderr
    assert mentions in result.stderr and len(result.stderr.splitlines()) == 1


def test_against_ref_without_registry(repository: Path, env: dict[str, str]) -> None:
    empty_tree = git(repository, "mktree", input="")
    git(repository, "update-ref", "refs/heads/empty", git(repository, "commit-tree", empty_tree, "-m", "nothing"))
    assert_nothing_to_compare(run_contracts(["breaking", "--against", "empty"], repository, env), mentions="empty")
    as_json = run_contracts(["breaking", "--against", "empty", "--format", "json"], repository, env)
    assert (as_json.returncode, json.loads(as_json.stdout)) == (0, [])


def test_against_directory_without_registry(repository: Path, env: dict[str, str]) -> None:
    assert_nothing_to_compare(run_contracts(["breaking", "--against", "proto"], repository, env), mentions="proto")


def test_against_ref_from_before_the_registry_existed(tmp_path: Path, env: dict[str, str]) -> None:
    repository = tmp_path / "monorepo"
    repository.mkdir()
    (repository / "README.md").write_text("a service\n")
    git(repository, "init", "--quiet", "-b", "main")
    commit_all(repository, "service only")
    registry = copy_example_registry(repository / "contracts")
    commit_all(repository, "contracts added")
    assert_nothing_to_compare(run_contracts(["breaking", "--against", "HEAD~1"], registry, env), mentions="HEAD~1")
    # By default too: main is the commit that adds the registry, so HEAD~1 is the fallback...
    git(repository, "branch", "-m", "main", "feature")
    assert_nothing_to_compare(run_contracts(["breaking"], registry, env), mentions="HEAD~1")
    # ...and once the registry has history, the default compares with it and finds a break.
    registry_file = registry / AUDIT
    registry_file.write_text(registry_file.read_text().replace("string event_id = 1;", "int64 event_id = 1;"))
    commit_all(repository, "breaking edit")
    assert run_contracts(["breaking"], registry, env).returncode == 1


def test_no_history_to_compare_with(tmp_path: Path, env: dict[str, str]) -> None:
    registry = copy_example_registry(tmp_path / "registry")
    git(registry, "init", "--quiet", "-b", "trunk")
    commit_all(registry, "on trunk")
    assert_nothing_to_compare(run_contracts(["breaking"], registry, env), mentions="HEAD~1")
    no_commit = copy_example_registry(tmp_path / "uncommitted")
    git(no_commit, "init", "--quiet", "-b", "main")
    assert_nothing_to_compare(run_contracts(["breaking"], no_commit, env), mentions="origin/main")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command[0])
def test_no_buf_yaml(command: list[str], tmp_path: Path, env: dict[str, str]) -> None:
    shutil.copytree(copy_example_registry(tmp_path / "registry") / "proto", tmp_path / "bare" / "proto")
    assert "buf.yaml" in assert_one_error_line(run_contracts(command, tmp_path / "bare", env))
    missing_root = run_contracts([*command, "--root", str(tmp_path / "nowhere")], tmp_path, env)
    assert "buf.yaml" in assert_one_error_line(missing_root)


def test_unparsable_buf_yaml(repository: Path, env: dict[str, str]) -> None:
    (repository / "buf.yaml").write_text("version: v2\nmodules: [\n")
    assert assert_one_error_line(run_contracts(["lint"], repository, env)).startswith("buf.yaml:")


@pytest.mark.parametrize("args", [["lint", "--format", "xml"], ["lint", "--no-such-flag"], ["no-such-command"]])
def test_usage_errors_exit_2(args: list[str], repository: Path, env: dict[str, str]) -> None:
    result = run_contracts(args, repository, env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_compiled_images_go_to_contracts_cache(repository: Path, tmp_path: Path, env: dict[str, str]) -> None:
    cache = tmp_path / "cache"
    result = run_contracts(["lint"], edited(repository, PARTITIONS_DECREASED), {**env, "CONTRACTS_CACHE": str(cache)})
    assert result.returncode == 0
    assert list((cache / "images").glob("tree-*.binpb"))
