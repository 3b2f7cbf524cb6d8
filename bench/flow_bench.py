"""Load benchmark: N simulated clients book through the real client bot, in one process.

Each client is one asyncio task that walks the whole booking dialogue through aiogram's
`Dispatcher.feed_update` against a freshly migrated SQLite file, pressing the buttons the
bot actually sent, so clients racing for one slot go through the "slot taken" path. A bare
echo dispatcher is driven the same way in the same run, so the figures show what the
dialogue and the database add on top of aiogram itself. The Bot never touches the network:
a stub session answers every API call, so both runs pay the same (small) API cost.

    python bench/flow_bench.py [--clients 200] [--db PATH] [--when week|tomorrow] [--rate 300]
                               [--ai] [--asyncio]

Both runs share one event loop: uvloop when installed, as `python -m bot` runs (--asyncio:
asyncio's own loop).

--ai runs the flow a second time with the AI layer on rules (no model: lead intelligence
writes, the guard and the rules reading of text), to show what that layer adds.

Without --rate every client sends its next update the moment it has the answer (a closed
loop at saturation), so latency is mostly queueing: p50 ~ clients / throughput. With
--rate R clients pause between updates (exponential, mean clients / R seconds), offering
about R updates/s in total, which is what the latency target is about.

"cpu ms" is the process CPU time per update (all threads), steadier than updates/s when
the machine is shared.

Target (issue): p99 < 50 ms and >= 300 updates/s with 200 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import itertools
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import (
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    Update,
)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/flow_bench.py` from the project root
    sys.path.insert(0, str(ROOT))

from bot.app import build_dispatcher  # noqa: E402
from bot.clock import FakeClock  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.db import close_db, init_db  # noqa: E402
from bot.dialogs import DialogService  # noqa: E402
from bot.models import ACTIVE_APPOINTMENT_STATUSES, Appointment  # noqa: E402
from handlers.telegram import Act  # noqa: E402
from handlers.telegram_send import sent_answer  # noqa: E402
from handlers.telegram_session import KeptChain  # noqa: E402

TOKEN = "123456:bench-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Priyom"}
# Monday 23 November 2026, 09:00 in Samara: the salon opens at 10:00, the week is free.
START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Samara"))
NAMES = ("Ольга", "Анна", "Мария", "Елена", "Ирина", "Светлана", "Иван", "Пётр")
ANSWERS: dict[Any, Any] = {}  # `Response[...]` per method's `__returning__`
TEXTS = (SendMessage, EditMessageText)  # a tuple: `A | B` would build a union per call
MAX_STEPS = 60  # a client that hasn't booked by then is counted as stuck


@dataclass
class Prompt:
    """The last bot message in a chat that carried a keyboard: what the client can press."""

    message_id: int
    text: str
    actions: list[str] = field(default_factory=list)
    ask_contact: bool = False


class StubSession(KeptChain, BaseSession):
    """Answers Bot API calls in-process, so only dispatcher + scenario + database are measured.
    It calls through the request middlewares as the product's session does (KeptChain).

    It also remembers the last keyboard shown in each chat, which is how clients "see" it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.prompts: dict[int, Prompt] = {}
        self.calls: dict[str, int] = {}
        self._ids = itertools.count(1_000_000)
        self._date = dt.datetime.now(dt.UTC)

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        name = type(method).__name__
        self.calls[name] = self.calls.get(name, 0) + 1
        if isinstance(method, AnswerCallbackQuery):
            return True  # type: ignore[return-value]
        if isinstance(method, TEXTS):
            chat_id = int(method.chat_id or 0)
            message_id = (
                method.message_id
                if isinstance(method, EditMessageText) and method.message_id
                else next(self._ids)
            )
            self._remember(chat_id, message_id, method.text, method.reply_markup)
            sent = {
                "message_id": message_id,
                "date": self._date,
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": method.text,
            }
            return self._answer(bot, method, sent)
        raise NotImplementedError(f"the benchmark stub does not answer {name}")

    @staticmethod
    def _answer(bot: Bot, method: TelegramMethod[TelegramType], result: Any) -> TelegramType:
        """Telegram's answer read as the method declares it, as `BaseSession.check_response`
        reads a real one (less the JSON decoding): a method whose `__returning__` is the
        message id alone pays for the id, one returning `Message` for the whole message.
        The product's session reads a plain sent message's id without pydantic: so here."""
        returning = method.__returning__
        answer = {"ok": True, "result": result}
        sent = sent_answer(returning, answer)
        if sent is not None:
            return sent.result  # type: ignore[return-value]
        if returning not in ANSWERS:  # a weakly cached generic, built once for both runs
            ANSWERS[returning] = Response[returning]
        response = ANSWERS[returning].model_validate(answer, context={"bot": bot})
        return response.result  # type: ignore[return-value]

    def _remember(self, chat_id: int, message_id: int, text: str, markup: object) -> None:
        if isinstance(markup, InlineKeyboardMarkup):
            self.prompts[chat_id] = Prompt(message_id, text, _actions(markup))
        elif isinstance(markup, ReplyKeyboardMarkup):
            contact = any(b.request_contact for row in markup.keyboard for b in row)
            self.prompts[chat_id] = Prompt(message_id, text, ask_contact=contact)


KEYBOARDS_READ: dict[int, tuple[InlineKeyboardMarkup, list[str]]] = {}


def _actions(markup: InlineKeyboardMarkup) -> list[str]:
    """The actions of a keyboard's buttons, read once per keyboard object (the bot shares
    one object among the replies showing the same buttons, and nothing changes a keyboard
    once sent): the client's reading is not the bot's cost. Held by identity, the
    keyboard kept alive with its reading, so an id is never taken for another keyboard."""
    read = KEYBOARDS_READ.get(id(markup))
    if read is not None and read[0] is markup:
        return read[1]
    actions = [
        _action(b.callback_data) for row in markup.inline_keyboard for b in row if b.callback_data
    ]
    if len(KEYBOARDS_READ) >= 4096:
        KEYBOARDS_READ.clear()
    KEYBOARDS_READ[id(markup)] = (markup, actions)
    return actions


@functools.lru_cache(maxsize=4096)
def _action(callback_data: str) -> str:
    """The client reads a button once per distinct button: the person pressing it is not
    the bot's cost (aiogram's unpacking was 2.5 % of the flow's samples)."""
    return Act.unpack(callback_data).v


@dataclass
class Stats:
    """What one scenario's clients did and how long each update took."""

    latencies: list[float] = field(default_factory=list)
    booked: int = 0
    slot_taken: int = 0
    stuck: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0  # process CPU seconds (all threads): steadier than wall time on a busy box
    peak_rss_mb: float = 0.0


class Client:
    """One simulated person in a private chat; builds updates and times their handling."""

    _update_ids = itertools.count(1)

    def __init__(
        self, index: int, bot: Bot, dispatcher: Dispatcher, stats: Stats, think: float = 0.0
    ) -> None:
        self.id = 10_000 + index
        self.name = NAMES[index % len(NAMES)]
        self.bot, self.dispatcher, self.stats = bot, dispatcher, stats
        self.think = think  # mean pause before each update, seconds
        self.rng = random.Random(index)
        self._message_ids = itertools.count(1)

    def _user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.name}

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private", "first_name": self.name},
            "from": self._user(),
            **content,
        }

    async def _feed(self, payload: dict[str, Any]) -> None:
        """Validate outside the timer (polling does that on receipt), then time the handling."""
        if self.think:
            await asyncio.sleep(self.rng.expovariate(1 / self.think))
        update = Update.model_validate(
            {"update_id": next(self._update_ids), **payload}, context={"bot": self.bot}
        )
        began = time.perf_counter()
        await self.dispatcher.feed_update(self.bot, update)
        self.stats.latencies.append(time.perf_counter() - began)

    async def text(self, text: str) -> None:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split(" ", 1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        await self._feed({"message": self._message(**content)})

    async def contact(self, phone: str) -> None:
        contact = {"phone_number": phone, "first_name": self.name, "user_id": self.id}
        await self._feed({"message": self._message(contact=contact)})

    async def press(self, prompt: Prompt, action: str) -> None:
        message = {
            "message_id": prompt.message_id,
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private", "first_name": self.name},
            "from": BOT_USER,
            "text": prompt.text,
        }
        query = {
            "id": f"{self.id}-{next(self._message_ids)}",
            "from": self._user(),
            "chat_instance": str(self.id),
            "message": message,
            "data": Act(v=action).pack(),
        }
        await self._feed({"callback_query": query})


async def book_once(
    client: Client, session: StubSession, rng: random.Random, service: str, when: str
) -> None:
    """Walk the dialogue by reacting to whatever keyboard the bot showed last."""
    stats = client.stats
    session.prompts.pop(client.id, None)
    await client.text("/start src-instagram")
    confirmed = False
    for _ in range(MAX_STEPS):
        prompt = session.prompts.pop(client.id, None)
        if prompt is None:
            raise RuntimeError("the bot showed no keyboard")
        actions = prompt.actions
        if confirmed:  # the answer to "confirm": booked, or the slot went to someone else
            confirmed = False
            if "again" in actions:
                stats.booked += 1
                return
            stats.slot_taken += 1
        if prompt.ask_contact:
            await client.contact(f"+7927{client.id:07d}")
        elif "consent:yes" in actions:
            await client.press(prompt, "consent:yes")
        elif any(a.startswith("svc:") for a in actions):
            await client.press(prompt, f"svc:{service}")
        elif "addon:none" in actions:
            await client.press(prompt, "addon:none")
        elif f"when:{when}" in actions:
            await client.press(prompt, f"when:{when}")
        elif slots := [a for a in actions if a.startswith("slot:")]:
            # People look at a page or two and take what suits them: races still happen
            # when two pick the same slot, as in a real salon's busy evening.
            if "more" in actions and rng.random() < 0.4:
                await client.press(prompt, "more")
            else:
                await client.press(prompt, rng.choice(slots))
        elif "name:me" in actions:
            await client.press(prompt, "name:me")
        elif "confirm" in actions:
            await client.press(prompt, "confirm")
            confirmed = True
        else:  # no slots left, or a step the benchmark doesn't know
            reason = "no_slots" if "retime" in actions else "unknown_step"
            stats.stuck[reason] = stats.stuck.get(reason, 0) + 1
            return
    stats.stuck["max_steps"] = stats.stuck.get("max_steps", 0) + 1


async def run_clients(indexes: range, stats: Stats, body: Callable[[int], Awaitable[None]]) -> None:
    """Start all clients at once and wait for them; errors are kept, not raised."""

    async def guarded(index: int) -> None:
        try:
            await body(index)
        except Exception as exc:  # reported in the summary
            stats.errors.append(f"client {index}: {exc!r}")

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(guarded(i) for i in indexes))
    stats.wall = time.perf_counter() - began
    stats.cpu = time.process_time() - cpu
    stats.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def echo_dispatcher() -> Dispatcher:
    """The floor: aiogram routing one message to a handler that only echoes it."""
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


async def echo_clients(
    bot: Bot, dispatcher: Dispatcher, indexes: range, per_client: int, think: float
) -> Stats:
    stats = Stats()

    async def body(index: int) -> None:
        client = Client(index, bot, dispatcher, stats, think)
        for n in range(per_client):
            await client.text(f"hello {n}")

    await run_clients(indexes, stats, body)
    return stats


async def bench_echo(clients: int, per_client: int, think: float) -> Stats:
    bot = Bot(TOKEN, session=StubSession())
    dispatcher = echo_dispatcher()
    # One unmeasured client first: the first updates pay one-off costs (pydantic, routing).
    await echo_clients(bot, dispatcher, range(clients, clients + 1), per_client, 0.0)
    return await echo_clients(bot, dispatcher, range(clients), per_client, think)


@dataclass
class FlowRig:
    """What all clients of the flow share: the bot with its stub session and the dispatcher."""

    bot: Bot
    session: StubSession
    dispatcher: Dispatcher
    services: list[str]
    when: str
    seed: int

    async def run(self, indexes: range, think: float) -> Stats:
        stats = Stats()

        async def body(index: int) -> None:
            client = Client(index, self.bot, self.dispatcher, stats, think)
            rng = random.Random(self.seed + index)
            service = self.services[index % len(self.services)]
            await book_once(client, self.session, rng, service, self.when)

        await run_clients(indexes, stats, body)
        return stats


async def bench_flow(
    clients: int, db_path: Path, when: str, seed: int, think: float, ai: bool = False
) -> Stats:
    config = load_config(ROOT / "examples" / "salon.toml")
    await init_db(f"sqlite://{db_path}")
    understander = _rules_assistant(config) if ai else None
    try:
        session = StubSession()
        rig = FlowRig(
            bot=Bot(TOKEN, session=session),
            session=session,
            dispatcher=build_dispatcher(
                DialogService(config, FakeClock(START), understander=understander)
            ),
            services=[s.id for s in config.services if s.masters],
            when=when,
            seed=seed,
        )
        # One unmeasured client first: first queries and code paths pay one-off costs.
        await rig.run(range(clients, clients + 1), 0.0)
        stats = await rig.run(range(clients), think)
        stats.errors += await find_overlaps()
    finally:
        await close_db()
    return stats


async def find_overlaps() -> list[str]:
    """Pairs of active appointments of one master whose visits overlap: must be none."""
    rows = (
        await Appointment.filter(status__in=ACTIVE_APPOINTMENT_STATUSES)
        .order_by("master_id", "start")
        .values_list("id", "master_id", "start", "end")
    )
    found = []
    for (a_id, a_master, _, a_end), (b_id, b_master, b_start, _) in itertools.pairwise(rows):
        if a_master == b_master and b_start < a_end:
            found.append(f"overlap: appointments {a_id} and {b_id} of {a_master}")
    return found


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def report(rows: list[tuple[str, int, Stats]]) -> None:
    head = (
        f"{'scenario':<9}{'clients':>8}{'updates':>9}{'upd/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'cpu ms':>8}{'booked':>8}{'taken':>7}{'stuck':>7}{'rss MB':>8}"
    )
    print(head)
    print("-" * len(head))
    for name, clients, s in rows:
        lat = s.latencies
        print(
            f"{name:<9}{clients:>8}{len(lat):>9}{len(lat) / s.wall:>9.0f}"
            f"{percentile(lat, 50) * 1000:>9.1f}{percentile(lat, 99) * 1000:>9.1f}"
            f"{max(lat, default=0) * 1000:>9.1f}{s.cpu / max(len(lat), 1) * 1000:>8.2f}"
            f"{s.booked:>8}{s.slot_taken:>7}"
            f"{sum(s.stuck.values()):>7}"
            f"{s.peak_rss_mb:>8.0f}"
        )


def _rules_assistant(config):
    """The AI layer without a model (what `python -m bot` runs with no OPENAI_API_KEY)."""
    from bot.ai.knowledge import Knowledge
    from bot.ai.understand import Assistant
    from bot.i18n import Texts

    return Assistant(config, Knowledge(config, Texts(config.business.locale)))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--db", type=Path, help="SQLite file (default: a fresh temp file)")
    parser.add_argument("--when", choices=("week", "tomorrow"), default="week")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0.0, help="offered updates/s (0: flat out)")
    parser.add_argument("--ai", action="store_true", help="also: the flow with the rules AI layer")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="priyom-bench-") as tmp:
        db_path = args.db or Path(tmp) / "bench.sqlite3"
        if db_path.exists():
            sys.exit(f"{db_path} exists: the benchmark needs a fresh database")
        # The echo run goes first so its peak RSS is its own (ru_maxrss never goes down);
        # it sends 9 messages per client, the length of a booking without retries.
        think = args.clients / args.rate if args.rate else 0.0
        echo = await bench_echo(args.clients, per_client=9, think=think)
        flow = await bench_flow(args.clients, db_path, args.when, args.seed, think)
        rows = [("echo", args.clients, echo), ("flow", args.clients, flow)]
        if args.ai:
            ai_db = Path(tmp) / "bench-ai.sqlite3"
            flow_ai = await bench_flow(args.clients, ai_db, args.when, args.seed, think, ai=True)
            rows.append(("flow+ai", args.clients, flow_ai))

    report(rows)
    problems = [error for _, _, stats in rows for error in stats.errors]
    for problem in problems[:20]:
        print(f"FAIL {problem}")
    if args.rate:
        print(f"offered load: ~{args.rate:.0f} updates/s (mean pause {think * 1000:.0f} ms)")
    if flow.stuck:
        print(f"note: clients that could not book: {flow.stuck}")
    return 1 if problems else 0


if __name__ == "__main__":
    if "--asyncio" in sys.argv:  # asyncio's own loop; by default the bot's (bot.__main__)
        sys.argv.remove("--asyncio")
        sys.exit(asyncio.run(main()))
    from bot.__main__ import serve

    sys.exit(serve(main()))
