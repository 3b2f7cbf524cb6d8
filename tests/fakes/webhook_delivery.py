"""Telegram's side of a webhook delivery, as the fake Bot API plays it.

Telegram posts an update to the webhook and, when the POST fails (connection refused or
reset, no answer within its timeout, a non-2xx status), posts the same update (same
``update_id``) again later, to whatever answers at the URL then, and gives up only after
"a reasonable amount of attempts". Behind a load balancer that is another instance: a
backend that refused a connection is passed over for a while (nginx's ``max_fails=1
fail_timeout=…``), so a killed instance's updates go to the live ones. Without this the fake
dropped a failed delivery, and a client whose update died with its instance waited forever.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Redelivery:
    """How failed deliveries are tried again (the fake's `redelivery`, per FakeBotApi)."""

    first_pause: float = 0.05  # seconds before the second attempt, doubled each time
    max_pause: float = 1.0
    give_up_after: float = 60.0  # seconds since the first attempt (Telegram: hours)
    timeout: float = 30.0  # a POST unanswered this long failed (the product acks by 10 s)
    down_for: float = 2.0  # a backend that refused a connection is passed over this long

    def pauses(self):
        """The pauses between attempts: doubling from `first_pause` up to `max_pause`."""
        pause = self.first_pause
        while True:
            yield pause
            pause = min(pause * 2, self.max_pause)


@dataclass
class Failure:
    """One failed attempt to deliver an update (the fake keeps them per bot)."""

    update_id: int
    url: str
    reason: str  # "HTTP 503", "ClientConnectorError", "TimeoutError"...


@dataclass
class Balancer:
    """The load balancer in front of several instances: a chat's consecutive updates go to
    the next URL in turn, passing over a backend that refused a connection lately."""

    urls: list[str] = field(default_factory=list)
    turns: dict[Any, int] = field(default_factory=lambda: defaultdict(int))
    down_until: dict[str, float] = field(default_factory=dict)  # url -> monotonic time

    def route(self, chat: Any) -> str:
        now = time.monotonic()
        up = [u for u in self.urls if self.down_until.get(u, 0.0) <= now] or self.urls
        turn = self.turns[chat]
        self.turns[chat] += 1
        return up[turn % len(up)]

    def refused(self, url: str, policy: Redelivery) -> None:
        if url in self.urls:
            self.down_until[url] = time.monotonic() + policy.down_for


def failed_reason(status: int | None, exc: BaseException | None) -> str | None:
    """Why an attempt failed, or None when it was delivered (a 2xx answer)."""
    if exc is not None:
        return type(exc).__name__
    assert status is not None
    return None if 200 <= status < 300 else f"HTTP {status}"


def refused_connection(exc: BaseException | None) -> bool:
    """Nothing listens there (the instance is gone): the balancer passes it over."""
    return isinstance(exc, aiohttp.ClientConnectorError)


CONNECTION_FAILURES = (aiohttp.ClientError, TimeoutError)


async def wait_event(event: asyncio.Event, timeout: float) -> None:
    """Until `event` is set or `timeout` seconds passed. Not `asyncio.wait_for`: on Python
    3.11 it swallows a cancellation that arrives as the event is set (its inner task done
    first), so a loop of such waits, cancelled while the fake is busy, never ended — the
    scale bench hung at its end that way. `asyncio.wait` raises the cancellation, and its
    inner task keeps wait_for's pace of wake-ups (tests read the database the moment the
    fake saw a call: one loop turn sooner and the product has not marked it yet)."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
