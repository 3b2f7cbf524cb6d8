"""A local aiohttp server on a free port: the fakes of outside APIs and the webhook rigs
share it, and a fake's recipients can be awaited until their messages arrive."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web


@contextlib.asynccontextmanager
async def serving(register: Callable[[web.Application], None]) -> AsyncIterator[str]:
    """Serve the routes `register` adds; yields the base URL, http://127.0.0.1:<port>."""
    app = web.Application()
    register(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def serving_channel(channel: Any) -> AsyncIterator[str]:
    """A channel's webhook routes (bot/delivery/channel.py `mount`) on a local port,
    closed after."""
    try:
        async with serving(lambda app: channel.mount(app.router)) as url:
            yield url
    finally:
        await channel.close()


class RecordingApi:
    """A fake API that records what it was sent, per recipient, and wakes waiters."""

    def __init__(self) -> None:
        self.arrived = asyncio.Condition()
        self.url = ""
        self._serving: contextlib.AbstractAsyncContextManager[str] | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def to(self, recipient: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def recorded(self) -> None:
        async with self.arrived:
            self.arrived.notify_all()

    async def wait_for(self, recipient: str, count: int, timeout: float = 5.0) -> list[dict]:
        """The recipient's messages once there are at least `count` of them."""
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: len(self.to(recipient)) >= count), timeout
            )
        return self.to(recipient)

    async def __aenter__(self):
        self._serving = serving(self.routes)
        self.url = await self._serving.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._serving is not None:
            await self._serving.__aexit__(*exc)
