"""Missed calls from the telephony services salons use: Zadarma, Mango Office, UIS/CoMagic.

Each notification is checked (signature, key, token) before anything is read from it; a
forged one gets 401 and stores nothing. An inbound call that ended unanswered becomes a
`LeadRequest` (bot/staffwork/intake.py) keyed by the provider's call id, so a redelivery
opens nothing; the source is the one configured for the dialled virtual number (call
tracking), else `call`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re

from aiohttp import web

from bot.settings import Settings
from bot.staffwork.intake import Intake, LeadRequest
from handlers.inbound import same_secret
from scenarios.parsing import normalize_phone

log = logging.getLogger("priyom.telephony")
ZADARMA_PATH = "/calls/zadarma"
MANGO_PATH = "/calls/mango/events/{event}"  # Mango appends /events/<kind> to the set URL
ZADARMA_MISSED_EVENT = "NOTIFY_END"  # an inbound call ended (NOTIFY_OUT_END: outbound)
ZADARMA_SIGNED = ("caller_id", "called_did", "call_start")  # NOTIFY_END's signed fields
MANGO_INBOUND, MANGO_NOT_CONNECTED = 1, 0  # call_direction, entry_result
# UIS/CoMagic sign nothing: their HTTP notification («Потерянный звонок») is set up in the
# account with a body template of {{…}} variables, and the shared token rides in the URL.
UIS_PATH = "/calls/uis"
UIS_FIELDS = ("call_session_id", "contact_phone_number", "virtual_phone_number")


def zadarma_signature(secret: str, fields: dict[str, str]) -> str:
    """base64 of the hex HMAC-SHA1 over the documented fields, as Zadarma signs NOTIFY_END."""
    data = "".join(fields.get(name, "") for name in ZADARMA_SIGNED)
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def mango_sign(key: str, body: str, salt: str) -> str:
    return hashlib.sha256((key + body + salt).encode()).hexdigest()


def caller_phone(raw: str) -> str | None:
    """The caller's number as E.164; providers send digits without «+»."""
    digits = re.sub(r"\D", "", raw or "")
    if not digits:
        return None
    return normalize_phone(digits) or normalize_phone("+" + digits)


class Telephony:
    def __init__(self, settings: Settings, intake: Intake) -> None:
        self.settings, self.intake = settings, intake
        self.sources = settings.call_source_map

    def register(self, app: web.Application) -> None:
        if self.settings.zadarma_secret:
            app.router.add_get(ZADARMA_PATH, self.on_zadarma_echo)
            app.router.add_post(ZADARMA_PATH, self.on_zadarma)
        if self.settings.mango_api_key and self.settings.mango_api_salt:
            app.router.add_post(MANGO_PATH, self.on_mango)
        if self.settings.uis_token:
            app.router.add_post(UIS_PATH, self.on_uis)

    # --- Zadarma ---------------------------------------------------------------------------

    async def on_zadarma_echo(self, request: web.Request) -> web.Response:
        echo = request.query.get("zd_echo")
        if echo is None:
            return web.Response(status=400, text="zd_echo is missing")
        return web.Response(text=echo)

    async def on_zadarma(self, request: web.Request) -> web.Response:
        if "zd_echo" in request.query:
            return web.Response(text=request.query["zd_echo"])
        fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if fields.get("event") != ZADARMA_MISSED_EVENT:
            return web.Response(text="ignored")  # other events are not about missed calls
        expected = zadarma_signature(self.settings.zadarma_secret, fields)
        if not same_secret(expected, request.headers.get("Signature")):
            return _refuse(401, "bad signature", "zadarma")
        if fields.get("disposition") == "answered":
            return web.Response(text="answered")
        call_id = fields.get("pbx_call_id", "").strip()
        if not call_id:
            return _refuse(400, "pbx_call_id is missing", "zadarma")
        return await self._missed(
            "zadarma", call_id, fields.get("caller_id", ""), fields.get("called_did", "")
        )

    # --- Mango Office ----------------------------------------------------------------------

    async def on_mango(self, request: web.Request) -> web.Response:
        form = await request.post()
        key, sign, body = (str(form.get(n, "")) for n in ("vpbx_api_key", "sign", "json"))
        s = self.settings
        expected = mango_sign(s.mango_api_key, body, s.mango_api_salt)
        if not (same_secret(s.mango_api_key, key) and same_secret(expected, sign)):
            return _refuse(401, "bad vpbx_api_key or sign", "mango")
        if request.match_info["event"] != "summary":
            return web.Response(text="ignored")
        try:
            event = json.loads(body)
            inbound = event.get("call_direction") == MANGO_INBOUND
            missed = event.get("entry_result") == MANGO_NOT_CONNECTED
            call_id = str(event["entry_id"])
            caller = str((event.get("from") or {}).get("number", ""))
            to = event.get("to") or {}
            line = str(to.get("line_number") or to.get("number") or "")
        except (ValueError, KeyError, AttributeError, TypeError):
            return _refuse(400, "json is not a call summary", "mango")
        if not (inbound and missed):
            return web.Response(text="ignored")
        return await self._missed("mango", call_id, caller, line)

    # --- UIS / CoMagic ---------------------------------------------------------------------

    async def on_uis(self, request: web.Request) -> web.Response:
        """A lost-call notification: {"call_session_id", "contact_phone_number",
        "virtual_phone_number"} as JSON or a form, `?token=` the shared UIS_TOKEN."""
        if not same_secret(self.settings.uis_token, request.query.get("token")):
            return _refuse(401, "bad token", "uis")
        try:
            raw = await request.json() if request.content_type == "application/json" else None
        except ValueError:
            return _refuse(400, "the body is not JSON", "uis")
        fields = raw if raw is not None else dict(await request.post())
        if not isinstance(fields, dict):
            return _refuse(400, "the body is not an object", "uis")
        call_id, caller, line = (str(fields.get(name) or "").strip() for name in UIS_FIELDS)
        if not call_id:
            return _refuse(400, "call_session_id is missing", "uis")
        return await self._missed("uis", call_id, caller, line)

    # --- all -------------------------------------------------------------------------------

    async def _missed(self, provider: str, call_id: str, caller: str, line: str) -> web.Response:
        phone = caller_phone(caller)
        if phone is None:  # a hidden number: nobody to call back
            log.info("missed_call_no_number", extra={"provider": provider})
            return web.Response(text="no caller number")
        source = self.sources.get(re.sub(r"\D", "", line), "call")
        req = LeadRequest(
            kind="call", key=f"{provider}:{call_id}"[:128], phone=phone, source=source
        )
        await self.intake.take(req)
        return web.Response(text="ok")


def _refuse(status: int, reason: str, provider: str) -> web.Response:
    log.info("call_refused", extra={"provider": provider, "status": status, "reason": reason})
    return web.Response(status=status, text=reason)
