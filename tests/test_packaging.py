"""The wheel as users get it: built from a copy of the source, installed into a fresh venv,
its `priyom` command run from a folder that has nothing of the checkout.

No network: the wheel is built without build isolation (setuptools comes with the dev
extra) and installed with --no-index; the dependencies are the project venv's own,
reached through a .pth line added after the install.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT

IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "data", "build", "*.egg-info", "__pycache__", ".*_cache", ".env"
)
TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"


def run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, **kwargs
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv with only the built wheel installed into it; returns its bin/ folder."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=IGNORE)
    built = run(sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-index",
                "--no-build-isolation", source, "-w", tmp / "dist")  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    log = built.stdout + built.stderr
    assert "absent from the `packages` configuration" not in log, "a package is left out"
    assert "Warning" not in log, "setuptools warned about the configuration"
    (wheel,) = (tmp / "dist").glob("priyom-*.whl")

    venv = tmp / "venv"
    made = run(sys._base_executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    done = run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
               "--no-index", wheel)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # The dependencies (aiogram, tortoise…) from the project venv, after our package: the
    # editable install's finder there is a .pth of that folder, which a plain path skips.
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    deps = {sysconfig.get_path("purelib"), *site.getsitepackages()}
    Path(purelib.stdout.strip(), "zz_project_deps.pth").write_text("\n".join(sorted(deps)))
    return venv / "bin"


def clean_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, **extra}


def test_the_wheel_holds_every_package_and_its_data(installed):
    code = (
        "import bot, bot.ai.guard, handlers.console, admin_bot, workers, scenarios, migrations;"
        "import bot.coach.rules; bot.coach.rules.tone_words();"
        "from bot.i18n import Texts; from bot.settings import Settings; s = Settings();"
        "print(bot.__file__); print(s.business_config); print(Texts('ru')('greeting')[:1])"
    )
    done = run(installed / "python", "-c", code, cwd=installed, env=clean_env())
    assert done.returncode == 0, done.stderr
    package_file, config_path, _ = done.stdout.splitlines()
    venv = str(installed.parent)
    assert package_file.startswith(venv), "imported from the checkout, not the wheel"
    assert config_path.startswith(venv) and config_path.endswith("bot/examples/salon.toml")


def test_priyom_check_runs_from_another_folder(installed, tmp_path):
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    done = run(installed / "priyom", "check", cwd=elsewhere, env=clean_env(BOT_TOKEN=TOKEN))
    assert done.returncode == 0, done.stderr
    assert "ok: " in done.stdout
    assert "Traceback" not in done.stderr


def test_installed_shell_migrates_and_talks_from_another_folder(installed, tmp_path):
    """The migrations and catalogs come from the wheel; the database lands under the cwd."""
    done = run(installed / "priyom", "shell", input="1\n", cwd=tmp_path, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert "Согласен" in done.stdout and "1/3." in done.stdout
    assert (tmp_path / "data" / "console.sqlite3").is_file()


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_installed_distribution_is_pinned():
    """A fresh clone installs with `-c constraints.txt`: a dependency left unpinned moves
    under CI's feet (sentry-sdk 3.0 dropped an option the product passes)."""
    pinned = {
        _normal(line.split("==")[0])
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    ours = {"priyom", "pip", "setuptools", "wheel"}
    present = {_normal(d.metadata["Name"]) for d in importlib.metadata.distributions()}
    assert sorted(present - pinned - ours) == []
