"""`contracts docs` (codegen/docs/): the catalog's pages, its search in a real browser, its cluster view.

The example registry is committed in a temporary git repository (three commits, one of them a
rename, so history and `--follow` show), and the installed CLI writes the catalog from there.
Pages are read back with a small HTML parser; headless Chromium (Debian's `chromium`) runs the
search script and takes a screenshot. The snippets are type-checked (Python) and compiled (Go,
Rust; marked slow) against the repository's generated packages. Cluster tests run against the
suite's local broker (`kafka` marker), and against a SASL one for wrong credentials.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.registry_fixtures import (
    AUDIT,
    EMAIL,
    PREFERENCES,
    REPOSITORY,
    Edit,
    apply_edit,
    commit_all,
    contracts_env,
    copy_example_registry,
    git,
    init_git_registry,
    run_contracts,
    session_cache,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RENAMED_PREFERENCES = "proto/preferences/v1/preference_changed.proto"
SECOND_AUTHOR = "Ada Lovelace <ada@example.com>"
SECOND_DATE = "2024-05-06T10:00:00+00:00"
UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1: connection refused at once
BOUND_SECONDS = 15.0  # "about 10 s" for an unreachable cluster, plus start-up of the CLI itself


# --- reading pages back ---------------------------------------------------------------------------


class Page(HTMLParser):
    """What the tests look at: table rows by table class, facts, links, code blocks and list items."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.facts: dict[str, str] = {}
        self.links: list[tuple[str, str]] = []
        self.code: dict[str, str] = {}
        self.items: list[dict[str, str | None]] = []  # <li> and <tr> attributes (search results, topic rows)
        self.scripts: list[dict[str, str | None]] = []
        self.stylesheets: list[str] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._captures: list[tuple[str, list[str]]] = []  # (kind, text parts) of open elements of interest
        self._fact_label = ""
        self._href: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "table":
            self._table = classes[0] if classes else ""
            self.tables.setdefault(self._table, [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._captures.append(("td", []))
        elif tag == "div" and ("label" in classes or "value" in classes):
            self._captures.append((classes[0], []))
        elif tag == "code" and any(c.startswith("language-") for c in classes):
            self._captures.append((next(c for c in classes if c.startswith("language-")), []))
        elif tag == "a":
            self._href = attributes.get("href")
            self._captures.append(("a", []))
        elif tag == "script":
            self.scripts.append(attributes)
        elif tag == "link":
            self.stylesheets.append(attributes.get("href") or "")
        if tag in ("li", "tr"):
            self.items.append({"tag": tag, **attributes})

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None:
            if self._row and self._table is not None:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "td" and self._captures and self._captures[-1][0] == "td":
            _, parts = self._captures.pop()
            if self._row is not None:
                self._row.append(" ".join("".join(parts).split()))
        elif tag == "div" and self._captures and self._captures[-1][0] in ("label", "value"):
            kind, parts = self._captures.pop()
            text = " ".join("".join(parts).split())
            if kind == "label":
                self._fact_label = text
            else:
                self.facts[self._fact_label] = text
        elif tag == "code" and self._captures and self._captures[-1][0].startswith("language-"):
            kind, parts = self._captures.pop()
            self.code[kind.removeprefix("language-")] = "".join(parts)
        elif tag == "a" and self._captures and self._captures[-1][0] == "a":
            _, parts = self._captures.pop()
            self.links.append((self._href or "", " ".join("".join(parts).split())))

    def handle_data(self, data: str) -> None:
        for _, parts in self._captures:
            parts.append(data)

    def rows(self, table: str) -> list[list[str]]:
        return self.tables.get(table, [])


def read_page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


# --- the catalog of the example registry, in git ------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    environment = contracts_env(session_cache(tmp_path_factory))
    for variable in [name for name in environment if name.startswith("KAFKA_")]:
        del environment[variable]
    return environment


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example registry, committed three times: added, documented by a second author, renamed."""
    root = init_git_registry(tmp_path_factory.mktemp("docs-git") / "registry")
    shutil.copy2(REPOSITORY / "contracts.toml", root / "contracts.toml")
    commit_all(root, "contracts.toml for the generated packages")
    apply_edit(root, Edit(AUDIT, "  // Who made the change.\n", "  // Who made the change (never empty).\n"))
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--author", SECOND_AUTHOR, "--date", SECOND_DATE, "-m", "audit: say actor is set")
    git(root, "mv", PREFERENCES, RENAMED_PREFERENCES)
    commit_all(root, "preferences: name the file after its message")
    return root


@pytest.fixture(scope="module")
def site(repository: Path, env: dict[str, str]) -> Path:
    result = run_contracts(["docs", "--out", "site"], repository, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "catalog of 4 topics and 11 shared types" in result.stderr
    return repository / "site"


def test_catalog_layout(site: Path) -> None:
    files = sorted(str(path.relative_to(site)) for path in site.rglob("*") if path.is_file())
    assert files == [
        ".contracts-docs",
        "README.md",
        "index.html",
        "topics/audit.events.v1.html",
        "topics/email.dispatch.v1.html",
        "topics/marketing.audience.v1.html",
        "topics/preferences.changed.v1.html",
        "types/audit.v1.AuditEvent.SettingChanged.html",
        "types/audit.v1.AuditEvent.ZoneDeleted.html",
        "types/common.v1.Actor.html",
        "types/common.v1.ActorKind.html",
        "types/common.v1.Channel.html",
        "types/common.v1.EmailAddress.html",
        "types/email.v1.EmailMessage.Attachment.html",
        "types/email.v1.EmailMessage.Limits.html",
        "types/email.v1.Priority.html",
        "types/preferences.v1.ChannelPreference.html",
        "types/preferences.v1.QuietHours.html",
    ]


def test_index_lists_topics(site: Path) -> None:
    page = read_page(site / "index.html")
    assert page.rows("topics") == [
        ["audit.events.v1", "audit.v1.AuditEvent", "team-audit", "source", "12", "7d"],
        ["email.dispatch.v1", "email.v1.EmailMessage", "team-messaging", "wire_json", "6", "3d"],
        ["marketing.audience.v1", "marketing.v1.AudienceMember", "team-marketing", "wire", "3", "infinite"],
        ["preferences.changed.v1", "preferences.v1.PreferenceChanged", "team-accounts", "wire", "3", "infinite"],
    ]
    assert ("topics/audit.events.v1.html", "audit.events.v1") in page.links


def test_topic_page(site: Path) -> None:
    page = read_page(site / "topics" / "audit.events.v1.html")
    assert page.facts == {
        "Key": "zone_id",
        "Partitions": "12",
        "Replication factor": "3",
        "Retention": "7d",
        "Cleanup policy": "delete",
        "Owner": "team-audit",
        "Compatibility": "source",
        "Dead-letter topic": "audit.events.v1.dlq",
    }
    text = (site / "topics" / "audit.events.v1.html").read_text(encoding="utf-8")
    assert '<div class="note">retention.ms=604800000</div>' in text
    fields = page.rows("fields")
    assert [row[:3] for row in fields] == [
        ["1", "event_id", "string"],
        ["2", "zone_id key", "string"],
        ["3", "actor", "common.v1.Actor"],
        ["4", "occurred_at", "google.protobuf.Timestamp well-known type"],
        ["5", "zone_deleted oneof change", "AuditEvent.ZoneDeleted"],
        ["6", "setting_changed oneof change", "AuditEvent.SettingChanged"],
        ["7", "labels", "map<string, string>"],
        ["8", "details", "google.protobuf.Struct well-known type"],
    ]
    # Hard-wrapped comments read as one sentence; the second commit's edit is there.
    assert (
        fields[1][3]
        == "The zone the change applies to; also the record key, so that the events of one zone stay in order."
    )
    assert fields[2][3] == "Who made the change (never empty)."
    assert ("../types/common.v1.Actor.html", "common.v1.Actor") in page.links
    assert ("../types/audit.v1.AuditEvent.ZoneDeleted.html", "AuditEvent.ZoneDeleted") in page.links
    for principal in ("User:svc-dns", "svc-zones", "svc-audit-log", "svc-search"):
        assert f"<li><code>{principal}</code></li>" in text
    assert "oneof <code>change</code>: at most one of" in text

    history = page.rows("history")
    assert [row[2:] for row in history] == [
        ["Ada Lovelace", "audit: say actor is set"],
        ["contracts tests", "example registry"],
    ]
    assert history[0][0] == "2024-05-06"
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", row[0]) and re.fullmatch(r"[0-9a-f]{7,}", row[1]) for row in history)


def test_topic_page_shows_maps_repeated_and_nested_types(site: Path) -> None:
    page = read_page(site / "topics" / "email.dispatch.v1.html")
    types = {row[1]: row[2] for row in page.rows("fields")}
    assert types["to"] == "repeated common.v1.EmailAddress"
    assert types["metadata"] == "map<string, string>"
    assert types["attachments"] == "map<string, EmailMessage.Attachment>"
    assert types["priority"] == "Priority"
    assert types["reply_to"] == "google.protobuf.StringValue well-known type"
    assert ("../types/email.v1.EmailMessage.Attachment.html", "EmailMessage.Attachment") in page.links
    assert ("../types/email.v1.Priority.html", "Priority") in page.links


def test_history_follows_renames(site: Path) -> None:
    page = read_page(site / "topics" / "preferences.changed.v1.html")
    assert [row[3] for row in page.rows("history")] == [
        "preferences: name the file after its message",
        "example registry",
    ]
    assert "defined in <code>proto/preferences/v1/preference_changed.proto</code>" in (
        site / "topics" / "preferences.changed.v1.html"
    ).read_text(encoding="utf-8")


def test_snippets_use_the_generated_names_and_runtime_calls(site: Path) -> None:
    code = read_page(site / "topics" / "audit.events.v1.html").code
    assert set(code) == {"python", "go", "rust"}
    for expected in (
        "from registry_contracts.audit.v1.audit_pb2 import AuditEvent",
        "from registry_contracts.topics import AUDIT_EVENTS_V1",
        'message = AuditEvent(zone_id="zone-id-1")',
        "producer.send(AUDIT_EVENTS_V1, message)",
        'Consumer(group_id="svc-audit-log")',
        "consumer.subscribe(AUDIT_EVENTS_V1, handle)",
    ):
        assert expected in code["python"]
    for expected in (
        'auditv1 "example.com/registry/gen/audit/v1"',
        '"example.com/registry/gen/topics"',
        'msg := &auditv1.AuditEvent{ZoneId: "zone-id-1"}',
        "contracts.Send(ctx, producer, topics.AuditEventsV1, msg)",
        'contracts.NewConsumer("svc-audit-log")',
        "contracts.Consume(ctx, consumer, topics.AuditEventsV1,",
    ):
        assert expected in code["go"]
    for expected in (
        "use registry_contracts::audit::v1::AuditEvent;",
        "use registry_contracts::topics::AUDIT_EVENTS_V1;",
        "producer.send(&AUDIT_EVENTS_V1, &message)?;",
        'Consumer::from_env("svc-audit-log")?',
        "consumer.run(",
    ):
        assert expected in code["rust"]


def test_shared_type_pages_list_their_topics(site: Path) -> None:
    actor = read_page(site / "types" / "common.v1.Actor.html")
    used_by = [link for link in actor.links if link[0].startswith("../topics/")]
    assert used_by == [
        ("../topics/audit.events.v1.html", "audit.events.v1"),
        ("../topics/preferences.changed.v1.html", "preferences.changed.v1"),
    ]
    assert [row[:3] for row in actor.rows("fields")] == [
        ["1", "kind", "ActorKind"],
        ["2", "id", "string"],
        ["3", "display_name", "string"],
        ["4", "ip_address", "string"],
    ]
    email = read_page(site / "types" / "common.v1.EmailAddress.html")
    assert [link for link in email.links if link[0].startswith("../topics/")] == [
        ("../topics/email.dispatch.v1.html", "email.dispatch.v1")
    ]
    kind = read_page(site / "types" / "common.v1.ActorKind.html")
    assert kind.rows("values") == [
        ["0", "ACTOR_KIND_UNSPECIFIED"],
        ["1", "ACTOR_KIND_USER"],
        ["2", "ACTOR_KIND_SERVICE"],
        ["3", "ACTOR_KIND_SYSTEM"],
    ]
    nested = read_page(site / "types" / "audit.v1.AuditEvent.ZoneDeleted.html")
    assert ("../topics/audit.events.v1.html", "audit.v1.AuditEvent") in nested.links  # its parent: the bound message


def test_markdown_index(site: Path) -> None:
    text = (site / "README.md").read_text(encoding="utf-8")
    assert (
        "| [audit.events.v1](topics/audit.events.v1.html) | audit.v1.AuditEvent | team-audit | source | 12 | 7d |"
        in text
    )
    assert (
        "| [common.v1.Actor](types/common.v1.Actor.html) | message | [audit.events.v1](topics/audit.events.v1.html), "
        "[preferences.changed.v1](topics/preferences.changed.v1.html) |" in text
    )


def test_catalog_is_self_contained(site: Path) -> None:
    for path in site.rglob("*.html"):
        page = read_page(path)
        assert page.stylesheets == [], path  # the stylesheet is inline
        assert all("src" not in script for script in page.scripts), path  # so is the script
        for href, _ in page.links:
            assert not re.match(r"^[a-z]+:", href), f"{path}: external link {href}"
            target = href.split("#", 1)[0]
            if target:
                assert (path.parent / target).resolve().is_file(), f"{path}: broken link {href}"


def test_output_is_deterministic(repository: Path, site: Path, env: dict[str, str], tmp_path: Path) -> None:
    result = run_contracts(["docs", "--out", str(tmp_path / "again")], repository, env)
    assert result.returncode == 0, result.stderr
    first = {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}
    second = {
        str(p.relative_to(tmp_path / "again")): p.read_bytes()
        for p in sorted((tmp_path / "again").rglob("*"))
        if p.is_file()
    }
    assert first == second


# --- snippets compile against the generated packages ----------------------------------------------


@pytest.fixture(scope="module")
def repository_site(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    """The catalog of this repository's own registry, whose generated/ packages the snippets import."""
    out = tmp_path_factory.mktemp("docs-repository") / "site"
    result = run_contracts(["docs", "--root", str(REPOSITORY), "--out", str(out)], REPOSITORY, env)
    assert result.returncode == 0, result.stderr
    return out


def _run(args: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(extra_env or {})}
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.parametrize("topic", ["audit.events.v1", "email.dispatch.v1", "preferences.changed.v1"])
def test_python_snippet_type_checks(repository_site: Path, topic: str, tmp_path: Path) -> None:
    program = tmp_path / "snippet.py"
    program.write_text(read_page(repository_site / "topics" / f"{topic}.html").code["python"], encoding="utf-8")
    python_path = os.pathsep.join([str(REPOSITORY / "runtime/python/src"), str(REPOSITORY / "generated/python")])
    result = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(program),
        ],
        tmp_path,
        {"PYTHONPATH": python_path},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_go_snippet_compiles(repository_site: Path, tmp_path: Path) -> None:
    from tests.test_generate import RUNTIME_GO, RUNTIME_GO_MODULE, go_module

    program = tmp_path / "main.go"
    program.write_text(read_page(repository_site / "topics" / "email.dispatch.v1.html").code["go"], encoding="utf-8")
    module = go_module(
        tmp_path / "module",
        program,
        {"example.com/registry/gen": REPOSITORY / "generated/go", RUNTIME_GO_MODULE: RUNTIME_GO},
        require="example.com/registry/gen",
    )
    result = _run(["go", "vet", "."], module)
    assert result.returncode == 0, result.stderr
    assert _run(["gofmt", "-l", "."], module).stdout == ""


@pytest.mark.slow
def test_rust_snippet_compiles(repository_site: Path, tmp_path: Path) -> None:
    from tests.test_generate import cargo_env

    crate = tmp_path / "crate"
    (crate / "src").mkdir(parents=True)
    snippet = read_page(repository_site / "topics" / "audit.events.v1.html").code["rust"]
    (crate / "src/main.rs").write_text(snippet, encoding="utf-8")
    # Default features: the snippet uses the runtime's Kafka producer and consumer.
    (crate / "Cargo.toml").write_text(
        '[package]\nname = "docs-snippet"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
        f'[dependencies]\nregistry-contracts = {{ path = "{REPOSITORY / "generated/rust"}" }}\n\n[workspace]\n',
        encoding="utf-8",
    )
    shutil.copy2(REPOSITORY / "generated/rust/Cargo.lock", crate / "Cargo.lock")
    result = _run(["cargo", "check", "--quiet"], crate, cargo_env())
    assert result.returncode == 0, result.stderr


# --- escaping, git-less registries, the output directory ------------------------------------------

HOSTILE = '<img src=x onerror="alert(1)"> & </script><!--'


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Path:
    """A registry (not in git) whose comments and owner hold markup, rendered once."""
    root = copy_example_registry(tmp_path_factory.mktemp("docs-hostile") / "registry")
    apply_edit(root, Edit(AUDIT, "  // Who made the change.\n", f"  // Who made the change. {HOSTILE}\n"))
    apply_edit(root, Edit(AUDIT, 'owner: "team-audit"', 'owner: "team-<b>audit</b> | *x*"'))
    result = run_contracts(["docs", "--out", "site"], root, env)
    assert result.returncode == 0, result.stderr
    return root / "site"


def test_html_escapes_everything_from_protos(hostile_site: Path) -> None:
    for path in (hostile_site / "topics" / "audit.events.v1.html", hostile_site / "index.html"):
        text = path.read_text(encoding="utf-8")
        assert "<img" not in text and "<b>audit" not in text
        assert text.count("</script>") == text.count("<script")
    topic = (hostile_site / "topics" / "audit.events.v1.html").read_text(encoding="utf-8")
    assert html.escape(HOSTILE, quote=False).replace('"', "&#34;") in topic or "&lt;img src=x" in topic
    page = read_page(hostile_site / "topics" / "audit.events.v1.html")
    assert page.facts["Owner"] == "team-<b>audit</b> | *x*"
    assert page.rows("fields")[2][3] == f"Who made the change. {HOSTILE}"
    index = (hostile_site / "index.html").read_text(encoding="utf-8")
    assert "team-\\u003cb\\u003eaudit\\u003c/b\\u003e" in index  # the owner, inside the search index's JSON
    markdown = (hostile_site / "README.md").read_text(encoding="utf-8")
    assert "team-\\<b\\>audit\\</b\\> \\| \\*x\\*" in markdown


def test_without_git_history_is_empty(hostile_site: Path) -> None:
    page = read_page(hostile_site / "topics" / "audit.events.v1.html")
    assert page.rows("history") == []
    assert "No history: the registry is not in a git repository." in (
        hostile_site / "topics" / "audit.events.v1.html"
    ).read_text(encoding="utf-8")


def test_a_topic_bound_twice_gets_two_pages(env: dict[str, str], tmp_path: Path) -> None:
    """Docs describe a registry even when its rules fail (here TOPIC_ONE_TYPE): no page overwrites another."""
    root = copy_example_registry(tmp_path / "registry")
    apply_edit(
        root,
        Edit(
            PREFERENCES,
            "message QuietHours {",
            'message QuietHours {\n  option (contracts.v1.topic) = {name: "preferences.changed.v1"};',
        ),
    )
    result = run_contracts(["docs", "--out", "site"], root, env)
    assert result.returncode == 0, result.stderr
    pages = sorted(path.name for path in (root / "site" / "topics").iterdir())
    assert pages == [
        "audit.events.v1.html",
        "email.dispatch.v1.html",
        "marketing.audience.v1.html",
        "preferences.changed.v1-2.html",
        "preferences.changed.v1.html",
    ]
    carried = {
        name: re.search(r"carries <code>([^<]+)</code>", (root / "site" / "topics" / name).read_text(encoding="utf-8"))
        for name in pages[3:]
    }
    assert sorted(match.group(1) for match in carried.values() if match) == [
        "preferences.v1.PreferenceChanged",
        "preferences.v1.QuietHours",
    ]


def test_comments_become_prose() -> None:
    from contracts_cli.docs.catalog import prose
    from contracts_cli.docs.render import markdown_text

    assert prose("One sentence\nwrapped twice\n  here.") == "One sentence wrapped twice here."
    assert prose("First paragraph.\n\nSecond one:\n- item one\n- item two\n  continued") == (
        "First paragraph.\n\nSecond one:\n- item one\n- item two continued"
    )
    assert markdown_text("a | b <c>\n*d*_e_") == "a \\| b \\<c\\> \\*d\\*\\_e\\_"


def test_replaces_an_earlier_catalog_only(repository: Path, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "catalog"
    assert run_contracts(["docs", "--out", str(out)], repository, env).returncode == 0
    (out / "stale.html").write_text("left over", encoding="utf-8")
    assert run_contracts(["docs", "--out", str(out)], repository, env).returncode == 0
    assert not (out / "stale.html").exists() and (out / "index.html").is_file()

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine", encoding="utf-8")
    result = run_contracts(["docs", "--out", str(precious)], repository, env)
    assert result.returncode == 2
    assert "not empty and was not written by contracts docs" in one_line_error(result)
    assert [p.name for p in precious.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog", "precious"]  # no staging left behind


# --- the search, in a real browser ----------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium)")
    return CHROMIUM


def _chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _search(chromium: str, site: Path, profile: Path, address_suffix: str) -> Page:
    result = _chromium(chromium, profile, "--dump-dom", (site / "index.html").as_uri() + address_suffix)
    assert result.returncode == 0 and "<html" in result.stdout, result.stderr[-2000:]
    return Page(result.stdout)


@pytest.mark.parametrize(
    ("query", "expected_topics"),
    [
        ("#q=template_id", {"email.dispatch.v1"}),  # a field of a bound message
        ("#q=record_count", {"audit.events.v1"}),  # a field of a nested type
        ("#q=ip_address", {"audit.events.v1", "preferences.changed.v1"}),  # a field of a shared type
        ("?q=team-accounts", {"preferences.changed.v1"}),  # an owner, through ?q=
    ],
)
def test_search_finds_the_topic(
    chromium: str, site: Path, tmp_path: Path, query: str, expected_topics: set[str]
) -> None:
    page = _search(chromium, site, tmp_path / "profile", query)
    results = [item for item in page.items if item["tag"] == "li" and "data-kind" in item]
    assert results, "the search script showed no results"
    found = {topic for item in results for topic in (item["data-topics"] or "").split()}
    assert found == expected_topics
    visible_rows = {
        item["data-topic"]
        for item in page.items
        if item["tag"] == "tr" and "data-topic" in item and "hidden" not in item
    }
    assert visible_rows == expected_topics


def test_screenshot(chromium: str, site: Path, tmp_path: Path) -> None:
    for name, address in (
        ("search.png", (site / "index.html").as_uri() + "#q=zone"),
        ("topic.png", (site / "topics" / "audit.events.v1.html").as_uri()),
    ):
        screenshot = tmp_path / name
        result = _chromium(
            chromium, tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,900", address
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
    print(f"screenshots in {tmp_path}")


# --- the cluster ----------------------------------------------------------------------------------


def test_unreachable_cluster(repository: Path, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "site"
    started = time.monotonic()
    result = run_contracts(["docs", "--out", str(out), "--bootstrap-servers", UNREACHABLE], repository, env, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert f"cannot reach Kafka at {UNREACHABLE}" in one_line_error(result)
    assert elapsed < BOUND_SECONDS, elapsed
    assert list(tmp_path.iterdir()) == []


def test_bad_connection_settings(repository: Path, env: dict[str, str], tmp_path: Path) -> None:
    settings = {**env, "KAFKA_SECURITY_PROTOCOL": "CARRIER_PIGEON"}
    result = run_contracts(
        ["docs", "--out", str(tmp_path / "site"), "--bootstrap-servers", UNREACHABLE], repository, settings
    )
    assert result.returncode == 2
    assert "CARRIER_PIGEON" in one_line_error(result)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def cluster_registry(tmp_path: Path) -> tuple[Path, str, str]:
    """The example registry with one topic renamed to a fresh name (created on the broker) and one never created."""
    suffix = uuid.uuid4().hex[:10]
    present, missing = f"audit.docs-{suffix}.v1", f"email.docs-missing-{suffix}.v1"
    root = copy_example_registry(tmp_path / "registry")
    apply_edit(root, Edit(AUDIT, '"audit.events.v1"', f'"{present}"'))
    apply_edit(root, Edit(EMAIL, '"email.dispatch.v1"', f'"{missing}"'))
    return root, present, missing


@pytest.mark.kafka
def test_cluster_section(kafka_bootstrap: str, cluster_registry: tuple[Path, str, str], env: dict[str, str]) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    root, topic, missing = cluster_registry
    group = f"svc-docs-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(timeout=30)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for partition, count in ((0, 5), (1, 3)):
        for number in range(count):
            producer.produce(topic, value=f"record {number}".encode(), partition=partition)
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": group, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 3)], asynchronous=False)
    consumer.close()

    result = run_contracts(["docs", "--out", "site", "--bootstrap-servers", kafka_bootstrap], root, env, timeout=120)
    assert result.returncode == 0, result.stderr
    page = read_page(root / "site" / "topics" / f"{topic}.html")
    partitions = page.rows("partitions")
    assert [(row[0], row[2], row[3]) for row in partitions] == [("0", "1", "5"), ("1", "1", "3")]
    groups = {row[0]: row for row in page.rows("groups")}
    assert groups[group][2:] == ["0", "p0: 4, p1: 3", "1 (p0: 1, p1: 0)"]
    text = (root / "site" / "topics" / f"{topic}.html").read_text(encoding="utf-8")
    assert f"Read from <code>{kafka_bootstrap}</code> at " in text
    assert "The topic does not exist on the cluster." in (root / "site" / "topics" / f"{missing}.html").read_text(
        encoding="utf-8"
    )
    index = read_page(root / "site" / "index.html")
    rows = {row[0]: row for row in index.rows("topics")}
    assert rows[topic][-1] == "2 partitions, 8 records written"
    assert rows[missing][-1] == "missing"


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    from tests.kafka_broker import start_broker, stop_broker

    info = start_broker("sasl", tmp_path_factory.mktemp("kafka-sasl-docs"))
    try:
        assert info.admin_username and info.admin_password
        yield info.bootstrap_servers, info.admin_username, info.admin_password
    finally:
        stop_broker(info)


def _sasl_env(env: dict[str, str], username: str, password: str) -> dict[str, str]:
    return {
        **env,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": username,
        "KAFKA_SASL_PASSWORD": password,
    }


@pytest.mark.kafka
def test_wrong_credentials(
    sasl_broker: tuple[str, str, str], repository: Path, env: dict[str, str], tmp_path: Path
) -> None:
    bootstrap, username, password = sasl_broker
    out = tmp_path / "site"
    started = time.monotonic()
    result = run_contracts(
        ["docs", "--out", str(out), "--bootstrap-servers", bootstrap],
        repository,
        _sasl_env(env, username, password + "-wrong"),
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert "_AUTHENTICATION" in one_line_error(result) and "check the SASL username and password" in result.stderr
    assert password not in result.stderr
    assert elapsed < BOUND_SECONDS, elapsed
    assert list(tmp_path.iterdir()) == []

    result = run_contracts(
        ["docs", "--out", str(out), "--bootstrap-servers", bootstrap], repository, _sasl_env(env, username, password)
    )
    assert result.returncode == 0, result.stderr
    assert "On the cluster" in (out / "topics" / "audit.events.v1.html").read_text(encoding="utf-8")
