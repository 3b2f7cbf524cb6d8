"""The layers of docs/architecture.md, enforced: every .py file's imports read with `ast`.

- scenarios/ is pure: no channel, staff bot, worker, network, ORM or model library, and from
  the core only the pure modules listed below (which themselves stay pure).
- The core (bot/) imports no channel library and nothing from the layers above it, except the
  composition root listed below.
- The owner's numbers (bot/numbers/) import no channel library, with no exception.

A new exception needs an entry here with its reason; a fixed one must leave the list.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from bot.settings import load_settings
from workers.arq_worker import WorkerSettings, build_worker

ROOT = Path(__file__).resolve().parents[1]

# Core modules that may import channel libraries and the layers above the core.
CORE_ALLOWED = {
    "bot/app.py": "the composition root: wires the bots, dispatchers, channels, staff routers "
    "and timed work together",
    "bot/__main__.py": "the entrypoint: starts the console chat, the arq worker or asks Telegram "
    "for the bot's name (`links`)",
    "bot/ops_cli.py": "the entrypoint's operations commands: `webhook delete` asks Telegram "
    "through the Telegram adapter",
}

# The core modules a scenario may import: each is plain data or pure computation.
SCENARIO_ALLOWED_CORE = {
    "bot.config": "the business configuration: validated plain data",
    "bot.booking.slots": "free slots: pure arithmetic over the config",
    "bot.i18n": "the message catalogs (texts users read)",
    "bot.clock": "the injected clock's Protocol",
    "bot.payments.rules": "the deposit rules (a part of the config) and the Quote they compute",
    "bot.coach.script": "the coach's sales script (a part of the config)",
}

# Core modules a scenario may name in type hints only (under `if TYPE_CHECKING:`).
SCENARIO_TYPE_ONLY = {
    "bot.booking.booker": "SlotPage, the type `Deps.slots` returns; "
    "the scenario gets the finder injected",
}

CHANNEL_LIBRARIES = {"aiogram", "aiohttp", "vkbottle"}
ABOVE_CORE = {"handlers", "admin_bot", "workers"}
SCENARIO_FORBIDDEN = CHANNEL_LIBRARIES | ABOVE_CORE | {"tortoise", "openai", "arq", "redis"}


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name; `from bot import x` gives "bot.x"
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The module a `from ... import` reads from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    package = list(path.relative_to(ROOT).parts[:-1])
    package = package[: len(package) - node.level + 1]
    return ".".join([*package, *([node.module] if node.module else [])])


def _is_package(module: str) -> bool:
    return bool(module) and ROOT.joinpath(*module.split(".")).is_dir()


@cache
def imports_of(path: Path) -> list[Import]:
    """Every import in the file, anywhere in it (functions too), made absolute.

    `from bot import models` is reported as "bot.models": from a package, the names are modules.
    """
    found: list[Import] = []

    def visit(node: ast.AST, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, node.lineno, type_only) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(path, node)
            if _is_package(base) or not base:
                names = [".".join(filter(None, [base, a.name])) for a in node.names]
                found.extend(Import(name, node.lineno, type_only) for name in names)
            else:
                found.append(Import(base, node.lineno, type_only))
        guarded = isinstance(node, ast.If) and _is_type_checking(node)
        for child in ast.iter_child_nodes(node):
            visit(child, type_only or (guarded and child not in node.orelse))

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)
    return found


def _root(module: str) -> str:
    return module.split(".")[0]


def _core_module(module: str, listed: dict[str, str]) -> str | None:
    """The listed core module that `module` is or lies in, if any."""
    return next((m for m in listed if module == m or module.startswith(m + ".")), None)


def scenario_violations(path: Path) -> list[str]:
    """A scenario's imports outside the pure set, as `file:line imports module`."""
    bad = []
    for imp in imports_of(path):
        root = _root(imp.module)
        if root == "bot" and (
            _core_module(imp.module, SCENARIO_ALLOWED_CORE)
            or (imp.type_only and _core_module(imp.module, SCENARIO_TYPE_ONLY))
        ):
            continue
        if root in SCENARIO_FORBIDDEN or root == "bot":
            bad.append(f"{path.relative_to(ROOT)}:{imp.line} imports {imp.module}")
    return bad


def core_violations(path: Path, forbidden: set[str]) -> list[str]:
    """The file's imports whose top-level package is forbidden, as `file:line imports module`."""
    return [
        f"{path.relative_to(ROOT)}:{imp.line} imports {imp.module}"
        for imp in imports_of(path)
        if _root(imp.module) in forbidden
    ]


def _files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts)


def _module_file(module: str) -> Path:
    path = ROOT.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


# ---------------------------------------------------------------------------- the rules


def test_scenarios_import_only_pure_modules():
    bad = [v for path in _files("scenarios") for v in scenario_violations(path)]
    assert bad == [], "scenarios/ must stay pure (see docs/architecture.md)"


def test_the_core_modules_scenarios_use_stay_pure():
    """What a scenario may import must not pull the ORM or a channel in behind its back."""
    bad = []
    for module in SCENARIO_ALLOWED_CORE:
        path = _module_file(module)
        for imp in imports_of(path):
            root = _root(imp.module)
            if root in SCENARIO_FORBIDDEN or (
                root == "bot" and not _core_module(imp.module, SCENARIO_ALLOWED_CORE)
            ):
                bad.append(f"{module} imports {imp.module}")
    assert bad == []


def test_the_core_imports_no_channel_library():
    forbidden = CHANNEL_LIBRARIES | ABOVE_CORE
    bad = [
        v
        for path in _files("bot")
        if str(path.relative_to(ROOT)) not in CORE_ALLOWED
        for v in core_violations(path, forbidden)
    ]
    assert bad == [], "move channel code to handlers/ or admin_bot/, or list the module here"


def test_the_numbers_import_no_channel_library():
    forbidden = CHANNEL_LIBRARIES | ABOVE_CORE
    bad = [v for path in _files("bot/numbers") for v in core_violations(path, forbidden)]
    assert bad == []


def test_allow_lists_are_current():
    """An exception that is no longer needed (or a file that is gone) leaves the list."""
    forbidden = CHANNEL_LIBRARIES | ABOVE_CORE
    stale = [f for f in CORE_ALLOWED if not core_violations(ROOT / f, forbidden)]
    stale += [m for m in {**SCENARIO_ALLOWED_CORE, **SCENARIO_TYPE_ONLY} if not _used(m)]
    assert stale == []


def _used(module: str) -> bool:
    """Imported by a scenario, or by a core module a scenario may import (config's parts)."""
    paths = [*_files("scenarios"), *(_module_file(m) for m in SCENARIO_ALLOWED_CORE)]
    return any(imp.module == module for p in paths for imp in imports_of(p))


# ---------------------------------------------------------------------------- the arq jobs


def _cron_shape(job) -> dict:
    return {k: v for k, v in asdict(job).items() if k != "next_run"}


async def test_every_worker_runs_the_jobs_worker_settings_lists(config, tmp_path):
    """`python -m bot worker` and tests use `build_worker`; the `arq` command line reads
    `WorkerSettings`: both must run the same jobs, listed once."""
    settings = load_settings(
        bot_token="42:TEST",
        database_url=f"sqlite://{tmp_path / 'p.sqlite3'}",
        redis_url="redis://localhost:1",  # never connected to: the worker is not run
    )
    worker = build_worker(settings, config, handle_signals=False)
    listed = [*WorkerSettings.functions, *WorkerSettings.cron_jobs]
    assert set(worker.functions) == {job.name for job in listed}
    for job in WorkerSettings.functions:
        assert worker.functions[job.name] == job
    assert [_cron_shape(j) for j in worker.cron_jobs] == [
        _cron_shape(j) for j in WorkerSettings.cron_jobs
    ]
    # A CronJob keeps its next run: workers in one process must not share one.
    assert not {id(j) for j in worker.cron_jobs} & {id(j) for j in WorkerSettings.cron_jobs}
    await worker.close()
    for bot in worker.ctx["bots"].values():
        await bot.session.close()


# ---------------------------------------------------------------------------- the checker


def test_the_checker_catches_forbidden_imports(tmp_path, monkeypatch):
    """A forbidden import, however written, is reported (the rules above are not vacuous)."""
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "bot" / "numbers").mkdir(parents=True)
    flow = tmp_path / "scenarios" / "flow.py"
    flow.write_text(
        "from typing import TYPE_CHECKING\n"
        "from bot.config import Service\n"
        "from bot import models\n"
        "if TYPE_CHECKING:\n"
        "    from bot.booking.booker import SlotPage\n"
        "else:\n"
        "    from bot.booking.booker import book\n"
        "def f():\n"
        "    import aiogram.types\n"
        "    from tortoise import Tortoise\n"
        "from .. import handlers\n"
    )
    assert scenario_violations(flow) == [
        "scenarios/flow.py:3 imports bot.models",
        "scenarios/flow.py:7 imports bot.booking.booker",
        "scenarios/flow.py:9 imports aiogram.types",
        "scenarios/flow.py:10 imports tortoise",
        "scenarios/flow.py:11 imports handlers",
    ]
    kpi = tmp_path / "bot" / "numbers" / "kpi.py"
    kpi.write_text("import os\nfrom aiohttp import web\n")
    assert core_violations(kpi, CHANNEL_LIBRARIES) == ["bot/numbers/kpi.py:2 imports aiohttp"]
