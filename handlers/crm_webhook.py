"""Bitrix24 outbound events (ONCRMLEADUPDATE) on the product's web server.

The portal posts form-encoded fields (`event`, `data[FIELDS][ID]`, `auth[application_token]`).
The token is compared in constant time; a wrong one is refused with 403 and changes
nothing. A right one only says which lead to look at: bot.crm.inbound reads it again
through the API before its status is trusted.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.clock import Clock
from bot.crm.inbound import apply_remote_change
from bot.crm.port import CrmPort, CrmUnavailable
from handlers.inbound import same_secret

log = logging.getLogger("priyom.crm")
BITRIX24_EVENTS_PATH = "/crm/bitrix24/events"
LEAD_EVENTS = frozenset({"ONCRMLEADUPDATE", "ONCRMLEADADD"})
MAX_BODY = 16384


class Bitrix24Events:
    def __init__(self, port: CrmPort, application_token: str, clock: Clock) -> None:
        self.port, self.token, self.clock = port, application_token, clock

    def register(self, app: web.Application) -> None:
        if self.token:
            app.router.add_post(BITRIX24_EVENTS_PATH, self.on_event)

    async def on_event(self, request: web.Request) -> web.Response:
        if (request.content_length or 0) > MAX_BODY:
            return web.Response(status=413, text="body too large")
        form = await request.post()
        if not same_secret(self.token, str(form.get("auth[application_token]", ""))):
            log.warning("crm_event_refused", extra={"reason": "application_token"})
            return web.Response(status=403, text="wrong application_token")
        event = str(form.get("event", "")).upper()
        remote_id = str(form.get("data[FIELDS][ID]", ""))
        if event not in LEAD_EVENTS:
            return web.Response(text="ignored")  # another event the portal was set to send
        if not remote_id.isdigit():
            return web.Response(status=400, text="data[FIELDS][ID] must be a lead id")
        try:
            result = await apply_remote_change(self.port, remote_id, self.clock)
        except CrmUnavailable:
            return web.Response(status=503, text="the portal could not be read back")
        return web.Response(text=result)
