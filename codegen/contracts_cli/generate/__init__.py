"""`contracts gen`: registry -> typed Python, Go and Rust packages in generated/.

Generation happens in a temporary tree; only when every language succeeded are
the differences copied into the output directory, so a failure leaves it as it
was. A stamp of the inputs' content hash makes an unchanged registry a no-op.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

from contracts_cli import __version__, buf
from contracts_cli.config import CONFIG_FILE, RegistryRoot
from contracts_cli.errors import ContractsError
from contracts_cli.findings import Finding
from contracts_cli.generate.files import GeneratedFiles
from contracts_cli.generate.templates import template_files
from contracts_cli.generate.vendor import go_runtime_dir, runtime_sources
from contracts_cli.resources import cli_version
from contracts_cli.toolchain import PROTOC_GEN_GO_VERSION, PROTOC_GEN_PROST_VERSION

# One module per language under codegen/generate, imported when used: a no-op gen imports none.
LANGUAGES = ("python", "go", "rust")


def _language(name: str) -> ModuleType:
    return import_module(f"contracts_cli.generate.{name}")


# Build output that tools put inside generated packages; never ours to report or delete.
IGNORED_NAMES = frozenset({"target", "build", "dist", "__pycache__", ".venv", "Cargo.lock", ".mypy_cache"})


class RegistryRulesFailed(ContractsError):
    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(f"the registry breaks {len(findings)} rule(s); nothing was generated")
        self.findings = findings


@dataclass
class GenerationResult:
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # with --check: what differs, as "stale|missing|extra: path"
    cached: bool = False


def parse_languages(text: str) -> list[str]:
    languages = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise ContractsError(f"--lang takes a comma-separated list of {', '.join(LANGUAGES)}; got {text!r}")
    return sorted(set(languages), key=LANGUAGES.index)


def generate(root: RegistryRoot, languages: Sequence[str], out: Path, check: bool = False) -> GenerationResult:
    out = out if out.is_absolute() else root.path / out
    key = _input_key(root, languages)
    stamp = _stamp_path(out)
    if _stamp_matches(stamp, key, out):
        return GenerationResult(cached=True)
    from contracts_cli.load import load_registry
    from contracts_cli.rules import run_registry_rules

    registry = load_registry(root)
    findings = run_registry_rules(registry)
    if findings:
        raise RegistryRulesFailed(findings)
    files = _run_plugins(root, registry, languages)
    for language in languages:
        _language(language).render_package(registry, root.settings, files)
    old_files = _tree_files(out, languages)
    if check:
        return GenerationResult(stale=_differences(files, old_files))
    result = _sync(files, old_files, out)
    _write_stamp(stamp, key, out, _tree_files(out, languages))
    return result


def _run_plugins(root: RegistryRoot, registry: Any, languages: Sequence[str]) -> GeneratedFiles:
    """One buf generate for every plugin; each writes a zip, read back into memory.

    Zips instead of directories: buf writes a handful of files instead of thousands, and
    nothing reaches the output directory before every language has succeeded.
    """
    from contracts_cli.load import build_image

    plugins = [plugin for lang in languages for plugin in _language(lang).plugins(registry, root.settings)]
    prefixes = [plugin["out"] for plugin in plugins]
    zipped = [{**plugin, "out": f"plugin-{index}.zip"} for index, plugin in enumerate(plugins)]
    template = json.dumps({"version": "v2", "plugins": zipped})
    with tempfile.TemporaryDirectory(prefix="contracts-gen-") as scratch:
        # A file, not an argument: Go's import mappings grow with the registry past the kernel's limit.
        template_file = Path(scratch) / "buf.gen.json"
        template_file.write_text(template, encoding="utf-8")
        result = buf.run(
            ["generate", str(build_image(root)), "--template", str(template_file), "-o", scratch], cwd=root.path
        )
        if result.returncode != 0:
            raise ContractsError(f"buf generate failed: {buf.first_error_line(result.stderr or result.stdout)}")
        files: GeneratedFiles = {}
        for index, prefix in enumerate(prefixes):
            with zipfile.ZipFile(Path(scratch) / f"plugin-{index}.zip") as archive:
                for member in archive.infolist():
                    if not member.is_dir():
                        files[f"{prefix}/{member.filename}"] = archive.read(member)
    return files


def _tree_files(base: Path, languages: Iterable[str]) -> dict[str, Path]:
    return {name: Path(path) for name, path in _walk(str(base), languages).items()}


def _walk(base: str, languages: Iterable[str]) -> dict[str, str]:
    """Relative name -> absolute path of every generated file; plain strings and scandir, since the
    no-op check walks thousands of files and pathlib objects would cost more than the walk itself."""
    files: dict[str, str] = {}
    prefix = len(base) + 1
    pending = [os.path.join(base, language) for language in languages]
    while pending:
        try:
            entries = sorted(os.scandir(pending.pop()), key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if _ignored(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            else:
                files[entry.path[prefix:]] = entry.path
    return dict(sorted(files.items()))


def _ignored(name: str) -> bool:
    return name in IGNORED_NAMES or name.endswith(".egg-info")


def _differences(new: GeneratedFiles, old: dict[str, Path]) -> list[str]:
    report = [f"missing: {name}" for name in sorted(new.keys() - old.keys())]
    report += [f"stale: {name}" for name in sorted(new.keys() & old.keys()) if not _unchanged(new[name], old[name])]
    report += [f"extra: {name}" for name in sorted(old.keys() - new.keys())]
    return sorted(report, key=lambda line: line.split(": ", 1)[1])


def _sync(new: GeneratedFiles, old: dict[str, Path], out: Path) -> GenerationResult:
    """Write what changed into `out`: unchanged files keep their bytes and their mtime.

    A file that replaces another arrives by an atomic rename, so a reader never sees half of it;
    a new file is written in place (there was nothing to see before)."""
    result = GenerationResult()
    changed = [name for name in sorted(new) if name not in old or not _unchanged(new[name], old[name])]
    _make_directories(out, changed)
    for name in changed:
        target = os.path.join(out, name)
        directory = os.path.dirname(target)
        if name in old:
            partial = os.path.join(directory, f".{os.path.basename(target)}.partial")
            _write(partial, new[name])
            os.replace(partial, target)
        else:
            _write(target, new[name])
        result.written.append(name)
    for name in sorted(old.keys() - new.keys()):
        old[name].unlink()
        result.deleted.append(name)
    _remove_empty_dirs(out, {name.split("/", 1)[0] for name in new})
    return result


def _make_directories(out: Path, names: list[str]) -> None:
    """Create the directories these files need, parents first: one mkdir per new directory."""
    needed: set[str] = set()
    for name in names:
        parent = os.path.dirname(name)
        while parent and parent not in needed:
            needed.add(parent)
            parent = os.path.dirname(parent)
    os.makedirs(out, exist_ok=True)
    for directory in sorted(needed):
        with contextlib.suppress(FileExistsError):
            os.mkdir(os.path.join(out, directory))


def _write(path: str, content: bytes) -> None:
    with open(path, "wb") as file:
        file.write(content)


def _unchanged(content: bytes, path: Path) -> bool:
    return path.stat().st_size == len(content) and path.read_bytes() == content


def _remove_empty_dirs(out: Path, tops: set[str]) -> None:
    for top in tops:
        for directory, _, _ in sorted(os.walk(out / top), key=lambda entry: -len(entry[0])):
            if not os.listdir(directory):
                os.rmdir(directory)


# The no-op cache: a stamp per output directory holding the inputs' hash and the outputs' (size, mtime).


def _input_key(root: RegistryRoot, languages: Sequence[str]) -> str:
    digest = hashlib.sha256()
    parts: list[str] = [__version__, PROTOC_GEN_GO_VERSION, PROTOC_GEN_PROST_VERSION, ",".join(languages)]
    parts.append(root.content_hash)
    parts.append(repr(root.settings))  # includes what command-line flags override
    digest.update("\0".join(parts).encode())
    config = root.path / CONFIG_FILE
    if config.is_file():
        digest.update(config.read_bytes())
    for template in template_files(languages):
        digest.update(template.name.encode() + template.read_bytes())
    for source in _generator_sources():
        digest.update(source.name.encode() + source.read_bytes())
    # The runtimes decide what is vendored (and the Go module's requirements, the Rust features).
    digest.update(cli_version().encode())
    for language in languages:
        for relative, content in runtime_sources(language).items():
            digest.update(f"{language}/{relative}".encode() + b"\0" + content)
    for name in ("go.mod", "go.sum"):
        if "go" in languages:
            digest.update((go_runtime_dir() / name).read_bytes())
    return digest.hexdigest()


def _generator_sources() -> list[Path]:
    """The code that decides what gen writes: editing it must invalidate the stamp, as a template edit does."""
    generate = Path(__file__).resolve().parent
    return [*sorted(generate.glob("*.py")), generate.parent / "model.py"]


def _stamp_path(out: Path) -> Path:
    return buf.cache_dir() / "gen-stamps" / f"{hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:24]}.json"


def _fingerprint(files: Mapping[str, str | Path]) -> dict[str, list[int]]:
    fingerprint = {}
    for name, path in files.items():
        status = os.stat(path)
        fingerprint[name] = [status.st_size, status.st_mtime_ns]
    return fingerprint


def _stamp_matches(stamp: Path, key: str, out: Path) -> bool:
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if recorded.get("key") != key:
        return False
    languages = sorted({name.split("/", 1)[0] for name in recorded.get("files", {})})
    return bool(recorded.get("files")) and _fingerprint(_walk(str(out), languages)) == recorded["files"]


def _write_stamp(stamp: Path, key: str, out: Path, files: dict[str, Path]) -> None:
    stamp.parent.mkdir(parents=True, exist_ok=True)
    partial = stamp.with_suffix(".partial")
    partial.write_text(json.dumps({"key": key, "out": str(out), "files": _fingerprint(files)}), encoding="utf-8")
    os.replace(partial, stamp)


__all__: list[str] = ["GenerationResult", "RegistryRulesFailed", "generate", "parse_languages"]
