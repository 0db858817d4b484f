"""`contracts new` (codegen/scaffold.py), driven as users run it: the installed CLI in a registry copy.

A scaffolded contract must pass `contracts lint` and `contracts gen` as written; every refusal
exits 2 with one line on stderr and leaves the registry exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.registry_fixtures import (
    REPOSITORY,
    clone_registry,
    contracts_env,
    init_git_registry,
    run_contracts,
    session_cache,
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # The session cache, with the already installed protoc plugins linked in (as tests/test_generate.py does).
    from tests.test_generate import link_plugins

    return contracts_env(link_plugins(session_cache(tmp_path_factory)))


@pytest.fixture(scope="module")
def base_registry(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    base = init_git_registry(tmp_path_factory.mktemp("new-base") / "registry")
    (base / "contracts.toml").write_bytes((REPOSITORY / "contracts.toml").read_bytes())
    result = run_contracts(["lint"], base, env)  # compiles once; every copy reuses the cached image
    assert result.returncode == 0, result.stderr
    return base


@pytest.fixture
def registry(base_registry: Path, tmp_path: Path) -> Path:
    return clone_registry(base_registry, tmp_path / "registry")


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted((root / "proto").rglob("*")) if path.is_file()
    }


def _dirs(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in (root / "proto").rglob("*") if path.is_dir())


def test_new_contract_passes_lint_and_gen(registry: Path, env: dict[str, str]) -> None:
    result = run_contracts(["new", "billing", "InvoicePaid", "--owner", "team-payments"], registry, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "proto/billing/v1/invoice_paid.proto\n"
    text = (registry / "proto/billing/v1/invoice_paid.proto").read_text(encoding="utf-8")
    assert "package billing.v1;" in text
    assert "message InvoicePaid {" in text
    assert 'name: "billing.invoice-paid.v1"' in text
    assert 'owner: "team-payments"' in text
    assert 'key: "id"' in text and "string id = 1;" in text

    lint = run_contracts(["lint"], registry, env)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    gen = run_contracts(["gen", "--lang", "python"], registry, env)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    topics = (registry / "generated/python/registry_contracts/topics.py").read_text(encoding="utf-8")
    assert "BILLING_INVOICE_PAID_V1: Topic[_billing_v1_invoice_paid_pb2.InvoicePaid] = Topic(" in topics
    assert "name='billing.invoice-paid.v1'" in topics
    assert "owner='team-payments'" in topics
    assert (registry / "generated/python/registry_contracts/billing/v1/invoice_paid_pb2.py").is_file()


@pytest.mark.parametrize(
    ("args", "path", "expected"),
    [
        pytest.param(
            ["billing.invoices", "invoice_paid"],
            "proto/billing/invoices/v1/invoice_paid.proto",
            [
                "package billing.invoices.v1;",
                "message InvoicePaid {",
                '"billing.invoices.invoice-paid.v1"',
                'owner: "team-billing"',
            ],
            id="dotted-domain-snake-message-default-owner",
        ),
        pytest.param(
            ["audit", "ZoneCreated", "--version", "2", "--topic", "audit.zone_created.v2"],
            "proto/audit/v2/zone_created.proto",
            ["package audit.v2;", "message ZoneCreated {", 'name: "audit.zone_created.v2"'],
            id="new-version-of-existing-domain-with-topic",
        ),
        pytest.param(
            ["audit", "zone-renamed"],
            "proto/audit/v1/zone_renamed.proto",
            ["package audit.v1;", "message ZoneRenamed {", 'name: "audit.zone-renamed.v1"'],
            id="existing-package-kebab-message",
        ),
        pytest.param(
            ["dns", "HTTPProbeFailed", "--owner", 'team "dns" \\ ops'],
            "proto/dns/v1/http_probe_failed.proto",
            ["message HTTPProbeFailed {", '"dns.http-probe-failed.v1"', 'owner: "team \\"dns\\" \\\\ ops"'],
            id="acronym-and-escaped-owner",
        ),
    ],
)
def test_new_variants_pass_lint(
    registry: Path, env: dict[str, str], args: list[str], path: str, expected: list[str]
) -> None:
    result = run_contracts(["new", *args], registry, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == path
    text = (registry / path).read_text(encoding="utf-8")
    for snippet in expected:
        assert snippet in text
    lint = run_contracts(["lint"], registry, env)
    assert lint.returncode == 0, lint.stdout + lint.stderr


@pytest.mark.slow  # builds protoc-gen-go and protoc-gen-prost when no cache has them yet
def test_new_then_full_gen(registry: Path, env: dict[str, str]) -> None:
    """Go and Rust generation take the new package too (names, imports, module tree)."""
    assert run_contracts(["new", "billing", "InvoicePaid"], registry, env).returncode == 0
    gen = run_contracts(["gen"], registry, env, timeout=600)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    go_topics = (registry / "generated/go/topics/topics.go").read_text(encoding="utf-8")
    assert "var BillingInvoicePaidV1 = contracts.Topic[*billingv1.InvoicePaid]{" in go_topics
    rust_topics = (registry / "generated/rust/src/topics.rs").read_text(encoding="utf-8")
    assert "pub const BILLING_INVOICE_PAID_V1: Topic<crate::billing::v1::InvoicePaid>" in rust_topics


REFUSALS = [
    # (id, arguments, a phrase of the one-line error)
    ("existing-file", ["audit", "Audit"], "proto/audit/v1/audit.proto already exists"),
    ("existing-message", ["common", "Actor"], "common.v1.Actor is already defined in proto/common/v1/common.proto"),
    ("taken-topic", ["billing", "Refund", "--topic", "audit.events.v1"], 'topic "audit.events.v1" is already bound'),
    ("colliding-topic", ["billing", "Refund", "--topic", "audit_events.v1"], "TOPIC_NAME_COLLISION"),
    ("colliding-constant", ["billing", "Refund", "--topic", "audit-events.v1"], "same generated constant"),
    ("default-topic-taken", ["audit", "Events", "--topic", "audit.events.v1"], "already bound"),
    ("uppercase-domain", ["Billing", "Refund"], 'domain "Billing" is not a valid package name'),
    ("hyphen-domain", ["billing-svc", "Refund"], "not a valid package name"),
    ("digit-domain", ["1billing", "Refund"], "not a valid package name"),
    ("empty-domain-part", ["billing..x", "Refund"], "not a valid package name"),
    ("empty-domain", ["", "Refund"], "not a valid package name"),
    ("version-domain", ["v2", "Refund"], "looks like a version"),
    ("keyword-domain", ["class", "Refund"], "Python keyword"),
    ("reserved-domain-google", ["google", "Refund"], "reserved"),
    ("reserved-domain-contracts", ["contracts", "Refund"], "reserved"),
    ("reserved-domain-topics", ["topics", "Refund"], "reserved"),
    ("digit-message", ["billing", "2Fast"], 'message "2Fast" is not a valid type name'),
    ("space-message", ["billing", "Invoice Paid"], "not a valid type name"),
    ("dotted-message", ["billing", "invoice.paid"], "not a valid type name"),
    ("non-ascii-message", ["billing", "Ünicode"], "not a valid type name"),
    ("reserved-message", ["billing", "None"], "cannot name a type"),
    ("bad-topic-chars", ["billing", "Refund", "--topic", "billing/refund.v1"], "may only contain"),
    ("topic-without-version", ["billing", "Refund", "--topic", "billing.refund"], 'must end in ".v1"'),
    ("topic-other-version", ["billing", "Refund", "--topic", "billing.refund.v2"], 'must end in ".v1"'),
    ("version-zero", ["billing", "Refund", "--version", "0"], "--version 0"),
    ("multiline-owner", ["billing", "Refund", "--owner", "team\nbilling"], "--owner"),
]


@pytest.fixture(scope="module")
def shared_registry(base_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One copy for every refusal: a refusal writes nothing, and each test checks exactly that."""
    yield clone_registry(base_registry, tmp_path_factory.mktemp("new-refusals") / "registry")


@pytest.mark.parametrize(("args", "phrase"), [pytest.param(a, p, id=i) for i, a, p in REFUSALS])
def test_new_refuses(shared_registry: Path, env: dict[str, str], args: list[str], phrase: str) -> None:
    files, dirs = _files(shared_registry), _dirs(shared_registry)
    result = run_contracts(["new", *args], shared_registry, env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and phrase in lines[0], lines[0]
    assert _files(shared_registry) == files
    assert _dirs(shared_registry) == dirs


def test_new_outside_a_registry(tmp_path: Path, env: dict[str, str]) -> None:
    result = run_contracts(["new", "billing", "InvoicePaid"], tmp_path, env)
    assert result.returncode == 2
    assert "no buf.yaml" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
