"""A new user's registry, with the CLI installed from its wheel, outside this checkout.

`contracts init` in a fresh git repository, a first contract, the breaking gate on the change
that introduces the registry and after a breaking edit, gen, gen --check, docs, topics; then
`contracts release` through a patch, a minor and a major change. Every command runs as a
subprocess of the installed console script from a temporary directory; none may print a traceback.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.installed_cli import installed_cli_venv, user_env
from tests.registry_fixtures import git
from tests.test_generate import generation_cache

CONTRACT = "proto/billing/v1/invoice_paid.proto"
TOPIC = "billing.invoice-paid.v1"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return user_env(installed_cli_venv(tmp_path_factory), generation_cache(tmp_path_factory))


def contracts(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["contracts", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def ok(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = contracts(args, cwd, env)
    assert result.returncode == 0, f"contracts {' '.join(args)}: {result.stdout}\n{result.stderr}"
    return result.stdout


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_installed_cli_is_not_this_checkout(env: dict[str, str], tmp_path: Path) -> None:
    version = ok(["--version"], tmp_path, env)
    assert version.startswith("contracts ") and version.split()[1][0].isdigit()
    where = subprocess.run(
        ["python", "-c", "import contracts_cli as c, contracts_runtime as r; print(c.__file__, r.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    checkout = str(Path(__file__).resolve().parent.parent)
    assert not where.startswith(checkout) and where.count("site-packages") == 2, where


def test_a_new_registry_from_init_to_catalog(env: dict[str, str], tmp_path: Path) -> None:
    repository = tmp_path / "acme-events"
    repository.mkdir()
    (repository / "README.md").write_text("# Acme events\n")
    git(repository, "init", "--quiet", "-b", "main")
    git(repository, "remote", "add", "origin", "https://git.example.com/acme/acme-events.git")
    git(repository, "add", "-A")
    git(repository, "commit", "--quiet", "-m", "a repository without a registry")
    git(repository, "checkout", "--quiet", "-b", "add-registry")

    created = ok(["init"], repository, env)
    assert "skipped README.md" in created  # the repository's own README stays
    assert (repository / "README.md").read_text() == "# Acme events\n"
    settings = tomllib.loads((repository / "contracts.toml").read_text())
    assert settings["go"]["module"] == "git.example.com/acme/acme-events/generated/go"
    assert settings["python"]["package"] == "acme_events_contracts"
    workflow = (repository / ".github/workflows/contracts.yml").read_text()
    assert "contracts lint --format github" in workflow and "contracts gen --check" in workflow
    assert "${{ github.base_ref || 'main' }}" in workflow  # GitHub's expression, not a template's
    again = contracts(["init"], repository, env)
    assert again.returncode == 2 and len(again.stderr.splitlines()) == 1 and "already" in again.stderr

    assert ok(["new", "billing", "InvoicePaid", "--owner", "team-billing"], repository, env).strip() == CONTRACT
    ok(["lint"], repository, env)
    git(repository, "add", "-A")
    git(repository, "commit", "--quiet", "-m", "the registry")
    first = contracts(["breaking", "--against", "main"], repository, env)
    assert (first.returncode, first.stdout) == (0, "") and "every contract is new" in first.stderr

    ok(["gen"], repository, env)
    ok(["gen", "--check"], repository, env)
    topics = json.loads(ok(["topics", "--format", "json"], repository, env))
    assert [topic["topic"] for topic in topics] == [TOPIC]
    ok(["docs", "--out", "site"], repository, env)
    assert TOPIC in (repository / "site" / "index.html").read_text()

    git(repository, "add", "-A")
    git(repository, "commit", "--quiet", "-m", "generated")
    git(repository, "checkout", "--quiet", "main")
    git(repository, "merge", "--quiet", "--ff-only", "add-registry")
    edit(repository / CONTRACT, "string id = 1;", "int64 id = 1;")
    broken = contracts(["breaking", "--against", "main"], repository, env)
    assert broken.returncode == 1 and CONTRACT in broken.stdout


def release(repository: Path, env: dict[str, str], message: str) -> dict[str, object]:
    git(repository, "add", "-A")
    git(repository, "commit", "--quiet", "-m", message)
    plan: dict[str, object] = json.loads(ok(["release", "--dry-run", "--format", "json"], repository, env))
    assert git(repository, "status", "--porcelain") == ""  # a dry run changes nothing
    ok(["release"], repository, env)
    return plan


def test_release_versions_from_what_changed(env: dict[str, str], tmp_path: Path) -> None:
    repository = tmp_path / "registry"
    repository.mkdir()
    git(repository, "init", "--quiet", "-b", "main")
    ok(["init"], repository, env)
    ok(["new", "billing", "InvoicePaid"], repository, env)
    ok(["new", "billing", "InvoiceVoided"], repository, env)
    (repository / "contracts.toml").write_text(
        (repository / "contracts.toml").read_text().replace("\n[rust]", "\n[rust]\n# kept by release\n", 1)
    )
    first = release(repository, env, "the registry")
    assert (first["kind"], first["version"]) == ("first", "0.1.0")

    edit(repository / CONTRACT, "// Identifier of what", "// The identifier of what")
    assert (patch := release(repository, env, "a comment"))["kind"] == "patch" and patch["version"] == "0.1.1"

    edit(repository / CONTRACT, "  string id = 1;\n", "  string id = 1;\n  // Amount, in cents.\n  int64 amount = 2;\n")
    assert (minor := release(repository, env, "a field"))["kind"] == "minor" and minor["version"] == "0.2.0"

    voided = repository / "proto/billing/v1/invoice_voided.proto"
    edit(voided, '    key: "id"\n', '    key: "id"\n    compatibility: COMPATIBILITY_NONE\n')
    assert release(repository, env, "a permissive level")["kind"] == "patch"
    voided.unlink()
    major = release(repository, env, "a topic removed")
    assert (major["kind"], major["version"]) == ("major", "1.0.0")
    assert any("TOPIC_REMOVED" in str(reason) for reason in major["reasons"])  # type: ignore[attr-defined]

    tags = set(git(repository, "tag", "--list").split())
    for version in ("0.1.0", "0.1.1", "0.2.0", "0.2.1", "1.0.0"):
        assert {f"v{version}", f"generated/go/v{version}"} <= tags
    assert git(repository, "rev-parse", "v1.0.0^{commit}") == git(repository, "rev-parse", "HEAD")
    settings = (repository / "contracts.toml").read_text()
    assert 'version = "1.0.0"' in settings and "# kept by release" in settings
    generated = tomllib.loads((repository / "generated/python/pyproject.toml").read_text())
    assert generated["project"]["version"] == "1.0.0"
    assert 'version = "1.0.0"' in (repository / "generated/rust/Cargo.toml").read_text()
    ok(["gen", "--check"], repository, env)
    assert json.loads(ok(["release", "--dry-run", "--format", "json"], repository, env))["kind"] == "none"


def test_release_refuses_a_dirty_tree(env: dict[str, str], tmp_path: Path) -> None:
    repository = tmp_path / "registry"
    repository.mkdir()
    git(repository, "init", "--quiet", "-b", "main")
    ok(["init"], repository, env)
    refused = contracts(["release"], repository, env)
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1 and "uncommitted" in refused.stderr
    assert git(repository, "tag", "--list") == ""
