"""Several instances, run as production runs them: throughput of the booking flow through
Telegram webhooks, one process on SQLite vs one and two processes on PostgreSQL (+ Redis,
a worker), against a bare aiogram echo served the same way in the same run.

    .venv/bin/python bench/scale_bench.py [--clients 200] [--only sqlite,pg1,pg2]
        [--kill-bot-after SECONDS] [--deadline SECONDS]

Every configuration gets the same load: the fake Bot API (tests/fakes/bot_api.py) plays
Telegram and the load balancer, posting each client's updates to the instances in turn; a
client answers what the bot last asked and browses as the flow bench's do (services spread
over the clients, "more" on 40 % of slot pages): when all 200 took the first service and a
slot of the first page, most lost every race and gave up after 40 steps unbooked. The
driver runs in this process and shares the machine's cores with the instances: the echo
pays that too, so the ratio is the figure to read. The shared send pace (30 msg/s per bot,
Telegram's limit) is switched off in the instances here — it would measure Telegram, not us.

"cpu ms/upd" is the CPU time (Linux /proc) per update of everything serving the run: the
echo process; the instances, the worker and the PostgreSQL server. It is steadier than
updates/s on a shared machine, where the rates follow the other jobs' load. The run
starts once the workers have finished starting (their imports cost seconds of CPU, which
the run once charged to the updates); "idle cpu ms/s" is what the setup costs a second
with no update coming, measured just before the run.

Never hangs: the fake delivers an update whose POST failed again, to a live instance, as
Telegram does (tests/fakes/webhook_delivery.py); a client left without an answer for
STEP_TIMEOUT seconds is counted "stuck", and clients still walking at `--deadline` are cut
off; the run ends with a line per client not booked: its step, what it last sent and what
it last received. `--kill-bot-after S` SIGKILLs the first instance S seconds into each run
(what a crashed instance does to the clients).

Target (issue 16): two processes on PostgreSQL >= 0.3x echo throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fakes.bot_api import FakeBotApi, FakeUser  # noqa: E402
from tests.instances_rig import (  # noqa: E402
    CLIENT,
    CLIENT_SECRET,
    Inbox,
    Journey,
    book,
    environment,
    fleet,
    free_port,
    fresh_database,
)
from tests.pg_server import PostgresServer, find_bin_dir  # noqa: E402

UNPACED = (
    "-c",
    "import handlers.telegram_pace as p; p.pace_bots = lambda bots, limiter: None; "
    "import runpy; runpy.run_module('bot', run_name='__main__')",
)
ECHO_STEPS = 12  # about the updates one booking takes
STEP_TIMEOUT = 60.0  # seconds without an answer: the client is stuck
REPORTED = 10  # clients not booked, one line each
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


LAST_SEEN: dict[tuple[int, bool], int] = {}  # a process's CPU ticks when last read


def cpu_seconds(pids: list[int], reaped: bool = False) -> float:
    """User + system CPU of these processes (and, `reaped`, of their children that ended:
    PostgreSQL's backends); for one that ended, as last read (an instance killed mid-run:
    read just before the kill)."""
    total = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            total += LAST_SEEN.get((pid, reaped), 0)
            continue
        ticks = int(stat[11]) + int(stat[12]) + (int(stat[13]) + int(stat[14]) if reaped else 0)
        LAST_SEEN[(pid, reaped)] = ticks
        total += ticks
    return total / TICK


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
    return found


def server_cpu(postmaster: int | None) -> float:
    """The PostgreSQL server's CPU: the postmaster with its ended backends, and the live ones."""
    if postmaster is None:
        return 0.0
    return cpu_seconds([postmaster], reaped=True) + cpu_seconds(children(postmaster))


PARTS = ("instances", "workers", "PostgreSQL")


def cpu_parts(running, postmaster: int | None) -> list[float]:
    """CPU seconds so far of the instances, the workers and the PostgreSQL server."""
    bots, workers = [p.pid for p in running.bots], [p.pid for p in running.workers]
    return [cpu_seconds(bots), cpu_seconds(workers), server_cpu(postmaster)]


IDLE_SECONDS = 5.0


async def settled(pids: list[int], timeout: float = 120) -> None:
    """Wait until these processes are done starting (importing aiogram, pydantic's models,
    openai: seconds of CPU): the workers start after the instances are ready, and their
    start-up counted in the run would be charged to the updates."""
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        before = cpu_seconds(pids)
        await asyncio.sleep(0.5)
        if cpu_seconds(pids) - before < 0.1 * len(pids):  # under a fifth of a core each
            return
    if pids:  # none (one process on SQLite, no worker): nothing to wait for
        raise AssertionError(f"processes {pids} still busy after {timeout}s")


async def idle_cost(running, postmaster: int | None) -> None:
    """What serving nothing costs a second (the workers' timed scans, mostly): the part of
    the run's CPU that does not follow the updates."""
    await settled([p.pid for p in running.workers])
    before = cpu_parts(running, postmaster)
    await asyncio.sleep(IDLE_SECONDS)
    after = cpu_parts(running, postmaster)
    split = ", ".join(
        f"{n} {(a - b) * 1000 / IDLE_SECONDS:.1f}"
        for n, a, b in zip(PARTS, after, before, strict=True)
    )
    print(f"  idle cpu ms/s: {split}")


async def echo_server(port: int, api_url: str) -> None:
    """The floor: aiogram's webhook handler and a handler that only echoes (subprocess)."""
    from aiogram import Dispatcher, F
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler
    from aiohttp import web

    from handlers.telegram import make_bot

    bot = make_bot(CLIENT, api_url)
    dispatcher = Dispatcher()

    @dispatcher.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    app = web.Application()
    handler = SimpleRequestHandler(
        dispatcher, bot, handle_in_background=True, secret_token=CLIENT_SECRET
    )
    handler.register(app, path="/telegram/client")
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await bot.set_webhook(f"http://127.0.0.1:{port}/telegram/client", secret_token=CLIENT_SECRET)
    await asyncio.Event().wait()


async def echo_client(inbox: Inbox, user: FakeUser) -> None:
    for n in range(ECHO_STEPS):
        after = inbox.api.last_seq()
        inbox.api.send_text(CLIENT, user, f"hello {n}")
        await inbox.next_message(user.id, after, 30)


async def run_echo(clients: int) -> tuple[float, int, float]:
    async with FakeBotApi() as api:
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--echo-server", str(port), api.base_url, cwd=ROOT
        )
        try:
            await api.wait_for_call(CLIENT, "setWebhook", timeout=30)
            async with Inbox(api) as inbox:
                await echo_client(inbox, FakeUser(1, "warm-up"))
                sent_before = len(api.webhook_statuses(CLIENT))
                cpu = cpu_seconds([proc.pid])
                began = time.perf_counter()
                users = [FakeUser(10_000 + i, f"Клиент{i}") for i in range(clients)]
                await asyncio.gather(*(echo_client(inbox, u) for u in users))
                wall = time.perf_counter() - began
                cpu = cpu_seconds([proc.pid]) - cpu
            return wall, len(api.webhook_statuses(CLIENT)) - sent_before, cpu
        finally:
            proc.terminate()
            await proc.wait()


@dataclass
class Run:
    """What one setup's run gives: its figures and how its clients ended."""

    wall: float
    updates: int
    cpu: float
    journeys: list[Journey]

    @property
    def booked(self) -> int:
        return sum(j.outcome == "booked" for j in self.journeys)

    @property
    def stuck(self) -> int:
        return sum(j.outcome.startswith(("stuck", "cut off")) for j in self.journeys)


async def walk_all(inbox: Inbox, clients: int, deadline: float) -> list[Journey]:
    """Every client books (browsing); those still walking at `deadline` are cut off."""
    journeys = [Journey(FakeUser(10_000 + i, f"Клиент{i}")) for i in range(clients)]
    walks = [
        asyncio.create_task(
            book(inbox, j.user, random.Random(j.user.id), STEP_TIMEOUT, browse=True, journey=j)
        )
        for j in journeys
    ]
    _, late = await asyncio.wait(walks, timeout=deadline)
    for walk in late:
        walk.cancel()
    await asyncio.gather(*late, return_exceptions=True)
    for journey, walk in zip(journeys, walks, strict=True):
        if walk in late:
            journey.outcome = f"cut off by the {deadline:.0f}s deadline"
    return journeys


async def kill_later(running, seconds: float | None) -> None:
    """SIGKILL the first instance `seconds` into the run (None: never)."""
    if seconds is None:
        return
    await asyncio.sleep(seconds)
    cpu_seconds([running.bots[0].pid])  # its CPU so far, counted after it is gone
    running.bots[0].send_signal(signal.SIGKILL)
    print(f"  instance 0 (pid {running.bots[0].pid}) SIGKILLed {seconds:g}s into the run")


def report(api: FakeBotApi, run: Run) -> None:
    """The deliveries tried again, and a line for each client not booked (the first few)."""
    failures = api.webhook_failures(CLIENT)
    if failures:
        reasons = collections.Counter(f.reason for f in failures)
        updates = len({f.update_id for f in failures})
        print(f"  redelivered: {updates} updates after {dict(reasons.most_common(4))}")
    missed = [j for j in run.journeys if j.outcome != "booked"]
    if missed:
        print(f"  not booked: {len(missed)} ({run.stuck} stuck)")
    for journey in missed[:REPORTED]:
        print(f"    {journey.report()}")


async def run_flow(
    clients: int,
    database: str,
    redis: str,
    bots: int,
    workers: int,
    postmaster: int | None,
    options: argparse.Namespace,
) -> Run:
    """The flow on this setup: its wall seconds, updates, CPU seconds and clients' ends."""
    async with FakeBotApi() as api:
        env = environment(api, database, redis, OUTBOX_CHAT_INTERVAL="0")
        with tempfile.TemporaryDirectory() as folder:
            async with fleet(api, Path(folder), env, bots, workers, UNPACED) as running:
                async with Inbox(api) as inbox:
                    await book(inbox, FakeUser(1, "warm-up"), random.Random(1), browse=True)
                    await idle_cost(running, postmaster)
                    sent_before = len(api.webhook_statuses(CLIENT))
                    parts = cpu_parts(running, postmaster)
                    began = time.perf_counter()
                    killer = asyncio.create_task(kill_later(running, options.kill_bot_after))
                    journeys = await walk_all(inbox, clients, options.deadline)
                    wall = time.perf_counter() - began
                    killer.cancel()
                    parts = [
                        after - before
                        for after, before in zip(cpu_parts(running, postmaster), parts, strict=True)
                    ]
                running.check_alive()
                statuses = api.webhook_statuses(CLIENT)[sent_before:]
                updates = max(1, sum(200 <= s < 300 for s in statuses))
                split = ", ".join(
                    f"{n} {c * 1000 / updates:.2f}" for n, c in zip(PARTS, parts, strict=True)
                )
                print(f"  cpu ms/upd: {split}")
                run = Run(wall, updates, sum(parts), journeys)
                report(api, run)
                return run


@contextlib.contextmanager
def redis_server():
    port = free_port()
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", ""],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait()


async def main(clients: int, only: set[str], options: argparse.Namespace) -> None:
    rows: list[tuple[str, Run]] = []
    wall, updates, cpu = await run_echo(clients)
    echo = updates / wall
    print(
        f"echo (aiogram webhook, 1 process): {echo:,.0f} updates/s ({updates} in {wall:.1f}s),"
        f" cpu {cpu * 1000 / updates:.2f} ms/upd"
    )
    with tempfile.TemporaryDirectory() as folder:
        setups = []
        if "sqlite" in only:
            setups.append(("1 process, SQLite", f"sqlite://{folder}/bench.sqlite3", 1, 0))
        server, postmaster = None, None
        bin_dir = find_bin_dir()
        if bin_dir is not None and only & {"pg1", "pg2"}:
            server = PostgresServer(bin_dir)
            url = server.start()
            postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
            if "pg1" in only:
                setups.append(("1 process, PostgreSQL", await fresh_database(url), 1, 1))
            if "pg2" in only:
                setups.append(("2 processes, PostgreSQL", await fresh_database(url), 2, 1))
        try:
            with redis_server() as redis:
                for name, database, bots, workers in setups:
                    use_redis = redis if database.startswith("postgres") else ""
                    pm = postmaster if database.startswith("postgres") else None
                    run = await run_flow(clients, database, use_redis, bots, workers, pm, options)
                    rows.append((name, run))
        finally:
            if server is not None:
                server.stop()
    head = f"{'updates/s':>10}{'× echo':>8}{'updates':>9}{'wall s':>8}{'booked':>8}{'stuck':>7}"
    print(f"{'setup':<26}{head}{'cpu ms/upd':>12}")
    for name, run in rows:
        rate = run.updates / run.wall
        print(
            f"{name:<26}{rate:>10,.0f}{rate / echo:>8.2f}{run.updates:>9}{run.wall:>8.1f}"
            f"{run.booked:>8}{run.stuck:>7}{run.cpu * 1000 / run.updates:>12.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--only", default="sqlite,pg1,pg2")
    parser.add_argument("--kill-bot-after", type=float, metavar="SECONDS")
    parser.add_argument("--deadline", type=float, default=600.0, metavar="SECONDS")
    parser.add_argument("--echo-server", nargs=2, metavar=("PORT", "API_URL"))
    args = parser.parse_args()
    if args.echo_server:
        asyncio.run(echo_server(int(args.echo_server[0]), args.echo_server[1]))
    else:
        asyncio.run(main(args.clients, set(args.only.split(",")), args))
