"""`contracts breaking`: buf's breaking rules, filtered by each topic's compatibility level,
plus topic-level rules that buf cannot know (a topic is more than its message type)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts_cli import buf
from contracts_cli.config import RegistryRoot
from contracts_cli.errors import ContractsError
from contracts_cli.findings import Finding
from contracts_cli.load import against_image, build_image, read_image
from contracts_cli.model import COMPATIBILITY_LEVELS, Location, Message, Registry, TopicBinding, build_registry
from contracts_cli.rule_changes import Tightening, tightened, tightened_on_new_field

# Which buf category each compatibility level checks; `none` checks nothing.
LEVEL_CATEGORY = {"wire": "WIRE", "wire_json": "WIRE_JSON", "source": "FILE"}
ALL_CATEGORIES_CONFIG = json.dumps({"version": "v2", "breaking": {"use": ["FILE", "WIRE_JSON", "WIRE"]}})
_DELETED_FILE = re.compile(r'^Previously present file "([^"]+)" was deleted')


def breaking(root: RegistryRoot, against: str) -> list[Finding]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        current_job = pool.submit(build_image, root)
        against_job = pool.submit(against_image, root, against)
        categories_job = pool.submit(rule_categories, root.path)
        current_image = current_job.result()
        previous_image, previous_root = against_job.result()
        categories = categories_job.result()
    buf_run = start_buf_breaking(root, current_image, previous_image, ALL_CATEGORIES_CONFIG)
    current = build_registry(read_image(current_image), root)
    previous = build_registry(read_image(previous_image), previous_root)
    records = finish_buf_breaking(buf_run)
    levels = _CompatibilityLevels(previous, current)
    # buf.yaml's breaking `ignore` (a vendored third_party/, say): the config above replaces buf.yaml's.
    ignored = root.ignored_paths("breaking")
    findings = [
        finding
        for record in records
        if (finding := levels.keep(record, categories, root, previous_root)) is not None
        and not root.is_under(finding.path, ignored)
    ]
    findings.extend(f for check in TOPIC_RULES for f in check.check(previous, current))
    return sorted(set(findings))


def start_buf_breaking(
    root: RegistryRoot, current_image: Path, previous_image: Path, config: str
) -> subprocess.Popen[str]:
    """buf breaking over two images with `config` (JSON), started so the caller can work meanwhile."""
    arguments = ["breaking", str(current_image), "--against", str(previous_image), "--error-format", "json"]
    return buf.start([*arguments, "--config", config], cwd=root.path)


def finish_buf_breaking(run: subprocess.Popen[str]) -> list[dict[str, Any]]:
    """buf's findings as JSON records; a failure of buf itself is a one-line error."""
    stdout, stderr = run.communicate()
    if run.returncode not in (0, buf.BUF_FINDINGS_EXIT):
        raise ContractsError(f"buf breaking failed: {buf.first_error_line(stderr or stdout)}")
    return buf.json_lines(stdout)


def rule_categories(cwd: Path) -> dict[str, frozenset[str]]:
    """buf's rule id -> categories, cached per buf binary (the table only changes with buf)."""
    binary = Path(buf.buf_binary())
    identity = hashlib.sha256(f"{binary.resolve()}:{binary.stat().st_size}".encode()).hexdigest()[:16]
    cached = buf.cache_dir() / f"breaking-rules-{identity}.json"
    if not cached.is_file():
        result = buf.run(["config", "ls-breaking-rules", "--version", "v2", "--format", "json"], cwd=cwd)
        if result.returncode != 0:
            raise ContractsError(f"buf config ls-breaking-rules failed: {buf.first_error_line(result.stderr)}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(buf.json_lines(result.stdout)), encoding="utf-8")
    return {r["id"]: frozenset(r["categories"]) for r in json.loads(cached.read_text(encoding="utf-8"))}


class _CompatibilityLevels:
    """Decides the level that governs a buf finding from the topics whose types it touches.

    A type used by several topics gets the strictest of their levels; a topic's level is
    the stricter of its previous and current setting, so that lowering a topic's
    compatibility takes effect only after the change that lowers it has merged.
    """

    def __init__(self, previous: Registry, current: Registry) -> None:
        self.registries = (previous, current)
        self.topic_level: dict[str, str] = {}
        for registry in self.registries:
            for topic in registry.topics:
                self.topic_level[topic.name] = _stricter(self.topic_level.get(topic.name, "none"), topic.compatibility)
        self.type_users: dict[str, set[str]] = {}
        for registry in self.registries:
            for topic in registry.topics:
                for type_name in registry.uses(topic.message):
                    self.type_users.setdefault(type_name, set()).add(topic.name)

    def keep(
        self,
        record: dict[str, object],
        categories: dict[str, frozenset[str]],
        root: RegistryRoot,
        previous_root: RegistryRoot,
    ) -> Finding | None:
        file_name, line = str(record.get("path", "")), int(str(record.get("start_line", 1)))
        if not file_name:
            # buf reports a deleted file without a path; its name is only in the message.
            deleted = _DELETED_FILE.match(str(record.get("message", "")))
            file_name = deleted.group(1) if deleted else ""
        level = self.level_at(file_name, line)
        rule_id = str(record.get("type", ""))
        if level == "none" or LEVEL_CATEGORY[level] not in categories.get(rule_id, frozenset()):
            return None
        in_current = file_name in self.registries[1].files
        path = (root if in_current else previous_root).repo_path(file_name)
        message = f"{record.get('message', '')} (topic compatibility: {level})"
        return Finding(path, line, int(str(record.get("start_column", 1))), rule_id, message)

    def level_at(self, file_name: str, line: int) -> str:
        for registry in self.registries:
            for type_name in self._types_at(registry, file_name, line):
                if type_name in self.type_users:
                    return self._strictest(self.type_users[type_name])
        users: set[str] = set()
        for registry in self.registries:
            proto_file = registry.files.get(file_name)
            if proto_file:
                for type_name in (*proto_file.messages, *proto_file.enums):
                    users |= self.type_users.get(type_name, set())
        return self._strictest(users) if users else "source"

    @staticmethod
    def _types_at(registry: Registry, file_name: str, line: int) -> list[str]:
        """Types whose span holds `line`, innermost first."""
        proto_file = registry.files.get(file_name)
        if proto_file is None:
            return []
        spans: list[tuple[Location, str]] = [
            (registry.messages[name].location, name) for name in proto_file.messages
        ] + [(registry.enums[name].location, name) for name in proto_file.enums]
        holding = [(loc.line, name) for loc, name in spans if loc.line <= line <= max(loc.end_line, loc.line)]
        return [name for _, name in sorted(holding, reverse=True)]

    def _strictest(self, topics: set[str]) -> str:
        level = "none"
        for topic in topics:
            level = _stricter(level, self.topic_level.get(topic, "source"))
        return level


def _stricter(first: str, second: str) -> str:
    return max(first, second, key=COMPATIBILITY_LEVELS.index)


# Topic-level rules: each compares the previous and the current registry.

TopicCheck = Callable[[Registry, Registry], Iterator[Finding]]


@dataclass(frozen=True)
class TopicRule:
    id: str
    purpose: str
    check: TopicCheck


TOPIC_RULES: list[TopicRule] = []


def topic_rule(rule_id: str, purpose: str) -> Callable[[TopicCheck], TopicCheck]:
    def register(check: TopicCheck) -> TopicCheck:
        TOPIC_RULES.append(TopicRule(rule_id, purpose, check))
        return check

    return register


def _by_name(registry: Registry) -> dict[str, TopicBinding]:
    return {topic.name: topic for topic in registry.topics}


def _by_message(registry: Registry) -> dict[str, TopicBinding]:
    return {topic.message: topic for topic in registry.topics}


def _at(location: Location, rule_id: str, message: str) -> Finding:
    return Finding(location.path, location.line, location.column, rule_id, message)


def _same_topics(previous: Registry, current: Registry) -> Iterator[tuple[TopicBinding, TopicBinding]]:
    now = _by_name(current)
    for name, before in _by_name(previous).items():
        if name in now:
            yield before, now[name]


@topic_rule("TOPIC_REMOVED", "A topic stays bound: its consumers and its data outlive any one change.")
def topic_removed(previous: Registry, current: Registry) -> Iterator[Finding]:
    now, now_by_message = _by_name(current), _by_message(current)
    for name, before in _by_name(previous).items():
        if name in now or before.message in now_by_message:
            continue
        message = current.messages.get(before.message)
        where = message.location if message else before.location
        yield _at(where, "TOPIC_REMOVED", f'topic "{name}" (bound to {before.message}) was removed')


@topic_rule("TOPIC_RENAMED", "A topic keeps its name: consumers subscribe by name.")
def topic_renamed(previous: Registry, current: Registry) -> Iterator[Finding]:
    now, now_by_message = _by_name(current), _by_message(current)
    for name, before in _by_name(previous).items():
        after = now_by_message.get(before.message)
        if name not in now and after is not None and after.name != name:
            yield _at(
                after.location, "TOPIC_RENAMED", f'topic "{name}" of {before.message} was renamed to "{after.name}"'
            )


@topic_rule("TOPIC_REBOUND", "A topic keeps its message type: one type per topic, for its whole life.")
def topic_rebound(previous: Registry, current: Registry) -> Iterator[Finding]:
    for before, after in _same_topics(previous, current):
        if before.message != after.message:
            yield _at(
                after.location,
                "TOPIC_REBOUND",
                f'topic "{after.name}" was bound to {before.message} and is now bound to {after.message}',
            )


@topic_rule("TOPIC_KEY_CHANGED", "A topic keeps its key: changing it breaks per-key ordering and compaction.")
def topic_key_changed(previous: Registry, current: Registry) -> Iterator[Finding]:
    for before, after in _same_topics(previous, current):
        if before.key != after.key:
            old, new = before.key or "(none)", after.key or "(none)"
            yield _at(after.location, "TOPIC_KEY_CHANGED", f'key of topic "{after.name}" changed from {old} to {new}')


@topic_rule("TOPIC_PARTITIONS_DECREASED", "Partitions never decrease: Kafka cannot remove partitions.")
def topic_partitions_decreased(previous: Registry, current: Registry) -> Iterator[Finding]:
    for before, after in _same_topics(previous, current):
        if before.partitions and after.partitions is not None and after.partitions < before.partitions:
            yield _at(
                after.location,
                "TOPIC_PARTITIONS_DECREASED",
                f'partitions of topic "{after.name}" decreased from {before.partitions} to {after.partitions}',
            )


@topic_rule(
    "TOPIC_CLEANUP_POLICY_CHANGED", "cleanup_policy stays: switching delete/compact changes what readers can rely on."
)
def topic_cleanup_policy_changed(previous: Registry, current: Registry) -> Iterator[Finding]:
    for before, after in _same_topics(previous, current):
        old, new = before.cleanup_policy or "delete", after.cleanup_policy or "delete"
        if old != new:
            yield _at(
                after.location,
                "TOPIC_CLEANUP_POLICY_CHANGED",
                f'cleanup_policy of topic "{after.name}" changed from {old} to {new}',
            )


@topic_rule(
    "TOPIC_RULE_TIGHTENED",
    "Field rules only loosen: a record valid before stays valid, so no consumer dead-letters yesterday's data.",
)
def topic_rule_tightened(previous: Registry, current: Registry) -> Iterator[Finding]:
    # Every type a topic carries (its message and the messages inside it), checked once however
    # many topics share it; a topic at COMPATIBILITY_NONE (before or now) does not count.
    topics_of: dict[str, list[str]] = {}
    for before, after in _same_topics(previous, current):
        if before.message != after.message or _stricter(before.compatibility, after.compatibility) == "none":
            continue
        for type_name in sorted(current.uses(after.message) & previous.uses(before.message)):
            if type_name in current.messages and type_name in previous.messages:
                topics_of.setdefault(type_name, []).append(after.name)
    for type_name, topics in sorted(topics_of.items()):
        old, new = previous.messages[type_name], current.messages[type_name]
        for where, element, changes in _message_tightenings(old, new):
            listed = ", ".join(f'"{topic}"' for topic in sorted(topics))
            yield _at(
                where,
                "TOPIC_RULE_TIGHTENED",
                f"the field rules of {element} got stricter ({'; '.join(c.describe() for c in changes)}): records "
                f"of topic {listed} that were valid may now be refused or dead-lettered",
            )


def _message_tightenings(old: Message, new: Message) -> Iterator[tuple[Location, str, list[Tightening]]]:
    """(where, what, changes) for the message's own rules, its oneofs' and its fields'."""
    if changes := tightened(old.rules, new.rules):
        yield new.location, new.full_name, changes
    old_oneofs = dict(old.oneof_rules)
    for name, rules in new.oneof_rules:
        if changes := tightened(old_oneofs.get(name, ()), rules):
            yield new.location, f"{new.full_name}.{name} (oneof)", changes
    old_fields = {one.number: one for one in old.fields}
    for one in new.fields:
        before = old_fields.get(one.number)
        changes = tightened(before.rules, one.rules) if before else tightened_on_new_field(one)
        if changes:
            yield one.location, f"{new.full_name}.{one.name}", changes
