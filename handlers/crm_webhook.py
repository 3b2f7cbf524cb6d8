"""CRM events on the product's web server: Bitrix24's outbound events (ONCRMLEADUPDATE) and
amoCRM's status webhooks.

The portal posts form-encoded fields (`event`, `data[FIELDS][ID]`, `auth[application_token]`).
The token is compared in constant time; a wrong one is refused with 403 and changes
nothing. A right one only says which lead to look at: bot.crm.inbound reads it again
through the API before its status is trusted.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from bot.clock import Clock
from bot.crm.inbound import apply_remote_change
from bot.crm.port import CrmPort, CrmUnavailable
from bot.settings import Settings
from handlers.amocrm_api import AmoError
from handlers.bitrix24_api import BitrixError
from handlers.inbound import same_secret

log = logging.getLogger("priyom.crm")
BITRIX24_EVENTS_PATH = "/crm/bitrix24/events"
AMOCRM_EVENTS_PATH = "/crm/amocrm/events/{secret}"
AMO_STATUS_ID = re.compile(r"leads\[(?:status|update)\]\[\d+\]\[id\]")
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
        except (CrmUnavailable, BitrixError) as exc:
            log.warning("crm_event_unread", extra={"error": str(exc)[:200]})
            return web.Response(status=503, text="the portal could not be read back")
        return web.Response(text=result)


class AmoEvents:
    """amoCRM signs nothing: the webhook URL carries a secret (compared in constant time),
    and every lead it names is read back through the API before its status counts."""

    def __init__(self, port: CrmPort, secret: str, clock: Clock) -> None:
        self.port, self.secret, self.clock = port, secret, clock

    def register(self, app: web.Application) -> None:
        if self.secret:
            app.router.add_post(AMOCRM_EVENTS_PATH, self.on_event)

    async def on_event(self, request: web.Request) -> web.Response:
        if not same_secret(self.secret, request.match_info["secret"]):
            log.warning("crm_event_refused", extra={"reason": "amocrm secret"})
            return web.Response(status=403, text="wrong secret")
        if (request.content_length or 0) > MAX_BODY:
            return web.Response(status=413, text="body too large")
        form = await request.post()
        ids = {str(v) for k, v in form.items() if AMO_STATUS_ID.fullmatch(k)}
        if not all(i.isdigit() for i in ids):
            return web.Response(status=400, text="leads[status][N][id] must be lead ids")
        try:
            results = [await apply_remote_change(self.port, i, self.clock) for i in sorted(ids)]
        except (CrmUnavailable, AmoError) as exc:
            log.warning("crm_event_unread", extra={"error": str(exc)[:200]})
            return web.Response(status=503, text="the account could not be read back")
        return web.Response(text=",".join(results) or "ignored")


def crm_webhooks(crm: CrmPort | None, settings: Settings, clock: Clock) -> list:
    """The event routes of the configured CRM (none when sync is off)."""
    if crm is None:
        return []
    if crm.name == "amocrm":
        return [AmoEvents(crm, settings.amocrm_webhook_secret, clock).register]
    return [Bitrix24Events(crm, settings.bitrix24_application_token, clock).register]
