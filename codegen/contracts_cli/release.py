"""`contracts release`: the next version of the generated packages, from what changed since the last release.

- **major**: a change that breaks generated code or readers, whatever the topics' compatibility
  levels let through at review time (buf's FILE rules, unfiltered), or a topic-level rule
  (`TOPIC_REMOVED`, `TOPIC_KEY_CHANGED`, ...);
- **minor**: topics, messages, enums or fields were added;
- **patch**: anything else in the registry changed (comments, options, settings);
- nothing changed: nothing to release.

A release writes the version into contracts.toml, regenerates, commits both, and tags the commit
`v<version>` (the release) and `generated/go/v<version>` (what `go get` resolves for a module in
the generated/go subdirectory). The working tree must be clean, so the tagged commit holds exactly
the released files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from contracts_cli.breaking import TOPIC_RULES, finish_buf_breaking, start_buf_breaking
from contracts_cli.config import CONFIG_FILE, RegistryRoot, open_root
from contracts_cli.errors import ContractsError
from contracts_cli.git import run_git as _git
from contracts_cli.load import NothingToCompare, against_image, build_image, read_image
from contracts_cli.model import Registry, build_registry

RELEASE_TAG_PREFIX = "v"
GO_TAG_PREFIX = "generated/go/v"
_SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_VERSION_LINE = re.compile(r'^(version\s*=\s*)"[^"]*"', re.MULTILINE)
# Every rule of buf's FILE category: what would break generated code at the strictest level.
_UNFILTERED_CONFIG = json.dumps({"version": "v2", "breaking": {"use": ["FILE"]}})


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str, where: str) -> Version:
        match = _SEMVER.match(text)
        if not match:
            raise ContractsError(f"version {text!r} is not MAJOR.MINOR.PATCH", location=where)
        return cls(*(int(part) for part in match.groups()))

    def bump(self, kind: str) -> Version:
        if kind == "major":
            return Version(self.major + 1, 0, 0)
        if kind == "minor":
            return Version(self.major, self.minor + 1, 0)
        return Version(self.major, self.minor, self.patch + 1)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass
class ReleasePlan:
    previous_tag: str | None
    current_version: str
    kind: str  # "major" | "minor" | "patch" | "first" | "none"
    version: str
    reasons: list[str] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        if self.kind == "none":
            return []
        return [f"{RELEASE_TAG_PREFIX}{self.version}", f"{GO_TAG_PREFIX}{self.version}"]


def plan_release(root: RegistryRoot) -> ReleasePlan:
    current_version = Version.parse(root.settings.version, CONFIG_FILE)
    previous_tag = last_release_tag(root.path)
    if previous_tag is None:
        return ReleasePlan(None, str(current_version), "first", str(current_version), ["no release tag yet"])
    previous_version = Version.parse(previous_tag.removeprefix(RELEASE_TAG_PREFIX), previous_tag)
    base = max(previous_version, current_version, key=lambda v: (v.major, v.minor, v.patch))
    kind, reasons = classify_changes(root, previous_tag)
    version = base if kind == "none" else base.bump(kind)
    return ReleasePlan(previous_tag, str(current_version), kind, str(version), reasons)


def last_release_tag(repository: Path) -> str | None:
    """The highest `v<semver>` tag reachable from HEAD."""
    result = _git(repository, "tag", "--merged", "HEAD", "--list", f"{RELEASE_TAG_PREFIX}*")
    versions = []
    for tag in result.stdout.split():
        match = _SEMVER.match(tag.removeprefix(RELEASE_TAG_PREFIX))
        if match:
            versions.append((tuple(int(part) for part in match.groups()), tag))
    return max(versions)[1] if versions else None


def classify_changes(root: RegistryRoot, previous_tag: str) -> tuple[str, list[str]]:
    current_image = build_image(root)
    try:
        previous_image, previous_root = against_image(root, previous_tag)
    except NothingToCompare:
        return "minor", [f"{previous_tag} holds no registry: every contract is new"]
    current = build_registry(read_image(current_image), root)
    previous = build_registry(read_image(previous_image), previous_root)
    breaking = _unfiltered_breaking(root, current_image, previous_image)
    breaking += [f"{f.rule}: {f.message}" for rule in TOPIC_RULES for f in rule.check(previous, current)]
    if breaking:
        return "major", breaking
    additions = _additions(previous, current)
    if additions:
        return "minor", additions
    if current_image.read_bytes() != previous_image.read_bytes() or _settings_changed(root, previous_tag):
        return "patch", ["the contracts changed without adding or breaking anything"]
    return "none", [f"nothing changed since {previous_tag}"]


def _unfiltered_breaking(root: RegistryRoot, current_image: Path, previous_image: Path) -> list[str]:
    records = finish_buf_breaking(start_buf_breaking(root, current_image, previous_image, _UNFILTERED_CONFIG))
    ignored = root.ignored_paths("breaking")  # protovalidate's vendored rules change with the CLI, not the contracts
    return [
        f"{record.get('type', 'BUF')}: {record.get('message', '')}"
        for record in records
        if not root.is_under(root.repo_path(str(record.get("path", ""))), ignored)
    ]


def _additions(previous: Registry, current: Registry) -> list[str]:
    added = [f"topic {t.name}" for t in current.topics if t.name not in {p.name for p in previous.topics}]
    added += [f"message {name}" for name in current.messages if name not in previous.messages]
    added += [f"enum {name}" for name in current.enums if name not in previous.enums]
    for name, message in current.messages.items():
        old = previous.messages.get(name)
        if old is not None:
            old_fields = {f.name for f in old.fields}
            added += [f"field {name}.{f.name}" for f in message.fields if f.name not in old_fields]
    for name, enum in current.enums.items():
        old_enum = previous.enums.get(name)
        if old_enum is not None:
            added += [f"enum value {name}.{v}" for v, _ in enum.values if v not in dict(old_enum.values)]
    return [f"added {what}" for what in added]


def _settings_changed(root: RegistryRoot, previous_tag: str) -> bool:
    """contracts.toml changed in a way other than its version (package names, ...)."""
    old = _git(root.path, "show", f"{previous_tag}:./{CONFIG_FILE}")
    current_text = (root.path / CONFIG_FILE).read_text(encoding="utf-8") if (root.path / CONFIG_FILE).is_file() else ""
    return _without_version(old.stdout if old.returncode == 0 else "") != _without_version(current_text)


def _without_version(text: str) -> str:
    return _VERSION_LINE.sub(r'\1""', text, count=1)


def require_clean_tree(repository: Path) -> None:
    status = _git(repository, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    if status.returncode != 0:
        raise ContractsError(f"{repository} is not a git repository: a release tags a commit")
    if status.stdout.strip():
        first = status.stdout.splitlines()[0][3:]
        raise ContractsError(f"uncommitted changes ({first}, ...): commit or stash them before a release")


def write_version(root: RegistryRoot, version: str) -> None:
    config = root.path / CONFIG_FILE
    text = config.read_text(encoding="utf-8") if config.is_file() else ""
    updated, count = _VERSION_LINE.subn(rf'\g<1>"{version}"', text, count=1)
    if count == 0:
        updated = f'version = "{version}"\n' + text
    partial = config.with_name(CONFIG_FILE + ".partial")
    partial.write_text(updated, encoding="utf-8")
    partial.replace(config)


def commit_and_tag(repository: Path, plan: ReleasePlan, paths: list[str]) -> None:
    existing = [tag for tag in plan.tags if _git(repository, "rev-parse", "--verify", "--quiet", tag).returncode == 0]
    if existing:
        raise ContractsError(f"tag {existing[0]} exists already")
    _checked(repository, "add", "--", *paths)
    if _git(repository, "diff", "--cached", "--quiet").returncode != 0:
        _checked(repository, "commit", "--quiet", "-m", f"Release {plan.version}")
    for tag in plan.tags:
        _checked(repository, "tag", "-a", tag, "-m", f"Release {plan.version}")


def publish_release(root: RegistryRoot, plan: ReleasePlan, out: str = "generated") -> None:
    """Write the version, regenerate every language, commit both and tag; on failure contracts.toml is restored."""
    from contracts_cli.generate import generate, parse_languages

    config = root.path / CONFIG_FILE
    original = config.read_bytes() if config.is_file() else None
    write_version(root, plan.version)
    try:
        generate(open_root(root.path), parse_languages("python,go,rust"), Path(out), check=False)
    except BaseException:
        if original is None:
            config.unlink(missing_ok=True)
        else:
            config.write_bytes(original)
        raise
    commit_and_tag(root.path, plan, [CONFIG_FILE, out])


def _checked(repository: Path, *args: str) -> None:
    result = _git(repository, *args)
    if result.returncode != 0:
        raise ContractsError(f"git {args[0]} failed: {result.stderr.strip().splitlines()[-1] if result.stderr else ''}")
