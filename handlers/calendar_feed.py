"""`GET /calendar/{token}.ics`: a master's visits for their phone's calendar app.

An unknown or revoked token is a plain 404, the same as a path that never existed. The
token is never logged: the server runs without aiohttp's access log (handlers/registry.py)
and this handler logs only the master's id.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.booking.calendar_feed import feed, master_for_token
from bot.clock import Clock
from bot.config import BusinessConfig

log = logging.getLogger("priyom.calendar")
ROUTE = "/calendar/{token}.ics"


class CalendarFeed:
    def __init__(self, config: BusinessConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock

    def register(self, app: web.Application) -> None:
        app.router.add_get(ROUTE, self.serve)

    async def serve(self, request: web.Request) -> web.Response:
        master_id = await master_for_token(request.match_info["token"])
        if master_id is None:
            raise web.HTTPNotFound()
        body = await feed(master_id, self.config, self.clock.now())
        log.info("calendar_served", extra={"master": master_id, "bytes": len(body)})
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={"Cache-Control": "private, max-age=300"},
        )
