"""Several `python -m bot` instances and workers on one PostgreSQL and one Redis, run as
production runs them, behind the fake Bot API playing Telegram and the load balancer.
Shared by tests/test_instances.py and bench/scale_bench.py."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import random
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from tests.fakes.bot_api import Call, FakeBotApi, FakeUser
from tests.fakes.webhook_delivery import wait_event

ROOT = Path(__file__).resolve().parent.parent
CLIENT, STAFF = "314159:client", "271828:staff"
CLIENT_SECRET, STAFF_SECRET = "client-Secret_1", "staff-Secret_2"
OWNER = 9001
MAX_STEPS = 40
# Browsing, 200 clients starting in one second pick from each master's first slot page and
# lose races for a while (confirm → «taken» → a new page: two steps a loss): in one run
# 15-17 steps the median per master, 25-31 the p90, 36-39 the longest; 40 cut off one or
# two still being answered in others. The cap only stops a dialogue that loops.
BROWSE_STEPS = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def fresh_database(server_url: str) -> str:
    """A new empty database on the PostgreSQL server of `server_url`; its URL."""
    import asyncpg

    name = f"scale_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(server_url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def someone_waits_for_a_turn() -> bool:
    """Whether a connection waits for an advisory lock (bot.chat_lock) on tortoise's database."""
    from tortoise import Tortoise

    sql = "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    _, rows = await Tortoise.get_connection("default").execute_query(sql)
    return rows[0]["n"] > 0


def environment(api: FakeBotApi, database_url: str, redis_url: str, **extra: str) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": CLIENT,
        "STAFF_BOT_TOKEN": STAFF,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "OWNER_TELEGRAM_IDS": str(OWNER),
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": CLIENT_SECRET,
        "STAFF_WEBHOOK_SECRET": STAFF_SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "LOG_LEVEL": os.environ.get("PRIYOM_SCALE_LOG", "WARNING"),
        **extra,
    }


@dataclass
class Fleet:
    """The running processes; `urls` are the instances' client webhooks."""

    api: FakeBotApi
    folder: Path
    env: dict
    bots: list[asyncio.subprocess.Process] = field(default_factory=list)
    workers: list[asyncio.subprocess.Process] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    bot_args: tuple[str, ...] = ("-m", "bot")  # how an instance is started

    async def start_bot(self, index: int) -> None:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**self.env, "WEBHOOK_PORT": str(port), "PUBLIC_BASE_URL": base}
        log = self.folder / f"bot-{index}.log"
        self.bots.append(await _spawn(list(self.bot_args), env, log))
        self.urls.append(f"{base}/telegram/client")

    async def start_worker(self, index: int) -> None:
        env = {**self.env, "RUN_MIGRATIONS": "false", "PUBLIC_BASE_URL": "http://127.0.0.1"}
        log = self.folder / f"worker-{index}.log"
        self.workers.append(await _spawn(["-m", "bot", "worker"], env, log))

    async def ready(self, timeout: float = 60) -> None:
        """Every instance answers /readyz (database, Redis, migrations current)."""
        async with aiohttp.ClientSession() as http:
            for url in self.urls:
                ready = url.replace("/telegram/client", "/readyz")
                for _ in range(int(timeout * 10)):
                    self.check_alive()
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(ready) as response:
                            if response.status == 200:
                                break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError(f"{ready} never became ready:\n{self.logs()}")

    def check_alive(self) -> None:
        for proc in self.bots + self.workers:
            if proc.returncode not in (None, -signal.SIGKILL):
                raise AssertionError(f"a process exited with {proc.returncode}:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-3000:]}" for path in self.folder.glob("*.log")
        )

    async def stop(self) -> None:
        for proc in self.bots + self.workers:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.bots + self.workers:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _spawn(args: list[str], env: dict, log: Path) -> asyncio.subprocess.Process:
    with open(log, "w") as out:  # a file, not a pipe: nobody has to read it as it runs
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=ROOT, env=env, stdout=out, stderr=out
        )


@contextlib.asynccontextmanager
async def fleet(
    api: FakeBotApi,
    folder: Path,
    env: dict,
    bots: int,
    workers: int,
    bot_args: tuple[str, ...] = ("-m", "bot"),
) -> AsyncIterator[Fleet]:
    """`bots` instances (started together: each migrates under the lock) and `workers`."""
    running = Fleet(api, folder, env, bot_args=bot_args)
    try:
        for index in range(bots):
            await running.start_bot(index)
        await running.ready()
        for index in range(workers):
            await running.start_worker(index)
        api.balance(CLIENT, running.urls)
        yield running
    finally:
        await running.stop()


def _prompt(call: Call) -> bool:
    """A message the client can answer: inline buttons, or the phone-sharing keyboard."""
    markup = call.params.get("reply_markup") or {}
    return bool(markup.get("inline_keyboard") or markup.get("keyboard"))


def _actions(call: Call) -> dict[str, str]:
    """The buttons' actions → their callback data."""
    from handlers.telegram import Act

    markup = call.params.get("reply_markup") or {}
    buttons = [b for row in markup.get("inline_keyboard", []) for b in row]
    return {
        Act.unpack(b["callback_data"]).v: b["callback_data"]
        for b in buttons
        if "callback_data" in b
    }


class Inbox:
    """The bot's questions per chat, read once from the fake's call log as they arrive, so
    hundreds of waiting clients cost one scan per call, not one scan each."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.asked: dict[int, list[Call]] = collections.defaultdict(list)  # with buttons
        self.said: dict[int, list[Call]] = collections.defaultdict(list)  # every message
        self._seen = 0
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Inbox:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _read(self) -> None:
        while True:
            new = await self.api.wait_until(lambda: self.api.calls_after(self._seen) or None, 60)
            for call in new or ():
                self._seen = call.seq
                chat = call.params.get("chat_id")
                if call.token == CLIENT and call.method in ASKING:
                    self.said[chat].append(call)
                    if _prompt(call):
                        self.asked[chat].append(call)
            event, self._changed = self._changed, asyncio.Event()
            event.set()

    async def next_question(self, chat: int, after: int, timeout: float) -> Call:
        """The bot's first question to `chat` after call number `after`."""
        return await self.next_message(chat, after, timeout, self.asked)

    async def next_message(
        self, chat: int, after: int, timeout: float, calls: dict | None = None
    ) -> Call:
        """The bot's first message to `chat` (of `calls`: all) after call number `after`."""
        calls = self.said if calls is None else calls
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = next((c for c in calls[chat] if c.seq > after), None)
            if found is not None:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise Stuck(f"chat {chat}: no answer from the bot in {timeout:g}s")
            await wait_event(self._changed, remaining)


ASKING = ("sendMessage", "editMessageText")


class Stuck(AssertionError):
    """The bot did not answer a client within the bound."""


@dataclass
class Journey:
    """Where one client's walk is, kept outside the walk so that a report can say it even
    when the walk ends stuck or is cut off by the run's deadline."""

    user: FakeUser
    step: int = 0
    sent: str = ""  # what the client last did
    received: str = "nothing yet"  # the bot's last question to it, and its buttons
    outcome: str = "walking"
    trail: list[str] = field(default_factory=list)  # every question, in order

    def did(self, what: str) -> None:
        self.sent = what

    def report(self) -> str:
        return (
            f"client {self.user.id}: {self.outcome} at step {self.step}; "
            f"last sent {self.sent!r}; last received {self.received!r}"
        )


def _last_seq(api: FakeBotApi) -> int:
    return api.last_seq()


async def book(
    inbox: Inbox,
    user: FakeUser,
    rng: random.Random,
    timeout: float = 20,
    browse: bool = False,
    journey: Journey | None = None,
) -> str:
    """Walk the dialogue by answering what the bot last asked: "booked", or why not (a
    client the bot leaves without an answer for `timeout` seconds is "stuck"; `journey`,
    when given, is kept up to date for a report).

    By default every client takes the first service and a slot of the first page (the
    scale test: races on few cells). `browse` behaves like bench/flow_bench.py's clients:
    the services spread over the clients and "more" pressed on 40 % of the pages, so 200
    clients do not all fight over one page's slots until they give up."""
    walk = journey or Journey(user)
    try:
        walk.outcome = await _walk(inbox, walk, rng, timeout, browse)
    except Stuck:
        walk.outcome = f"stuck: no answer in {timeout:g}s"
    return walk.outcome if walk.outcome == "booked" else walk.report()


async def _walk(
    inbox: Inbox, walk: Journey, rng: random.Random, timeout: float, browse: bool
) -> str:
    api, user = inbox.api, walk.user
    mark = _last_seq(api)
    walk.did("/start src-scale")
    api.send_command(CLIENT, user, "/start src-scale")
    confirmed = False
    for walk.step in range(1, (BROWSE_STEPS if browse else MAX_STEPS) + 1):
        call = await inbox.next_question(user.id, mark, timeout)
        mark = _last_seq(api)
        actions = _actions(call)
        walk.received = f"{call.params.get('text', '')[:30]} {list(actions)[:4]}"
        walk.trail.append(walk.received)
        if confirmed:
            if "again" in actions:
                return "booked"
            confirmed = False
        if (call.params.get("reply_markup") or {}).get("keyboard"):
            walk.did("contact")
            api.share_contact(CLIENT, user, f"7927{user.id:07d}")
        elif "consent:yes" in actions:
            _press(walk, api, actions["consent:yes"])
        elif svc := [a for a in actions if a.startswith("svc:")]:
            _press(walk, api, actions[svc[user.id % len(svc) if browse else 0]])
        elif "addon:none" in actions:
            _press(walk, api, actions["addon:none"])
        elif "when:week" in actions:
            _press(walk, api, actions["when:week"])
        elif slots := [a for a in actions if a.startswith("slot:")]:
            more = browse and "more" in actions and rng.random() < 0.4
            _press(walk, api, actions["more" if more else rng.choice(slots)])
        elif "name:me" in actions:
            _press(walk, api, actions["name:me"])
        elif "confirm" in actions:
            _press(walk, api, actions["confirm"])
            confirmed = True
        else:
            return f"no known button in {actions}"
    return f"too many steps: {walk.trail[-6:]}"


def _press(walk: Journey, api: FakeBotApi, data: str) -> None:
    walk.did(f"press {data}")
    api.press_button(CLIENT, walk.user, data)  # on the bot's last message with that button
