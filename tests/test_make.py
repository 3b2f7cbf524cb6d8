"""The Makefile's interpreter handling, run with the real `make` on a copy of the project files.

The package install itself is replaced (PIP_INSTALL=true) so each case costs one `venv`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
FAST = ["PIP_INSTALL=true", "VENV_ARGS=--without-pip"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, folder / name)
    return folder


def make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def python_at(folder: Path, name: str) -> Path:
    """A differently named path to this machine's real interpreter (a symlink)."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / name
    link.symlink_to(sys._base_executable)
    return link


def test_too_old_python_stops_with_one_line_and_builds_nothing(project, tmp_path):
    fake = tmp_path / "python3.9"
    fake.write_text(
        "#!/bin/sh\n"
        "# Python 3.9 as far as the Makefile can tell; anything but -c must not happen.\n"
        '[ "$1" = "-c" ] || { echo "called with $*" >&2; exit 99; }\n'
        f'exec {sys._base_executable} -c "import sys; '
        'sys.version_info = (3, 9, 18, \'final\', 0); exec(sys.argv[1])" "$2"\n'
    )
    fake.chmod(0o755)
    done = make(project, f"PYTHON={fake}", "test")
    assert done.returncode != 0
    first = done.stderr.splitlines()[0]
    assert first.startswith("Python 3.11+ needed, found 3.9 at ")
    assert "set PYTHON=" in first
    assert "called with" not in done.stderr
    assert not (project / ".venv").exists()


def test_missing_python_is_named(project):
    done = make(project, "PYTHON=/nowhere/python3", "run")
    assert done.returncode != 0
    assert done.stderr.startswith("Python 3.11+ needed, found no Python at /nowhere/python3;")


def test_a_broken_or_foreign_venv_is_rebuilt_when_the_interpreter_changes(project, tmp_path):
    (project / ".venv" / "bin").mkdir(parents=True)  # e.g. left by a failed 3.9 attempt
    (project / ".venv" / "junk").write_text("from the old interpreter")
    first = python_at(tmp_path / "a", "python3")
    built = make(project, f"PYTHON={first}", *FAST, ".venv/.installed")
    assert built.returncode == 0, built.stderr
    stamp = project / ".venv" / ".installed"
    assert stamp.read_text().split()[0] == str(first)
    assert not (project / ".venv" / "junk").exists()

    (project / ".venv" / "marker").touch()
    again = make(project, f"PYTHON={first}", *FAST, ".venv/.installed")
    assert again.returncode == 0, again.stderr
    assert (project / ".venv" / "marker").exists(), "same interpreter: the venv is kept"

    second = python_at(tmp_path / "b", "python3")
    rebuilt = make(project, f"PYTHON={second}", *FAST, ".venv/.installed")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"creating .venv with {second}" in rebuilt.stdout
    assert not (project / ".venv" / "marker").exists()
    assert stamp.read_text().split()[0] == str(second)
