"""A local Bitrix24 portal: inbound-webhook REST with the portal's limits enforced.

A leaky bucket (BUCKET requests draining RATE a second; over it: 503 QUERY_LIMIT_EXCEEDED),
`batch` of at most 50 commands with `$result[…]` references, `crm.item.*` for leads (1) and
contacts (3) with unknown fields silently ignored, `crm.lead.*` refused as deprecated,
`crm.duplicate.findbycomm`, `crm.timeline.comment.add`, `crm.status.list`; an outage switch,
a switch that loses the next answer after doing the work, and outbound events posted to the
product as the portal posts them (form-encoded, with auth[application_token]).
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

from tests.fakes.local_server import serving

TOKEN = "w3bh00ks3cr3t"
APP_TOKEN = "app-token-0123456789"
STAGES = ["NEW", "IN_PROCESS", "PROCESSED", "CONVERTED", "JUNK"]
KNOWN = {  # fields the portal stores per entity; anything else is dropped without a word
    1: {
        "title",
        "stageId",
        "sourceDescription",
        "originatorId",
        "originId",
        "comments",
        "contactIds",
        "utmSource",
        "utmMedium",
        "utmCampaign",
        "utmContent",
        "utmTerm",
    },
    3: {"name", "lastName", "secondName", "fm", "originatorId", "originId"},
}
REF = re.compile(r"\$result((?:\[[^\]]+\])+)")


def nest(pairs: list[tuple[str, str]]) -> dict:
    """a[b][0]=v pairs → nested dicts, digit-keyed ones as lists (PHP's parse_str)."""
    root: dict = {}
    for key, value in pairs:
        path = [key.split("[", 1)[0], *re.findall(r"\[([^\]]*)\]", key)]
        node = root
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


class FakeBitrix24:
    def __init__(self, rate: float = 2.0, bucket: int = 50, operating_limit: float = 480.0) -> None:
        self.rate, self.size = rate, bucket
        self.operating_limit = operating_limit  # seconds of a method's work per 10 minutes
        self.operating: dict[str, list[tuple[float, float]]] = {}  # method → (at, seconds)
        self.cost = 0.01  # seconds of work a call is counted as
        self.level, self.at = 0.0, time.monotonic()
        self.items: dict[int, dict[int, dict]] = {1: {}, 3: {}}
        self.comments: list[dict] = []
        self.phones: dict[str, set[int]] = {}  # digits → contact ids, as the portal indexes them
        self.journal: list[tuple[str, int, int]] = []  # (what, entity, id) in order of arrival
        self.next_id = 1
        self.down = False
        self.lose_next = 0  # answers to drop after doing the work
        self.lose_next_add = 0  # the same, for the next batch that creates something
        self.requests = self.refused = self.batches = 0
        self.url = ""

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/rest/1/{TOKEN}/"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/rest/{user}/{token}/{method}.json", self.on_call)

    async def __aenter__(self) -> FakeBitrix24:
        self._serving = serving(self.routes)
        self.url = await self._serving.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._serving.__aexit__(*exc)

    # --- the limits ---
    def _admit(self) -> bool:
        now = time.monotonic()
        self.level = max(0.0, self.level - (now - self.at) * self.rate)
        self.at = now
        if self.level + 1 > self.size:
            return False
        self.level += 1
        return True

    def _blocked(self, method: str) -> float | None:
        """When a method's work over the last 10 minutes passed the limit: its reset time."""
        now = time.time()
        spent = [(at, cost) for at, cost in self.operating.get(method, []) if at > now - 600]
        self.operating[method] = spent
        if sum(cost for _, cost in spent) <= self.operating_limit:
            return None
        return spent[0][0] + 600

    async def on_call(self, request: web.Request) -> web.Response:
        self.requests += 1
        if request.match_info["token"] != TOKEN:
            return web.json_response(
                {
                    "error": "INVALID_CREDENTIALS",
                    "error_description": "Invalid request credentials",
                },
                status=401,
            )
        if self.down:
            return web.json_response({"error": "INTERNAL_SERVER_ERROR"}, status=503)
        if not self._admit():
            self.refused += 1
            return web.json_response(
                {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
                status=503,
            )
        method = request.match_info["method"]
        blocked = self._blocked(method)
        if blocked is not None:
            return web.json_response(
                {
                    "error": "OPERATION_TIME_LIMIT",
                    "error_description": "Method is blocked due to operation time limit.",
                    "time": {"operating_reset_at": blocked},
                },
                status=503,
            )
        self.operating.setdefault(method, []).append((time.time(), self.cost))
        params = await request.json() if request.can_read_body else {}
        try:
            result = self.batch(params) if method == "batch" else self.run(method, params)
        except PortalError as exc:
            return web.json_response(
                {"error": exc.code, "error_description": str(exc)}, status=exc.status
            )
        creates = method == "batch" and "crm.item.add" in str(params.get("cmd"))
        if self.lose_next or (creates and self.lose_next_add):
            if creates and self.lose_next_add:
                self.lose_next_add -= 1
            else:
                self.lose_next -= 1
            return web.Response(status=504, text="Gateway Time-out")
        return web.json_response({"result": result, "time": {"operating": 0.01}})

    def batch(self, params: dict) -> dict:
        cmd = params.get("cmd") or {}
        if len(cmd) > 50:
            raise PortalError("ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded", 400)
        self.batches += 1
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for name, line in cmd.items():
            method, _, query = line.partition("?")
            pairs = [
                (k, self._resolve(v, results)) for k, v in parse_qsl(query, keep_blank_values=True)
            ]
            try:
                results[name] = self.run(method, nest(pairs))
            except PortalError as exc:
                errors[name] = {"error": exc.code, "error_description": str(exc)}
        return {"result": results, "result_error": errors, "result_total": [], "result_next": []}

    @staticmethod
    def _resolve(value: str, results: dict) -> str:
        def one(match: re.Match) -> str:
            node: Any = results
            for key in re.findall(r"\[([^\]]+)\]", match.group(1)):
                node = node[key] if isinstance(node, dict) else node[int(key)]
            return str(node)

        return REF.sub(one, value)

    # --- the methods ---
    def run(self, method: str, params: dict) -> Any:
        if method.startswith("crm.lead."):
            raise PortalError(
                "ERROR_METHOD_DEPRECATED", f"{method} is deprecated: use crm.item.*", 400
            )
        entity = int(params.get("entityTypeId") or 0)
        match method:
            case "crm.item.add":
                return {"item": self._add(entity, params.get("fields") or {})}
            case "crm.item.update":
                return {"item": self._update(entity, int(params["id"]), params.get("fields") or {})}
            case "crm.item.get":
                return {"item": self._get(entity, int(params["id"]))}
            case "crm.item.delete":
                self._get(entity, int(params["id"]))
                del self.items[entity][int(params["id"])]
                self.journal.append(("delete", entity, int(params["id"])))
                return []
            case "crm.item.list":
                wanted = params.get("filter") or {}
                items = [
                    i
                    for i in self.items[entity].values()
                    if all(str(i.get(k)) == str(v) for k, v in wanted.items())
                ]
                return {"items": items[:50]}
            case "crm.duplicate.findbycomm":
                values = {re.sub(r"\D", "", v) for v in params.get("values") or []}
                found = {i for v in values for i in self.phones.get(v, ()) if self._has_phone(i, v)}
                ids = sorted(found)
                return {"CONTACT": ids} if ids else []
            case "crm.timeline.comment.add":
                fields = params.get("fields") or {}
                lead = int(fields["ENTITY_ID"])
                self._get(1, lead)
                self.comments.append({"lead": lead, "text": fields.get("COMMENT", "")})
                self.journal.append(("comment", 1, lead))
                return len(self.comments)
            case "crm.status.list":
                return [{"ENTITY_ID": "STATUS", "STATUS_ID": s, "NAME": s} for s in STAGES]
        raise PortalError("ERROR_METHOD_NOT_FOUND", f"Method not found: {method}", 404)

    def _add(self, entity: int, fields: dict) -> dict:
        if entity not in self.items:
            raise PortalError("NOT_FOUND", "unknown entityTypeId", 400)
        item = {k: v for k, v in fields.items() if k in KNOWN[entity]}
        item["id"] = self.next_id
        self.next_id += 1
        if entity == 1:
            item.setdefault("stageId", "NEW")
            item["contactIds"] = [int(c) for c in item.get("contactIds") or []]
        self.items[entity][item["id"]] = item
        self.journal.append(("add", entity, item["id"]))
        for field in item.get("fm") or [] if entity == 3 else []:
            self.phones.setdefault(re.sub(r"\D", "", field["value"]), set()).add(item["id"])
        return item

    def _has_phone(self, contact_id: int, digits: str) -> bool:
        """The phone index may be stale (a contact deleted or blanked since): check it."""
        contact = self.items[3].get(contact_id) or {}
        return any(re.sub(r"\D", "", f["value"]) == digits for f in contact.get("fm") or [])

    def _update(self, entity: int, item_id: int, fields: dict) -> dict:
        item = self._get(entity, item_id)
        item.update({k: v for k, v in fields.items() if k in KNOWN[entity]})
        if fields.get("fm") == [] or fields.get("fm") == "":
            item["fm"] = []
        self.journal.append(("update", entity, item_id))
        return item

    def _get(self, entity: int, item_id: int) -> dict:
        item = self.items.get(entity, {}).get(item_id)
        if item is None:
            raise PortalError("NOT_FOUND", "Element not found", 400)
        return item

    # --- what a manager does in the portal ---
    def leads(self) -> list[dict]:
        return list(self.items[1].values())

    def lead_by_origin(self, lead_id: int) -> list[dict]:
        return [i for i in self.items[1].values() if i.get("originId") == str(lead_id)]

    async def set_stage(
        self, remote_id: int, stage: str, post_to: str, token: str = APP_TOKEN
    ) -> int:
        """A manager moves the lead; the portal posts ONCRMLEADUPDATE to the product."""
        self.items[1][remote_id]["stageId"] = stage
        return await self.post_event(post_to, remote_id, token)

    @staticmethod
    async def post_event(post_to: str, remote_id: int, token: str = APP_TOKEN) -> int:
        form = {
            "event": "ONCRMLEADUPDATE",
            "data[FIELDS][ID]": str(remote_id),
            "ts": str(int(time.time())),
            "auth[domain]": "example.bitrix24.ru",
            "auth[application_token]": token,
        }
        async with aiohttp.ClientSession() as session, session.post(post_to, data=form) as response:
            return response.status


class PortalError(Exception):
    def __init__(self, code: str, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.code, self.status = code, status
