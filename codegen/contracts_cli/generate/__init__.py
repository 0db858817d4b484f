"""`contracts gen`: registry -> typed Python, Go and Rust packages in generated/.

Generation happens in memory; only when every language succeeded are the differences
copied into the output directory, so a failure leaves it as it was.

A stamp per output directory makes repeated runs cheap. It records a key of every input
(an unchanged registry is a no-op: a few stats, no compilation), and per proto package the
hash of its inputs and the files its plugins wrote. After a change, only the packages whose
inputs changed (the edited files' packages and every package importing them, transitively)
go through `buf generate`, as targets of a cut-down image; the topic bindings, lib.rs, go.mod
and the other files rendered from the whole model are rendered every time, which is cheap.
The other packages' files stay on disk untouched (their size and mtime must still be the
recorded ones, or they are regenerated too), so the result equals a full gen byte for byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

from contracts_cli import __version__, buf
from contracts_cli.config import CONFIG_FILE, RegistryRoot
from contracts_cli.errors import ContractsError
from contracts_cli.findings import Finding
from contracts_cli.generate.files import KEPT, GeneratedFiles, is_kept
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
    # Proto packages that went through buf generate; None when every package did (a full gen).
    regenerated: list[str] | None = None


def parse_languages(text: str) -> list[str]:
    languages = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise ContractsError(f"--lang takes a comma-separated list of {', '.join(LANGUAGES)}; got {text!r}")
    return sorted(set(languages), key=LANGUAGES.index)


def generate(root: RegistryRoot, languages: Sequence[str], out: Path, check: bool = False) -> GenerationResult:
    out = out if out.is_absolute() else root.path / out
    plugin_key = _plugin_key(root, languages)
    fast_key = _input_key(root, languages, plugin_key)
    stamp_path = _stamp_path(out)
    stamp = _read_stamp(stamp_path)
    fresh = stamp is not None and stamp.get("fast_key") == fast_key and _tree_unchanged(out, stamp)
    if stamp is not None and fresh and _inputs_unchanged(root, stamp):
        return GenerationResult(cached=True)
    # Stat the proto files before reading them: an edit made after this shows in the next run's stats.
    inputs = _input_snapshot(root)
    key = hashlib.sha256(f"{fast_key}\0{root.content_hash}".encode()).hexdigest()
    if stamp is not None and fresh and stamp.get("key") == key:
        # Same content, other mtimes (a checkout, a touch): record them, so the next run is all stats.
        _write_stamp(stamp_path, {**stamp, **inputs})
        return GenerationResult(cached=True)
    from contracts_cli.load import build_image, load_registry
    from contracts_cli.rules import run_registry_rules

    registry = load_registry(root)
    findings = run_registry_rules(registry)
    if findings:
        raise RegistryRulesFailed(findings)
    image = _Image(build_image(root).read_bytes(), registry.descriptors)
    packages = image.package_hashes()
    incremental = root.settings.python.runtime != "betterproto" or "python" not in languages
    plan = _plan(stamp_path, stamp, plugin_key, packages, out) if incremental else None
    files, plugin_outputs = _run_plugins(root, registry, languages, image, plan)
    if plan is not None:
        files.update(dict.fromkeys(plan.kept_names, KEPT))
    for language in languages:
        _language(language).render_package(registry, root.settings, files)
    walked, directories = _walk(str(out), languages)
    old_files = {name: Path(path) for name, path in walked.items()}
    if check:
        return GenerationResult(stale=_differences(files, old_files))
    result = _sync(files, old_files, out)
    result.regenerated = None if plan is None else sorted(plan.regenerate)
    owners = _package_outputs(image, plan, files, plugin_outputs) if incremental else None
    _write_package_record(stamp_path, key, packages, owners)
    recorded = {"fast_key": fast_key, "key": key, "plugin_key": plugin_key, "out": str(out)}
    if result.deleted:  # directories may have gone with them
        walked, directories = _walk(str(out), languages)
    tree = sorted(walked.keys() - set(result.deleted) | set(result.written))
    directories = sorted(set(directories) | {parent for name in result.written for parent in _parents(name)})
    _write_stamp(stamp_path, {**recorded, **_tree_snapshot(out, tree, directories), **inputs})
    return result


# Running the plugins


def _run_plugins(
    root: RegistryRoot, registry: Any, languages: Sequence[str], image: _Image, plan: _Plan | None
) -> tuple[GeneratedFiles, dict[str, str]]:
    """One buf generate for every plugin; each writes a zip, read back into memory.

    Zips instead of directories: buf writes a handful of files instead of thousands, and
    nothing reaches the output directory before every language has succeeded. An incremental
    run hands buf a cut-down image, so neither its input nor its command line grows with the
    registry. Returns the files and, for each, its path below its plugin's `out`.
    """
    files: GeneratedFiles = {}
    outputs: dict[str, str] = {}
    if plan is not None and not plan.regenerate:
        return files, outputs
    plugins = [plugin for lang in languages for plugin in _language(lang).plugins(registry, root.settings)]
    prefixes = [plugin["out"] for plugin in plugins]
    zipped = [{**plugin, "out": f"plugin-{index}.zip"} for index, plugin in enumerate(plugins)]
    template = json.dumps({"version": "v2", "plugins": zipped})
    with tempfile.TemporaryDirectory(prefix="contracts-gen-") as scratch:
        # A file, not an argument: Go's import mappings grow with the registry past the kernel's limit.
        template_file = Path(scratch) / "buf.gen.json"
        template_file.write_text(template, encoding="utf-8")
        image_file = Path(scratch) / "input.binpb"
        image_file.write_bytes(image.raw if plan is None else image.subset(plan.regenerate))
        result = buf.run(["generate", str(image_file), "--template", str(template_file), "-o", scratch], cwd=root.path)
        if result.returncode != 0:
            raise ContractsError(f"buf generate failed: {buf.first_error_line(result.stderr or result.stdout)}")
        for index, prefix in enumerate(prefixes):
            with zipfile.ZipFile(Path(scratch) / f"plugin-{index}.zip") as archive:
                for member in archive.infolist():
                    if not member.is_dir():
                        files[f"{prefix}/{member.filename}"] = archive.read(member)
                        outputs[f"{prefix}/{member.filename}"] = member.filename
    return files, outputs


# The compiled registry as buf wrote it, cut into files


# buf's image extends each FileDescriptorProto with `ImageFileExtension buf_extension = 8042`, whose
# field 1 `is_import` tells a file to generate (a target) from one that is only there to be imported.
_BUF_EXTENSION = 8042
_IS_IMPORT = 1


class _Image:
    """buf's image, split at the wire level into each file's bytes (source info included).

    Hashing those bytes tells which files changed without comparing descriptors, and a subset of
    them, in the image's own order (imports first), is a valid image for buf generate."""

    def __init__(self, raw: bytes, descriptors: Any) -> None:
        self.raw = raw
        chunks = [raw[start:end] for number, _, start, end in _fields(raw) if number == 1]
        names = [file.name for file in descriptors.file]
        if len(chunks) != len(names):
            raise ContractsError(f"the image has {len(chunks)} files where its descriptors have {len(names)}")
        self.index = {name: position for position, name in enumerate(names)}
        self.chunks = chunks
        self.dependencies = {file.name: tuple(file.dependency) for file in descriptors.file}
        self.package_of = {file.name: file.package for file in descriptors.file}
        self.targets = [name for name, chunk in zip(names, chunks, strict=True) if not _is_import(chunk)]

    def package_files(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for name in self.targets:
            grouped.setdefault(self.package_of[name], []).append(name)
        return grouped

    def closure(self, names: Iterable[str]) -> set[str]:
        """These files and everything they import, transitively."""
        seen: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name not in seen and name in self.index:
                seen.add(name)
                pending.extend(self.dependencies[name])
        return seen

    def package_hashes(self) -> dict[str, str]:
        """Per target package, a hash of its files' bytes and of every file they import, transitively:
        what protoc plugins see of it. A package is regenerated exactly when this changes."""
        file_hashes: dict[str, bytes] = {}
        hashes = {}
        for package, names in sorted(self.package_files().items()):
            digest = hashlib.sha256(",".join(names).encode() + b"\0")
            for name in sorted(self.closure(names)):
                if name not in file_hashes:
                    file_hashes[name] = hashlib.sha256(self.chunks[self.index[name]]).digest()
                digest.update(name.encode() + b"\0" + file_hashes[name])
            hashes[package] = digest.hexdigest()
        return hashes

    def subset(self, packages: Iterable[str]) -> bytes:
        """An image whose targets are these packages' files, holding their imports flagged as imports."""
        grouped = self.package_files()
        targets = {name for package in packages for name in grouped.get(package, [])}
        image = bytearray()
        for name in sorted(self.closure(targets), key=self.index.__getitem__):
            chunk = _flag_import(self.chunks[self.index[name]], name not in targets)
            image += _key(1, 2) + _varint(len(chunk)) + chunk
        return bytes(image)


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value > 0x7F:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _fields(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """(number, wire type, start of its value, end) of each top-level field of a message."""
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            start = position
            _, position = _read_varint(data, position)
        elif wire_type == 2:
            length, start = _read_varint(data, position)
            position = start + length
        elif wire_type in (1, 5):
            start, position = position, position + (8 if wire_type == 1 else 4)
        else:
            raise ContractsError(f"unexpected wire type {wire_type} in the compiled image")
        yield number, wire_type, start, position


def _is_import(file_bytes: bytes) -> bool:
    for number, _, start, end in _fields(file_bytes):
        if number == _BUF_EXTENSION:
            extension = file_bytes[start:end]
            return any(n == _IS_IMPORT and extension[s:e] != b"\x00" for n, _, s, e in _fields(extension))
    return False


def _flag_import(file_bytes: bytes, is_import: bool) -> bytes:
    """The file with buf's extension saying whether it is an import (its other fields kept)."""
    kept = bytearray()
    extension = b""
    position = 0
    for number, _, start, end in _fields(file_bytes):
        field_start = position
        position = end
        if number == _BUF_EXTENSION:
            extension = file_bytes[start:end]
        else:
            kept += file_bytes[field_start:end]
    rest = b"".join(
        _key(number, wire_type) + (_varint(end - start) if wire_type == 2 else b"") + extension[start:end]
        for number, wire_type, start, end in _fields(extension)
        if number != _IS_IMPORT
    )
    new_extension = _key(_IS_IMPORT, 0) + (b"\x01" if is_import else b"\x00") + rest
    return bytes(kept) + _key(_BUF_EXTENSION, 2) + _varint(len(new_extension)) + new_extension


# What to regenerate


@dataclass(frozen=True)
class _Plan:
    regenerate: frozenset[str]  # proto packages that go through buf generate
    kept: dict[str, tuple[str, ...]]  # the other packages' recorded outputs, left as they are on disk

    @property
    def kept_names(self) -> list[str]:
        return [name for names in self.kept.values() for name in names]


def _plan(
    stamp_path: Path, stamp: dict[str, Any] | None, plugin_key: str, packages: Mapping[str, str], out: Path
) -> _Plan | None:
    """Which packages to regenerate after the last gen into `out`; None for all of them.

    All, when there is no usable record: no stamp, other plugins or settings, or outputs the last
    run could not attribute to a package. Otherwise the packages that are new or whose inputs
    changed, and those whose recorded files were edited or deleted since."""
    if stamp is None or stamp.get("plugin_key") != plugin_key:
        return None
    recorded = _read_package_record(stamp_path, stamp)
    if recorded is None:
        return None
    fingerprints = _recorded_fingerprints(stamp)
    regenerate = set()
    kept: dict[str, tuple[str, ...]] = {}
    for package, package_hash in packages.items():
        previous = recorded.get(package)
        outputs = tuple(previous[1].split("\n")) if previous and previous[1] else ()
        if previous is None or previous[0] != package_hash or not _files_unchanged(out, outputs, fingerprints):
            regenerate.add(package)
        else:
            kept[package] = outputs
    return _Plan(frozenset(regenerate), kept)


def _files_unchanged(out: Path, names: Iterable[str], fingerprints: Mapping[str, tuple[int, int]]) -> bool:
    base = str(out)
    for name in names:
        try:
            status = os.stat(os.path.join(base, name))
        except OSError:
            return False
        if fingerprints.get(name) != (status.st_size, status.st_mtime_ns):
            return False
    return True


def _package_outputs(
    image: _Image, plan: _Plan | None, files: GeneratedFiles, plugin_outputs: Mapping[str, str]
) -> dict[str, list[str]] | None:
    """Which package wrote each plugin output that survived rendering: the kept packages' files
    as recorded, the regenerated ones' by name. None when some output fits no package (the next
    gen then regenerates everything rather than guess)."""
    owners: dict[str, list[str]] = {package: [] for package in image.package_files()}
    if plan is not None:
        for package, names in plan.kept.items():
            owners[package] = [name for name in names if name in files]
    by_directory: dict[str, list[tuple[str, str]]] = {}
    for name in image.targets:
        directory, _, base = name.rpartition("/")
        stem = base.removesuffix(".proto")
        by_directory.setdefault(directory, []).append((stem, image.package_of[name]))
        by_directory[directory].append((stem.replace("-", "_"), image.package_of[name]))
    for name, relative in plugin_outputs.items():
        if name not in files:
            continue  # a renderer dropped it (protovalidate's own package, say)
        owner = _owner(relative, by_directory, owners)
        if owner is None:
            return None
        owners[owner].append(name)
    return {package: sorted(names) for package, names in owners.items()}


def _owner(relative: str, by_directory: Mapping[str, list[tuple[str, str]]], packages: Container[str]) -> str | None:
    """The package of one plugin output: a package's own file (prost: `a/v1/a.v1.rs` for package a.v1,
    keywords escaped in the directories), else a proto file's (`a/v1/b.proto` -> `a/v1/b_pb2.py`,
    `a/v1/b.pb.go`) by the longest file stem it starts with."""
    directory, _, base = relative.rpartition("/")
    named = base.rsplit(".", 1)[0]
    if named in packages and _package_directory(directory, named):
        return named
    matches = [
        (len(stem), package)
        for stem, package in by_directory.get(directory, [])
        if base.startswith(stem) and base[len(stem) : len(stem) + 1] in (".", "_")
    ]
    return max(matches)[1] if matches else None


def _package_directory(directory: str, package: str) -> bool:
    """Whether `directory` is the package as a path, as prost spells it (`r#type`, `self_`)."""
    parts = directory.split("/") if directory else []
    names = package.split(".")
    return len(parts) == len(names) and all(
        part.removeprefix("r#") == name or part == f"{name}_" for part, name in zip(parts, names, strict=True)
    )


# The output directory


def _walk(base: str, languages: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """Relative name -> absolute path of every generated file, and every directory holding them;
    plain strings and scandir, since the walk covers tens of thousands of files."""
    files: dict[str, str] = {}
    directories: list[str] = []
    prefix = len(base) + 1
    pending = [os.path.join(base, language) for language in languages]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        directories.append(directory[prefix:])
        for entry in entries:
            if _ignored(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
            else:
                files[entry.path[prefix:]] = entry.path
    return dict(sorted(files.items())), sorted(directories)


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
    if any(is_kept(new[name]) for name in changed):
        raise ContractsError(f"{out}: a file changed while gen ran; run contracts gen again")
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
    if result.deleted:
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
    """Kept files were checked against their recorded size and mtime when the plan was made."""
    return is_kept(content) or (path.stat().st_size == len(content) and path.read_bytes() == content)


def _remove_empty_dirs(out: Path, tops: set[str]) -> None:
    for top in tops:
        for directory, _, _ in sorted(os.walk(out / top), key=lambda entry: -len(entry[0])):
            if not os.listdir(directory):
                os.rmdir(directory)


# The stamp: per output directory, the inputs' keys, each package's input hash and outputs, and the
# size and mtime of every generated file and the mtime of every directory holding them.


def _plugin_key(root: RegistryRoot, languages: Sequence[str]) -> str:
    """What can change a plugin's output for unchanged proto files: when it differs, every package
    is regenerated. (The templates and runtimes only shape rendered files, rendered every run.)"""
    digest = hashlib.sha256()
    parts = [__version__, PROTOC_GEN_GO_VERSION, PROTOC_GEN_PROST_VERSION, ",".join(languages), buf.buf_binary()]
    parts.append(repr(root.settings))  # includes what command-line flags override
    digest.update("\0".join(parts).encode())
    for source in _generator_sources():
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _input_key(root: RegistryRoot, languages: Sequence[str], plugin_key: str) -> str:
    """Every input of gen but the proto files' content (which the stamp follows by their stats,
    and the full key by the registry's content hash): all of them are small files, read each run."""
    digest = hashlib.sha256()
    digest.update(f"{plugin_key}\0{cli_version()}\0".encode())
    for name in (CONFIG_FILE, "buf.yaml", "buf.lock"):
        config = root.path / name
        if config.is_file():
            digest.update(name.encode() + b"\0" + config.read_bytes() + b"\0")
    for template in template_files(languages):
        digest.update(template.name.encode() + template.read_bytes())
    # The runtimes decide what is vendored (and the Go module's requirements, the Rust features).
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


_STAMP_VERSION = 3
# A file modified this close to the moment its stats were taken may change again within the same
# mtime tick (coarse on some filesystems) without its stats moving: such a file is never trusted.
_RACY_NS = 2_000_000_000


def _read_stamp(stamp: Path) -> dict[str, Any] | None:
    try:
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) and recorded.get("version") == _STAMP_VERSION else None


def _write_stamp(stamp: Path, recorded: Mapping[str, Any]) -> None:
    _write_json(stamp, {**recorded, "version": _STAMP_VERSION})


def _write_json(path: Path, content: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(content, separators=(",", ":")), encoding="utf-8")
    os.replace(partial, path)


def _package_record_path(stamp: Path) -> Path:
    """Per package its input hash and outputs: only an incremental gen reads it, so not the no-op."""
    return stamp.with_name(stamp.stem + ".packages.json")


def _write_package_record(
    stamp: Path, key: str, packages: Mapping[str, str], owners: Mapping[str, list[str]] | None
) -> None:
    record = {
        "key": key,
        "packages": None
        if owners is None
        else {package: [packages[package], "\n".join(owners.get(package, []))] for package in sorted(packages)},
    }
    _write_json(_package_record_path(stamp), record)


def _read_package_record(stamp_path: Path, stamp: Mapping[str, Any]) -> dict[str, list[str]] | None:
    try:
        record = json.loads(_package_record_path(stamp_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # Written just before the stamp: a record of another run than the stamp's is not used.
    if not isinstance(record, dict) or record.get("key") != stamp.get("key"):
        return None
    packages = record.get("packages")
    return packages if isinstance(packages, dict) else None


def _stats(base: str, names: Sequence[str]) -> list[int] | None:
    """Size and mtime of each file, flattened; None when one is missing."""
    values: list[int] = []
    append, stat, prefix = values.append, os.stat, base + os.sep
    try:
        for name in names:
            status = stat(prefix + name)
            append(status.st_size)
            append(status.st_mtime_ns)
    except OSError:
        return None
    return values


def _directory_mtimes(base: str, directories: Sequence[str]) -> list[int] | None:
    stat, prefix = os.stat, base + os.sep
    try:
        return [stat(prefix + directory if directory else base).st_mtime_ns for directory in directories]
    except OSError:
        return None


def _parents(name: str) -> Iterator[str]:
    parent = name.rpartition("/")[0]
    while parent:
        yield parent
        parent = parent.rpartition("/")[0]


def _tree_snapshot(out: Path, names: Sequence[str], directories: Sequence[str]) -> dict[str, Any]:
    return {
        "files": "\n".join(names),
        "stats": _stats(str(out), names),
        "dirs": "\n".join(directories),
        "dir_mtimes": _directory_mtimes(str(out), directories),
    }


def _tree_unchanged(out: Path, stamp: Mapping[str, Any]) -> bool:
    """Every recorded file has its recorded size and mtime, and no directory gained an entry.

    Stats only: a directory's mtime moves when an entry is added, removed or renamed in it, so
    only directories whose mtime moved are listed, to tell our files from build output
    (__pycache__, target/) that tools put there."""
    base = str(out)
    names = _split(stamp.get("files", ""))
    if not names or _stats(base, names) != stamp.get("stats"):
        return False
    directories = _split(stamp.get("dirs", ""))
    recorded = stamp.get("dir_mtimes")
    mtimes = _directory_mtimes(base, directories)
    if mtimes is None or not isinstance(recorded, list) or len(recorded) != len(mtimes):
        return False
    moved = [directory for directory, now, then in zip(directories, mtimes, recorded, strict=True) if now != then]
    if not moved:
        return True
    expected = _children(names, directories)
    for directory in moved:
        try:
            present = {entry.name for entry in os.scandir(os.path.join(base, directory)) if not _ignored(entry.name)}
        except OSError:
            return False
        if present != expected.get(directory, set()):
            return False
    return True


def _children(files: Iterable[str], directories: Iterable[str]) -> dict[str, set[str]]:
    children: dict[str, set[str]] = {}
    for name in [*files, *directories]:
        parent, _, base = name.rpartition("/")
        if parent:
            children.setdefault(parent, set()).add(base)
    return children


def _split(joined: str) -> list[str]:
    return joined.split("\n") if joined else []


def _recorded_fingerprints(stamp: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    names = _split(stamp.get("files", ""))
    stats = stamp.get("stats") or []
    return {name: (stats[2 * index], stats[2 * index + 1]) for index, name in enumerate(names)}


def _input_snapshot(root: RegistryRoot) -> dict[str, Any]:
    """The proto files buf compiles (as RegistryRoot.proto_files finds them) with their stats, and
    the directories holding them with their mtimes: stats that a no-op compares instead of hashing
    the files' content. Recently modified files get a stat that never matches."""
    base = str(root.path)
    files: list[str] = []
    directories: list[str] = []
    pending = list(root.modules)
    while pending:
        directory = pending.pop()
        directories.append(directory)  # a module directory that is missing gets no mtime: never unchanged
        try:
            entries = list(os.scandir(os.path.join(base, directory)))
        except OSError:
            continue
        for entry in entries:
            relative = entry.name if directory == "." else f"{directory}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                pending.append(relative)
            elif entry.name.endswith(".proto") and entry.is_file():
                files.append(relative)
    files.sort()
    stats = _stats(base, files) or []
    recent = time.time_ns() - _RACY_NS
    for index in range(1, len(stats), 2):
        if stats[index] >= recent:
            stats[index] = -1
    return {
        "inputs": "\n".join(files),
        "input_stats": stats,
        "input_dirs": "\n".join(directories),
        "input_dir_mtimes": _directory_mtimes(base, directories),
    }


def _inputs_unchanged(root: RegistryRoot, stamp: Mapping[str, Any]) -> bool:
    base = str(root.path)
    stats = _stats(base, _split(stamp.get("inputs", "")))
    if stats is None or stats != stamp.get("input_stats"):
        return False
    directories = _split(stamp.get("input_dirs", ""))
    recorded = stamp.get("input_dir_mtimes")
    return bool(directories) and recorded is not None and _directory_mtimes(base, directories) == recorded


__all__: list[str] = ["GenerationResult", "RegistryRulesFailed", "generate", "parse_languages"]
