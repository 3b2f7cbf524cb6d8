"""A delivery pass bounded by time: it keeps sending until its budget is spent or nothing
is due, instead of stopping after a fixed number of rows.

Rows are taken in chat lanes: a worker of the pass owns one chat at a time and sends its
rows in order, so two rows of one chat are never in flight together. A chat that must
wait (the limiter's gap between two messages to one chat) keeps the claim on its row and
waits within the pass, rather than going back to a tick a second later; a row that fails
(it is retried later) stops its lane, and the lane's later rows wait until its retry, so
they do not overtake it. Claims (bot.delivery.outbox.claim) still decide who sends a row, so
passes in other tasks or processes never send a row twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.delivery.outbox import (
    CLAIM_SECONDS,
    Sender,
    claim,
    deliver_safely,
    due_rows,
    hold_behind,
    release,
)
from bot.delivery.ratelimit import NO_LIMIT, RateLimiter
from bot.models import Outbox

CHAT_POLL_SECONDS = 0.05
"""How often a waiting chat asks the limiter again (the gap itself is about a second)."""
FETCH = 50  # rows read per look for due work

Lane = tuple[str, str]  # (bot, chat id)


async def wait_for_chat(limiter: RateLimiter, row: Outbox, deadline: float) -> bool:
    """Acquire the row's chat and bot pace, waiting for the chat's gap until `deadline`
    (time.monotonic()); False when the deadline comes first."""
    while not await limiter.acquire(row.bot, row.chat_id):
        if time.monotonic() + CHAT_POLL_SECONDS > deadline:
            return False
        await asyncio.sleep(CHAT_POLL_SECONDS)
    return True


@dataclass
class _Pass:
    sender: Sender
    clock: Clock
    limiter: RateLimiter
    deadline: float
    urgent: bool | None
    claim_seconds: float
    sent: int = 0
    lanes: dict[Lane, deque[int]] = field(default_factory=dict)
    ready: deque[Lane] = field(default_factory=deque)
    held: set[Lane] = field(default_factory=set)
    stopped: set[Lane] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)
    reading: asyncio.Lock = field(default_factory=asyncio.Lock)
    drained: bool = False  # a look found nothing new: the pass's other workers stop too

    def time_left(self) -> bool:
        return time.monotonic() < self.deadline

    async def refill(self) -> None:
        """Read the next due rows into their lanes; a lane not owned by a worker gets ready."""
        rows = await due_rows(self.clock.now(), FETCH, urgent=self.urgent, skip=self.seen)
        self.drained = not rows
        for row_id, bot, chat_id in rows:
            self.seen.add(row_id)
            lane = (bot, chat_id)
            if lane in self.stopped:
                continue  # left pending for the next pass, behind its failed row
            if lane not in self.lanes:
                self.lanes[lane] = deque()
                if lane not in self.held:
                    self.ready.append(lane)
            self.lanes[lane].append(row_id)

    async def take(self) -> Lane | None:
        """The next lane to send, reading due rows when none is ready; None when done. Once
        a look finds nothing, the pass reads no more (the next pass looks again): an idle
        pass is one query, not one per worker."""
        if not self.ready:
            async with self.reading:
                if not self.ready and not self.drained and self.time_left():
                    await self.refill()
        if not self.ready:
            return None
        lane = self.ready.popleft()
        self.held.add(lane)
        return lane

    async def send_lane(self, lane: Lane) -> None:
        rows = self.lanes[lane]
        while rows and self.time_left():
            row = await claim(rows[0], self.clock.now(), self.claim_seconds)
            if row is None:  # another sender has it, or it is done
                rows.popleft()
                continue
            if not await wait_for_chat(self.limiter, row, self.deadline):
                await release(row)  # the budget is spent: the next pass has it
                return
            rows.popleft()
            if await deliver_safely(self.sender, row, self.clock):
                self.sent += 1
            elif await hold_behind(row.id, list(rows)):  # retried later: the rest waits
                self.stopped.add(lane)
                return

    async def work(self) -> None:
        while self.time_left() and (lane := await self.take()) is not None:
            try:
                await self.send_lane(lane)
            finally:
                self.held.discard(lane)
                self.lanes.pop(lane, None)  # rows left unsent stay pending for a later pass


async def deliver_for(
    sender: Sender,
    clock: Clock,
    budget: float,
    limiter: RateLimiter | None = None,
    *,
    urgent: bool | None = None,
    concurrency: int = 8,
    claim_seconds: float = CLAIM_SECONDS,
) -> int:
    """Send due rows for up to `budget` seconds or until nothing is due; returns how many
    were sent. `urgent`: urgent kinds first (None), only those (True), only the rest (False)."""
    run = _Pass(
        sender,
        clock,
        limiter or NO_LIMIT,
        time.monotonic() + budget,
        urgent,
        claim_seconds,
    )
    await asyncio.gather(*(run.work() for _ in range(concurrency)))
    return run.sent
