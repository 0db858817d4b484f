"""buf build -> FileDescriptorSet: the only place that compiles contracts.

Images are cached by content: the working tree's by a hash of every input file,
a git ref's by its commit, so lint, breaking and gen after one another (and a
no-op gen) reuse one compilation.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2

from contracts_cli import buf
from contracts_cli.config import RegistryRoot, open_root
from contracts_cli.errors import ContractsError
from contracts_cli.git import run_git as _git
from contracts_cli.model import Registry, build_registry


def build_image(root: RegistryRoot) -> Path:
    """Compile the working tree (or reuse the cached image of identical inputs)."""
    image = buf.cache_dir() / "images" / f"tree-{root.content_hash}.binpb"
    if not image.is_file():
        _buf_build(root.path, image)
    return image


def read_image(image: Path) -> descriptor_pb2.FileDescriptorSet:
    try:
        return descriptor_pb2.FileDescriptorSet.FromString(image.read_bytes())
    except Exception as error:  # protobuf raises its own DecodeError or ValueError here
        raise ContractsError(f"not a buf image or FileDescriptorSet: {error}", location=str(image)) from None


class NothingToCompare(ContractsError):
    """The other side holds no registry yet (the change that introduces it): every contract is new."""

    def __init__(self, note: str) -> None:
        super().__init__(note, exit_code=0)


def against_image(root: RegistryRoot, against: str) -> tuple[Path, RegistryRoot]:
    """Resolve `--against` (an image file, a registry directory or a git ref) to an image.

    Also returns the registry root that paths in that image are relative to.
    """
    candidate = Path(against)
    if candidate.is_file():
        return candidate, root
    if candidate.is_dir():
        if not (candidate / "buf.yaml").is_file():
            raise NothingToCompare(f"{against} holds no registry (no buf.yaml): every contract is new")
        other = open_root(candidate)
        return build_image(other), other
    return _git_ref_image(root, against)


DEFAULT_AGAINST = ("origin/main", "main", "HEAD~1")


def default_against(root: RegistryRoot) -> str:
    """The first of DEFAULT_AGAINST that exists; none (a repository without history) leaves nothing to compare."""
    for ref in DEFAULT_AGAINST:
        if _git(root.path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0:
            return ref
    raise NothingToCompare(
        f"none of {', '.join(DEFAULT_AGAINST)} exists: every contract is new, nothing to break "
        "(pass --against REF, DIR or IMAGE to compare with something else)"
    )


def _git_ref_image(root: RegistryRoot, ref: str) -> tuple[Path, RegistryRoot]:
    resolved = _git(root.path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if resolved.returncode != 0:
        raise ContractsError(f"--against {ref!r} is not a file, a directory or a git ref of {root.path}")
    commit = resolved.stdout.strip()
    prefix = _git(root.path, "rev-parse", "--show-prefix").stdout.strip().rstrip("/")
    # Run in a subdirectory, git archive looks for that subdirectory inside the tree it is given,
    # which `commit:prefix` already is: archive from the top of the repository instead.
    top_level = _git(root.path, "rev-parse", "--show-toplevel").stdout.strip() or str(root.path)
    image = buf.cache_dir() / "images" / f"git-{commit}-{hashlib.sha256(prefix.encode()).hexdigest()[:12]}.binpb"
    tree = f"{commit}:{prefix}" if prefix else commit
    if prefix and _git(Path(top_level), "cat-file", "-e", tree).returncode != 0:
        raise NothingToCompare(f"{ref} has no {prefix}/ yet: every contract is new, nothing to break")
    with tempfile.TemporaryDirectory(prefix="contracts-against-") as checkout:
        archive = subprocess.run(
            ["git", "-C", top_level, "archive", "--format=tar", tree], capture_output=True, check=False
        )
        if archive.returncode != 0:
            raise ContractsError(f"cannot read {ref} from git: {archive.stderr.decode(errors='replace').strip()}")
        try:
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(checkout, filter="data")
        except tarfile.ReadError:
            pass  # git archives a commit without files as a lone pax header, which tarfile refuses
        if not (Path(checkout) / "buf.yaml").is_file():
            raise NothingToCompare(
                f"{ref} has no registry (no buf.yaml in {prefix or 'the repository root'}): "
                "every contract is new, nothing to break"
            )
        other = open_root(Path(checkout))
        if not image.is_file():
            _buf_build(other.path, image, label=f"{ref}: ")
        return image, RegistryRoot(path=root.path, modules=other.modules, settings=other.settings)


def _buf_build(directory: Path, image: Path, label: str = "") -> None:
    image.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the final name and rename, so a killed build never leaves half an image in the cache.
    fd, partial = tempfile.mkstemp(dir=image.parent, suffix=".partial")
    os.close(fd)
    try:
        result = buf.run(["build", "--error-format", "json", "-o", partial], cwd=directory)
        if result.returncode != 0:
            raise _compile_error(result, label)
        os.replace(partial, image)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _compile_error(result: subprocess.CompletedProcess[str], label: str) -> ContractsError:
    for record in buf.json_lines(result.stdout + "\n" + result.stderr):
        if "path" in record:
            where = f"{record['path']}:{record.get('start_line', 1)}:{record.get('start_column', 1)}"
            return ContractsError(f"{label}{record.get('message', 'compile error')}", location=where)
    return ContractsError(f"{label}buf build failed: {buf.first_error_line(result.stderr)}")


def load_registry(root: RegistryRoot) -> Registry:
    return build_registry(read_image(build_image(root)), root)
