"""The CLI as users install it: a wheel built from this checkout, in a virtual environment of its own.

The environment's dependencies are resolved once per dependency set (keyed by a hash of
pyproject.toml, in ~/.cache/contracts/test-venvs/); the wheel itself is rebuilt and reinstalled once per test
session, so every session tests the code as it is now.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Outside the checkout, as a user's environment is; kept between runs.
VENVS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "contracts" / "test-venvs"
_INSTALLED: dict[Path, Path] = {}


def _run(args: list[str], **kwargs: object) -> None:
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def build_cli_wheel(out: Path) -> Path:
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)])
    wheels = sorted(out.glob("contracts_cli-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def installed_cli_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv outside the checkout with the CLI wheel installed; returns its bin/ directory."""
    base = tmp_path_factory.getbasetemp()
    if base in _INSTALLED:
        return _INSTALLED[base]
    wheel = build_cli_wheel(tmp_path_factory.mktemp("cli-wheel"))
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    venv = VENVS / f"cli-{key}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").is_file():
        _run([sys.executable, "-m", "venv", "--clear", str(venv)])
        _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)])
        (venv / ".complete").write_text("ok\n")
    else:
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--force-reinstall",
                str(wheel),
            ]
        )
    _INSTALLED[base] = venv / "bin"
    return venv / "bin"


def user_env(bin_dir: Path, cache: Path) -> dict[str, str]:
    """An environment in which `contracts` is the installed wheel's, as in a user's shell."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["CONTRACTS_CACHE"] = str(cache)
    env["BUF_CACHE_DIR"] = str(cache / "buf")
    env["NO_COLOR"] = "1"
    env.pop("GITHUB_ACTIONS", None)
    return env
