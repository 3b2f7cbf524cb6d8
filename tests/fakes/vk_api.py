"""A local VK API and a Callback API sender that behave as VK does where it matters:
every method wants the token and `v`; `messages.send` needs a `random_id` and shows a
message once per (peer, random_id); inline keyboards beyond VK's limits are refused with
error 911; more than `per_second` calls in a second get error 6; Bots Long Poll holds the
request and answers `failed` when told to; the Callback API sender retries an event until
it is answered `ok`."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.local_server import RecordingApi

TOKEN = "vk-test-token"
GROUP_ID = 218000111
ROWS, ROW_BUTTONS, BUTTONS, LABEL, PAYLOAD = 6, 5, 10, 40, 255  # dev.vk.com inline limits


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"error": {"error_code": code, "error_msg": message}})


def keyboard_problem(keyboard: dict) -> str | None:
    """Why VK would refuse this inline keyboard (None: it is fine)."""
    rows = keyboard.get("buttons") or []
    if not keyboard.get("inline"):
        return "the bot's replies use inline keyboards"
    if len(rows) > ROWS or any(len(row) > ROW_BUTTONS for row in rows):
        return "too many rows or buttons in a row"
    if sum(len(row) for row in rows) > BUTTONS:
        return "too many buttons"
    for action in (button["action"] for row in rows for button in row):
        if not action.get("label") or len(action["label"]) > LABEL:
            return "label too long"
        if len((action.get("payload") or "").encode()) > PAYLOAD:
            return "payload too long"
    return None


class FakeVkApi(RecordingApi):
    def __init__(self, per_second: int = 20) -> None:
        super().__init__()
        self.per_second = per_second
        self.sent: list[tuple[str, dict[str, Any]]] = []  # (peer id, {"text", "keyboard"})
        self.answered: list[str] = []  # message_event ids answered
        self.calls: list[str] = []  # every method called, in order
        self._random_ids: dict[tuple[str, str], int] = {}
        self._recent: list[float] = []  # when the calls of the last second came
        self._updates: list[dict] = []
        self._fail: list[int] = []  # `failed` codes the next long polls answer
        self._ts = 1
        self._key = "lp-key-1"
        self._ids = itertools.count(1)
        self._files: dict[str, bytes] = {}

    def to(self, peer_id: str) -> list[dict[str, Any]]:
        return [body for peer, body in self.sent if peer == peer_id]

    def queue_update(self, update: dict) -> None:
        self._updates.append(update)

    def fail_next_poll(self, code: int) -> None:
        self._fail.append(code)

    def file_url(self, data: bytes) -> str:
        name = f"photo{next(self._ids)}.jpg"
        self._files[name] = data
        return f"{self.url}/files/{name}"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/method/{name}", self._method)
        app.router.add_get("/lp", self._long_poll)
        app.router.add_get("/files/{name}", self._file)

    async def _file(self, request: web.Request) -> web.Response:
        return web.Response(body=self._files[request.match_info["name"]], content_type="image/jpeg")

    def _over_limit(self) -> bool:
        """More than `per_second` calls within any one second (a sliding window)."""
        now = asyncio.get_running_loop().time()
        self._recent = [t for t in self._recent if now - t < 1.0] + [now]
        return len(self._recent) > self.per_second

    async def _method(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        name = request.match_info["name"]
        self.calls.append(name)
        if form.get("access_token") != TOKEN:
            return _error(5, "User authorization failed: invalid access_token")
        if not form.get("v"):
            return _error(8, "Invalid request: v is required")
        if self._over_limit():
            return _error(6, "Too many requests per second")
        if name == "messages.send":
            return await self._send(form)
        if name == "messages.sendMessageEventAnswer":
            self.answered.append(str(form.get("event_id")))
            return web.json_response({"response": 1})
        if name == "groups.getLongPollServer":
            server = {"key": self._key, "server": f"{self.url}/lp", "ts": str(self._ts)}
            return web.json_response({"response": server})
        return _error(3, "Unknown method passed")

    async def _send(self, form: dict) -> web.Response:
        peer, random_id = str(form.get("peer_id") or ""), str(form.get("random_id") or "")
        if not peer or not random_id or not form.get("message"):
            return _error(100, "One of the parameters specified was missing or invalid")
        keyboard = json.loads(str(form["keyboard"])) if form.get("keyboard") else None
        problem = keyboard and keyboard_problem(keyboard)
        if problem:
            return _error(911, f"Keyboard format is invalid: {problem}")
        if (peer, random_id) in self._random_ids:  # VK's idempotency: shown once
            return web.json_response({"response": self._random_ids[peer, random_id]})
        message_id = self._random_ids[peer, random_id] = next(self._ids)
        self.sent.append((peer, {"text": form["message"], "keyboard": keyboard}))
        await self.recorded()
        return web.json_response({"response": message_id})

    async def _long_poll(self, request: web.Request) -> web.Response:
        q = request.query
        if self._fail:
            code = self._fail.pop(0)
            if code == 2:
                self._key = f"lp-key-{next(self._ids)}"
            return web.json_response({"failed": code, "ts": str(self._ts)})
        if q.get("key") != self._key or q.get("act") != "a_check":
            return web.json_response({"failed": 2})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(float(q.get("wait", "25")), 1.0)
        while not self._updates and loop.time() < deadline:
            await asyncio.sleep(0.02)
        updates, self._updates = self._updates, []
        self._ts += len(updates)
        return web.json_response({"ts": str(self._ts), "updates": updates})


class CallbackSender:
    """VK's side of the Callback API: posts an event and retries until it reads `ok`."""

    def __init__(self, url: str, http: aiohttp.ClientSession, tries: int = 3) -> None:
        self.url, self.http, self.tries = url, http, tries
        self.attempts = 0

    async def post(self, event: dict) -> tuple[int, str]:
        async with self.http.post(self.url, data=json.dumps(event)) as resp:
            return resp.status, await resp.text()

    async def deliver(self, event: dict) -> tuple[int, str]:
        """The last answer after up to `tries` deliveries of the same event."""
        for _ in range(self.tries):
            self.attempts += 1
            status, text = await self.post(event)
            if status == 200 and text == "ok":
                break
        return status, text


def callback_buttons(body: dict) -> list[dict]:
    """Every callback button of a message's keyboard, row by row."""
    rows = (body.get("keyboard") or {}).get("buttons") or []
    return [b["action"] for row in rows for b in row if b["action"]["type"] == "callback"]
