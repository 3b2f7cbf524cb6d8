"""Website forms: Tilda's webhook, a generic endpoint any site can post to, and /forms/embed.js.

The adapter only checks the transport (key, honeypot, rate, size, origin, a valid phone) and
hands a `LeadRequest` to the core (bot/staffwork/intake.py). A refused request stores
nothing and gets a 4xx with the reason; a spam post (honeypot filled) is answered like a
success so the bot learns nothing, and stored nowhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict, deque
from pathlib import Path
from urllib.parse import parse_qsl

from aiohttp import web

from bot.clock import Clock
from bot.settings import Settings
from bot.staffwork.intake import Intake, LeadRequest
from handlers.inbound import same_secret
from scenarios.parsing import normalize_phone

log = logging.getLogger("priyom.forms")
TILDA_PATH, LEAD_PATH, EMBED_PATH = "/forms/tilda", "/forms/lead", "/forms/embed.js"
HONEYPOT = "website"  # a hidden field people leave empty and bots fill in
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
FIELD_NAMES = {  # our name → the names forms use for it (compared case-insensitively)
    "name": ("name", "имя", "fio"),
    "phone": ("phone", "телефон", "tel"),
    "service": ("service", "услуга"),
    "time": ("time", "preferred_time", "время"),
    "comment": ("comment", "комментарий", "message", "textarea"),
    "consent": ("consent", "agreement", "согласие"),
    "policy_version": ("policy_version",),
    "submission": ("submission_id",),
}
EMBED_JS = (Path(__file__).with_name("forms_embed.js")).read_text(encoding="utf-8")


class Refused(Exception):
    """A request we answer with `status` and a short reason, storing nothing."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class RateLimit:
    """At most `limit` posts per `window` seconds per address (per process: with several
    instances behind a balancer the effective limit is that times the instances)."""

    def __init__(self, clock: Clock, limit: int, window: int) -> None:
        self.clock, self.limit, self.window = clock, limit, window
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, address: str) -> bool:
        now = self.clock.now().timestamp()
        hits = self.hits[address]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        if len(self.hits) > 10_000:  # forget idle addresses so memory stays bounded
            for key in [k for k, v in self.hits.items() if not v]:
                del self.hits[key]
        return True


class Forms:
    def __init__(self, settings: Settings, intake: Intake, clock: Clock) -> None:
        self.settings, self.intake, self.clock = settings, intake, clock
        self.origins = settings.form_origins
        self.limit = RateLimit(clock, settings.forms_rate_per_ip, settings.forms_rate_window)

    def register(self, app: web.Application) -> None:
        """Tilda when its key is set; the generic endpoint and the script when enabled."""
        if self.settings.forms_tilda_api_key:
            app.router.add_post(TILDA_PATH, self.on_tilda)
        if self.settings.forms_enabled:
            app.router.add_post(LEAD_PATH, self.on_lead)
            app.router.add_route("OPTIONS", LEAD_PATH, self.on_preflight)
            app.router.add_get(EMBED_PATH, self.on_embed)

    # --- Tilda -----------------------------------------------------------------------------

    async def on_tilda(self, request: web.Request) -> web.Response:
        try:
            fields = await self._fields(request)
            if fields.get("test") == "test":  # Tilda's probe when the webhook is added
                return web.Response(text="test")
            given = (
                request.headers.get("X-Api-Key")
                or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                or fields.get("api_key")
            )
            if not same_secret(self.settings.forms_tilda_api_key, given):
                raise Refused(401, "wrong or missing API key")
            tranid = fields.get("tranid", "").strip()
            if not tranid:
                raise Refused(400, "tranid is missing")
            req = self._request(fields, key=f"tilda:{tranid}"[:128], source="tilda")
            await self.intake.take(req)
        except Refused as exc:
            return _refuse(exc, "tilda")
        return web.Response(text="ok")

    # --- the generic endpoint --------------------------------------------------------------

    async def on_lead(self, request: web.Request) -> web.Response:
        headers = self._cors(request)
        try:
            if headers is None:
                raise Refused(403, "origin not allowed")
            if not self.limit.allow(self._address(request)):
                raise Refused(429, "too many requests, try again later")
            fields = await self._fields(request)
            if fields.get(HONEYPOT):  # a bot filled the hidden field: pretend, store nothing
                log.info("form_spam")
                return web.json_response({"ok": True}, headers=headers)
            if not _pick(fields, "consent"):
                raise Refused(400, "consent is required")
            day = self.clock.now().date().isoformat()
            req = self._request(fields, key=_generic_key(fields, day), source="site")
            await self.intake.take(req)
        except Refused as exc:
            return _refuse(exc, "form", headers or {})
        return web.json_response({"ok": True}, headers=headers)

    async def on_preflight(self, request: web.Request) -> web.Response:
        headers = self._cors(request)
        if headers is None or "Origin" not in request.headers:
            return web.Response(status=403, text="origin not allowed")
        headers |= {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        }
        return web.Response(status=204, headers=headers)

    async def on_embed(self, request: web.Request) -> web.Response:
        return web.Response(
            text=EMBED_JS,
            content_type="application/javascript",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    # --- helpers ---------------------------------------------------------------------------

    def _cors(self, request: web.Request) -> dict[str, str] | None:
        """CORS headers for an allowed origin, {} without an Origin (a server's post),
        None for an origin that is not configured."""
        origin = request.headers.get("Origin")
        if origin is None:
            return {}
        if origin.rstrip("/") not in self.origins:
            return None
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    def _address(self, request: web.Request) -> str:
        header = self.settings.forms_client_ip_header
        if header and request.headers.get(header):
            return request.headers[header].split(",")[-1].strip()
        return request.remote or "?"

    async def _fields(self, request: web.Request) -> dict[str, str]:
        """The body as flat string fields (JSON object, urlencoded or multipart), size-capped."""
        limit = self.settings.forms_max_body_bytes
        if (request.content_length or 0) > limit:
            raise Refused(413, f"body larger than {limit} bytes")
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            data = await request.post()
            return {k: v for k, v in data.items() if isinstance(v, str)}
        raw = await request.content.read(limit + 1)
        if len(raw) > limit:
            raise Refused(413, f"body larger than {limit} bytes")
        text = raw.decode("utf-8", errors="replace")
        if ctype == "application/json":
            try:
                body = json.loads(text)
            except json.JSONDecodeError:
                raise Refused(400, "body is not valid JSON") from None
            if not isinstance(body, dict):
                raise Refused(400, "JSON body must be an object")
            return {str(k): str(v) for k, v in body.items() if isinstance(v, str | int | float)}
        return dict(parse_qsl(text, keep_blank_values=True))

    def _request(self, fields: dict[str, str], *, key: str, source: str) -> LeadRequest:
        phone = normalize_phone(_pick(fields, "phone") or "")
        if phone is None:
            raise Refused(400, "phone is missing or not a valid number")
        utm = {k: fields[k][:64] for k in UTM_FIELDS if fields.get(k)}
        return LeadRequest(
            kind="form",
            key=key,
            phone=phone,
            name=_pick(fields, "name"),
            service=_pick(fields, "service"),
            preferred_time=_pick(fields, "time"),
            comment=_pick(fields, "comment"),
            source=(utm.get("utm_source") or source).lower(),
            campaign=utm.get("utm_campaign"),
            consent_text=_pick(fields, "consent"),
            policy_version=_pick(fields, "policy_version") or self.settings.forms_policy_version,
            utm=utm,
        )


def _pick(fields: dict[str, str], name: str) -> str | None:
    lowered = {k.lower(): v for k, v in fields.items()}
    for alias in FIELD_NAMES[name]:
        value = (lowered.get(alias) or "").strip()
        if value:
            return value[:500]
    return None


def _generic_key(fields: dict[str, str], day: str) -> str:
    """The script's submission id when sent (a retried post keeps it), else the content:
    the same form posted twice in a day is one lead."""
    parts = [day] + [
        _pick(fields, n) or "" for n in ("submission", "phone", "name", "service", "time")
    ]
    parts.append(_pick(fields, "comment") or "")
    return "web:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _refuse(exc: Refused, where: str, headers: dict[str, str] | None = None) -> web.Response:
    log.info("intake_refused", extra={"intake": where, "status": exc.status, "reason": str(exc)})
    return web.json_response(
        {"ok": False, "error": str(exc)}, status=exc.status, headers=headers or {}
    )
