"""A local amoCRM (Kommo) account: API v4 with its limits and its rotating OAuth tokens.

At most RATE requests a second (more: 429); Bearer access tokens (401 without a valid one);
`POST /oauth2/access_token` spends a refresh token once and issues a new pair (the previous
access token stays valid until it expires); `leads/complex`, `PATCH leads`, notes and
`PATCH contacts` take at most 50 entities; `GET leads|contacts?query=` search; a pipeline
with its statuses; status webhooks posted to the product as amoCRM posts them (form-encoded).
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections import deque
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.local_server import serving

CLIENT_ID, CLIENT_SECRET = "amo-client-id", "amo-client-secret"
PIPELINE = 7001
STATUSES = {
    "new": 7101,
    "qualified": 7102,
    "confirmed": 7103,
    "came": 142,
    "no_show": 143,
    "lost": 143,
}
STAGE_MAP = ",".join(f"{k}={v}" for k, v in STATUSES.items())
LIFETIME = 86400
AUTH_CODE = "def50200-auth-code"


class FakeAmo:
    def __init__(self, rate: int = 7) -> None:
        self.rate = rate
        self.hits: deque[float] = deque()
        self.access: dict[str, float] = {}  # token → expires (time.time())
        self.refresh: set[str] = set()
        self.codes = {AUTH_CODE}  # authorisation codes, each good once
        self.leads: dict[int, dict] = {}
        self.contacts: dict[int, dict] = {}
        self.notes: list[dict] = []
        self.journal: list[tuple[str, int]] = []
        self.ids = itertools.count(1)
        self.requests = self.refused = self.grants = 0
        self.lose_next_grant = 0
        self.lose_next_complex = 0
        self.down = False
        self.url = ""

    def issue(self) -> dict:
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self.access[access] = time.time() + LIFETIME
        self.refresh.add(refresh)
        return {
            "token_type": "Bearer",
            "expires_in": LIFETIME,
            "access_token": access,
            "refresh_token": refresh,
        }

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/oauth2/access_token", self.on_grant)
        app.router.add_route("*", "/api/v4/{path:.*}", self.on_api)

    async def __aenter__(self) -> FakeAmo:
        self._serving = serving(self.routes)
        self.url = await self._serving.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._serving.__aexit__(*exc)

    def _admit(self) -> bool:
        now = time.monotonic()
        while self.hits and self.hits[0] <= now - 1:
            self.hits.popleft()
        if len(self.hits) >= self.rate:
            return False
        self.hits.append(now)
        return True

    async def on_grant(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.json()
        if (body.get("client_id"), body.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return web.json_response({"hint": "client"}, status=401)
        if (
            body.get("grant_type") != "refresh_token"
            or body.get("refresh_token") not in self.refresh
        ):
            return web.json_response({"hint": "Token has been revoked"}, status=400)
        self.refresh.discard(body["refresh_token"])  # single use
        self.grants += 1
        pair = self.issue()
        if self.lose_next_grant:
            self.lose_next_grant -= 1
            return web.Response(status=504)
        return web.json_response(pair)

    async def on_api(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.down:
            return web.Response(status=503)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.access.get(token, 0) < time.time():
            return web.json_response({"title": "Unauthorized"}, status=401)
        if not self._admit():
            self.refused += 1
            return web.json_response({"title": "Too Many Requests"}, status=429)
        body = await request.json() if request.can_read_body else None
        if isinstance(body, list) and len(body) > 50:
            return web.json_response({"title": "Bad Request", "detail": "max 50"}, status=400)
        path, method = request.match_info["path"], request.method
        result = self.handle(method, path, request.query, body)
        if self.lose_next_complex and path == "leads/complex":
            self.lose_next_complex -= 1
            return web.Response(status=504)  # done, but the answer never arrives
        if result is None:
            return web.Response(status=204)
        return web.json_response(result)

    def handle(self, method: str, path: str, query, body: Any) -> Any:
        if method == "GET" and path == f"leads/pipelines/{PIPELINE}":
            ids = sorted(set(STATUSES.values()))
            return {"id": PIPELINE, "_embedded": {"statuses": [{"id": i} for i in ids]}}
        if method == "POST" and path == "leads/complex":
            return [self._complex(lead) for lead in body]
        if method == "PATCH" and path == "leads":
            for change in body:
                self.leads[change["id"]].update(
                    {k: v for k, v in change.items() if k in ("status_id", "pipeline_id")}
                )
                self.journal.append(("status", change["id"]))
            return {"_embedded": {"leads": [{"id": c["id"]} for c in body]}}
        if method == "POST" and path == "leads/notes":
            for note in body:
                self.notes.append({"lead": note["entity_id"], "text": note["params"]["text"]})
                self.journal.append(("note", note["entity_id"]))
            return {"_embedded": {"notes": [{"id": n} for n in range(len(body))]}}
        if method == "PATCH" and path == "contacts":
            for change in body:
                contact = self.contacts[change["id"]]
                contact["first_name"] = change.get("first_name", contact["first_name"])
                for field in change.get("custom_fields_values") or []:
                    if field.get("field_code") == "PHONE" and field.get("values") is None:
                        contact["phones"] = []
            return {"_embedded": {"contacts": [{"id": c["id"]} for c in body]}}
        if method == "GET" and path in ("leads", "contacts"):
            return self._list(path, query)
        return {"title": "Not Found"}

    def _complex(self, lead: dict) -> dict:
        lead_id = next(self.ids)
        contact_id = None
        for contact in (lead.get("_embedded") or {}).get("contacts") or []:
            if "id" in contact:
                contact_id = contact["id"]
            else:
                contact_id = next(self.ids)
                phones = [
                    v["value"]
                    for f in contact.get("custom_fields_values") or []
                    if f["field_code"] == "PHONE"
                    for v in f["values"]
                ]
                self.contacts[contact_id] = {
                    "id": contact_id,
                    "first_name": contact.get("first_name"),
                    "phones": phones,
                }
        utm = {
            f["field_code"]: f["values"][0]["value"] for f in lead.get("custom_fields_values") or []
        }
        self.leads[lead_id] = {
            "id": lead_id, "name": lead.get("name"), "status_id": lead.get("status_id"),
            "pipeline_id": lead.get("pipeline_id"), "contact_id": contact_id, "utm": utm,
            "_embedded": {"contacts": [{"id": contact_id}] if contact_id else []},
        }  # fmt: skip
        self.journal.append(("add", lead_id))
        return {
            "id": lead_id,
            "contact_id": contact_id,
            "company_id": None,
            "request_id": [lead.get("request_id")],
            "merged": False,
        }

    def _list(self, entity: str, query) -> dict | None:
        items = self.leads if entity == "leads" else self.contacts
        if "query" in query:
            needle = query["query"]
            digits = re.sub(r"\D", "", needle)
            found = [
                i for i in items.values()
                if i.get("name") == needle
                or (digits and any(re.sub(r"\D", "", p) == digits for p in i.get("phones") or []))
            ]  # fmt: skip
        else:
            ids = {int(v) for v in query.getall("filter[id][]", [])}
            found = [i for i in items.values() if i["id"] in ids]
        return {"_embedded": {entity: found}} if found else None

    async def set_status(self, lead_id: int, status_id: int, post_to: str) -> int:
        """A manager moves the lead in the pipeline; amoCRM posts the status webhook."""
        self.leads[lead_id]["status_id"] = status_id
        return await self.post_event(post_to, lead_id, status_id)

    @staticmethod
    async def post_event(post_to: str, lead_id: int, status_id: int) -> int:
        form = {
            "leads[status][0][id]": str(lead_id),
            "leads[status][0][status_id]": str(status_id),
            "leads[status][0][pipeline_id]": str(PIPELINE),
            "account[subdomain]": "salon",
        }
        async with aiohttp.ClientSession() as session, session.post(post_to, data=form) as response:
            return response.status
