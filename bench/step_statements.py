"""How many SQL statements each dialogue step runs (SQLite, counted by SQLite itself).

Clients book one after another (no concurrency, so nothing is retried and each update's
statements are its own) through the same Dispatcher, scenario and database as
bench/flow_bench.py. SQLite's trace hook (`aiosqlite.Connection.set_trace_callback`)
sees every statement tortoise sends, transaction control included (not the statements
inside triggers: Python's hook does not report them), and the statements of the second,
loop-thread connection that reads the cache counters (bot.db_sqlite's reader; not round
trips). Per step kind: updates, statements per update, of which transaction control
(BEGIN/COMMIT/ROLLBACK/savepoints, and the busy-timeout PRAGMAs of calls run in the loop's
thread), the calls on tortoise's connection, of those the hops into aiosqlite's thread
(round trips; a dialogue step's calls run in the loop's thread, bot.db_sqlite), the time
per update (sequential: no queueing) and the process's CPU time per update (all threads).

    python bench/step_statements.py [--clients 40]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from aiogram import Bot  # noqa: E402
from flow_bench import (  # noqa: E402
    START,
    TOKEN,
    Client,
    Stats,
    StubSession,
    book_once,
)
from tortoise import Tortoise  # noqa: E402

from bot.app import build_dispatcher  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.dialogs import DialogService  # noqa: E402
from handlers.telegram import Act  # noqa: E402

CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")


@dataclass
class Tally:
    """Statements seen by the trace hook since the last reset."""

    statements: int = 0
    control: int = 0
    calls: int = 0  # calls on tortoise's connection
    hops: int = 0  # of those, the ones handed to aiosqlite's thread
    shown: list[str] = field(default_factory=list)  # statements kept for --show

    def __call__(self, sql: str) -> None:  # runs in the thread running the statement
        text = sql.lstrip()
        self.statements += 1
        self.shown.append(text[:110])
        if text.upper().startswith(CONTROL):
            self.control += 1


@dataclass
class StepFigures:
    statements: list[int] = field(default_factory=list)
    control: list[int] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    hops: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def step_kind(payload: dict[str, Any]) -> str:
    """The step an update answers: a command, a contact, or a button's action prefix."""
    if query := payload.get("callback_query"):
        return Act.unpack(query["data"]).v.split(":", 1)[0]
    message = payload["message"]
    if "contact" in message:
        return "contact"
    return message.get("text", "").split(" ", 1)[0] or "text"


class CountingClient(Client):
    """A bench client whose every update is attributed to its step kind."""

    tally: Tally
    figures: dict[str, StepFigures]
    show: str | None = None

    async def _feed(self, payload: dict[str, Any]) -> None:
        tally = self.tally
        before = (tally.statements, tally.control, tally.calls, tally.hops)
        tally.shown.clear()
        began, cpu = time.perf_counter(), time.process_time()
        await super()._feed(payload)
        spent, cpu = time.perf_counter() - began, time.process_time() - cpu
        kind = step_kind(payload)
        figures = self.figures[kind]
        after = (tally.statements, tally.control, tally.calls, tally.hops)
        for name, old, new in zip(FIGURES, before, after, strict=True):
            getattr(figures, name).append(new - old)
        figures.seconds.append(spent)
        figures.cpu.append(cpu)
        if kind == self.show:
            print(f"--- {kind}:", *tally.shown, sep="\n  ")
            self.show = None


FIGURES = ("statements", "control", "calls", "hops")


def count_hops(connection: Any, tally: Tally) -> None:
    """Count every call on the connection, and those it handed to aiosqlite's thread
    (each a round trip)."""
    execute = connection._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        tally.calls += 1
        queued = connection._queued
        try:
            return await execute(fn, *args, **kwargs)
        finally:
            tally.hops += connection._queued - queued

    connection._execute = counted


async def count(clients: int, db: Path, show: str | None) -> dict[str, StepFigures]:
    config = load_config(ROOT / "examples" / "salon.toml")
    await init_db(f"sqlite://{db}")
    figures: dict[str, StepFigures] = defaultdict(StepFigures)
    tally = Tally()
    try:
        connection = Tortoise.get_connection("default")._connection
        await connection.set_trace_callback(tally)
        count_hops(connection, tally)
        reader = getattr(Tortoise.get_connection("default"), "reader", lambda: None)()
        if reader is not None:
            reader.set_trace_callback(tally)
        session = StubSession()
        bot = Bot(TOKEN, session=session)
        dispatcher = build_dispatcher(DialogService(config, FakeClock(START)))
        services = [s.id for s in config.services if s.masters]
        stats = Stats()
        for index in range(clients):
            client = CountingClient(index, bot, dispatcher, stats)
            client.tally, client.figures = tally, figures
            client.show = show if index == clients - 1 else None
            service = services[index % len(services)]
            await book_once(client, session, random.Random(index), service, "week")
        if stats.errors:
            print(stats.errors[:5])
    finally:
        await close_db()
    return figures


def report(figures: dict[str, StepFigures]) -> None:
    head = f"{'step':<10}{'updates':>8}{'stmts':>8}{'ctl':>6}{'calls':>6}{'hops':>6}"
    head += f"{'ms':>8}{'cpu ms':>8}"
    print(head)
    print("-" * len(head))
    every = StepFigures()
    for kind, f in sorted(figures.items(), key=lambda kv: -len(kv[1].statements)):
        _line(kind, f)
        for name in (*FIGURES, "seconds", "cpu"):
            getattr(every, name).extend(getattr(f, name))
    _line("all", every)


def _line(kind: str, f: StepFigures) -> None:
    mean = statistics.mean
    print(
        f"{kind:<10}{len(f.statements):>8}{mean(f.statements):>8.1f}{mean(f.control):>6.1f}"
        f"{mean(f.calls):>6.1f}{mean(f.hops):>6.1f}"
        f"{mean(f.seconds) * 1000:>8.2f}{mean(f.cpu) * 1000:>8.2f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--show", help="print the last client's statements of this step")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="priyom-stmts-") as tmp:
        report(await count(args.clients, Path(tmp) / "stmts.sqlite3", args.show))


if __name__ == "__main__":
    asyncio.run(main())
