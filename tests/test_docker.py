"""The Dockerfile and .dockerignore, read as Docker reads them (no Docker engine runs here).

Cheap but real: the instructions are parsed in order, the dependency step's own command is
run against pyproject.toml, and .dockerignore's patterns are applied to real paths.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
import tomllib

from bot.settings import Settings
from tests.conftest import ROOT


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")
    ))  # fmt: skip
    out = []
    for line in logical.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes; a folder covers its files."""
    verdict = False
    for pattern in ignore_patterns():
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        else:
            hit = any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes)
        if hit:
            verdict = not negate
    return verdict


def test_dependencies_are_installed_before_the_source_is_copied():
    steps = instructions()
    copies = [(i, args) for i, (word, args) in enumerate(steps) if word == "COPY"]
    first_index, first = copies[0]
    assert set(first.split()[:-1]) == {"pyproject.toml", "constraints.txt"}
    source_index = next(i for i, args in copies if args.split()[0] == ".")
    install = [args for word, args in steps[first_index:source_index] if word == "RUN"]
    assert any("pip install -c constraints.txt -r requirements.txt" in a for a in install)
    # The step's own command, run here, lists exactly the project's dependencies + asyncpg.
    (command,) = [a for a in install if "tomllib" in a]
    code = shlex.split(command.split(">")[0])[2]
    listed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split("\n")  # fmt: skip
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["postgres"] + extras["sentry"]
    assert [line for line in listed if line] == wanted
    after = [args for word, args in steps[source_index:] if word == "RUN"]
    assert any("pip install --no-deps ." in a for a in after)


def test_port_healthcheck_and_a_non_root_user():
    steps = instructions()
    words = [word for word, _ in steps]
    (expose,) = [args for word, args in steps if word == "EXPOSE"]
    assert int(expose) == Settings.model_fields["webhook_port"].default
    (health,) = [args for word, args in steps if word == "HEALTHCHECK"]
    assert "CMD" in health and "/healthz" in health
    user_at = max(i for i, word in enumerate(words) if word == "USER")
    assert steps[user_at][1] not in ("root", "0")
    assert user_at > max(i for i, word in enumerate(words) if word == "RUN")
    assert words.index("CMD") > user_at
    assert any(word == "VOLUME" and "/app/data" in args for word, args in steps)


def test_the_build_context_leaves_out_local_state_but_keeps_what_the_build_needs():
    for path in (".venv/lib/python3.11/site-packages/x.py", "data/priyom.sqlite3", ".env",
                 ".git/HEAD", "bot/__pycache__/app.cpython-311.pyc", ".pytest_cache/v",
                 ".ruff_cache/x", "tests/test_docker.py", "build/lib/bot/app.py",
                 "priyom.egg-info/PKG-INFO"):  # fmt: skip
        assert ignored(path), path
    for path in ("pyproject.toml", "constraints.txt", "README.md", "bot/app.py",
                 "bot/locales/ru.toml", "bot/examples", "examples/salon.toml",
                 "migrations/models/0_20261122_init.py", "handlers/console.py",
                 "admin_bot/__init__.py", "workers/__init__.py", "scenarios/__init__.py",
                 ".env.example"):  # fmt: skip
        assert not ignored(path), path
