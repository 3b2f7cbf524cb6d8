"""A local WhatsApp Cloud API (Graph) server: the messages endpoint, as the adapter uses it.

It checks what Meta checks that the tests rely on (the bearer token, `messaging_product`,
the interactive limits: ≤ 3 reply buttons with titles ≤ 20, ≤ 10 list rows with titles
≤ 24, bodies ≤ 1024), answers with a wamid, and can be told to fail the next calls the way
Graph does (throttling code 130429, a 500, the 24-hour window's 131047).
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from aiohttp import web

from tests.fakes.local_server import RecordingApi

VERSION = "v21.0"
PHONE_ID = "1234567890"
TOKEN = "wa-test-token"


class FakeGraphApi(RecordingApi):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []  # accepted messages, in order
        self.media: dict[str, tuple[str, bytes]] = {}  # uploaded files: id → (type, bytes)
        self._failures: deque[tuple[int, int]] = deque()
        self._ids = itertools.count(1)

    def fail_next(self, status: int, code: int) -> None:
        self._failures.append((status, code))

    @property
    def base_url(self) -> str:
        return f"{self.url}/{VERSION}"

    def to(self, wa_id: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["to"] == wa_id]

    def routes(self, app: web.Application) -> None:
        app.router.add_post(f"/{VERSION}/{{phone_id}}/messages", self._messages)
        app.router.add_post(f"/{VERSION}/{{phone_id}}/media", self._upload)
        app.router.add_get(f"/{VERSION}/{{media_id}}", self._media_url)
        app.router.add_get("/files/{media_id}", self._media_bytes)

    async def _messages(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, 190, "Invalid OAuth access token")
        if request.match_info["phone_id"] != PHONE_ID:
            return _error(400, 100, "Unsupported post request")
        body = await request.json()
        if self._failures:
            status, code = self._failures.popleft()
            return _error(status, code, "scripted failure")
        problem = _invalid(body)
        if problem:
            return _error(400, 131009, problem)
        self.sent.append(body)
        await self.recorded()
        wamid = f"wamid.fake{next(self._ids)}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid}],
            }
        )

    def client_sent(self, data: bytes, mime: str = "image/jpeg") -> str:
        """A file a client sent in WhatsApp: its media id, as a webhook would carry it."""
        media_id = f"media.client{next(self._ids)}"
        self.media[media_id] = (mime, data)
        return media_id

    async def _media_url(self, request: web.Request) -> web.Response:
        media_id = request.match_info["media_id"]
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, 190, "Invalid OAuth access token")
        if media_id not in self.media:
            return _error(404, 100, "Unsupported get request")
        mime = self.media[media_id][0]
        return web.json_response({"url": f"{self.url}/files/{media_id}", "mime_type": mime})

    async def _media_bytes(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(status=401)
        mime, data = self.media[request.match_info["media_id"]]
        return web.Response(body=data, content_type=mime)

    async def _upload(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, 190, "Invalid OAuth access token")
        form = await request.post()
        file = form.get("file")
        if form.get("messaging_product") != "whatsapp" or not hasattr(file, "file"):
            return _error(400, 100, "messaging_product and file are required")
        media_id = f"media.fake{next(self._ids)}"
        self.media[media_id] = (str(form.get("type")), file.file.read())
        return web.json_response({"id": media_id})


def _invalid(body: dict) -> str | None:
    if body.get("messaging_product") != "whatsapp" or not body.get("to"):
        return "messaging_product and to are required"
    if body.get("type") in ("image", "document") and not body[body["type"]].get("id"):
        return "media needs an uploaded id"
    if body.get("type") != "interactive":
        return None
    interactive = body["interactive"]
    if len(interactive["body"]["text"]) > 1024:
        return "body too long"
    action = interactive["action"]
    if interactive["type"] == "button":
        buttons = action["buttons"]
        if len(buttons) > 3 or any(len(b["reply"]["title"]) > 20 for b in buttons):
            return "at most 3 buttons, titles up to 20 characters"
    if interactive["type"] == "list":
        rows = [r for s in action["sections"] for r in s["rows"]]
        if len(rows) > 10 or any(len(r["title"]) > 24 for r in rows):
            return "at most 10 rows, titles up to 24 characters"
        if len(action["button"]) > 20:
            return "list button up to 20 characters"
    return None


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "OAuthException", "code": code}}, status=status
    )


def options(message: dict) -> list[tuple[str, str]]:
    """(title, id) of every option an interactive message offers."""
    interactive = message.get("interactive")
    if not interactive:
        return []
    action = interactive["action"]
    if interactive["type"] == "button":
        return [(b["reply"]["title"], b["reply"]["id"]) for b in action["buttons"]]
    return [(r["title"], r["id"]) for s in action["sections"] for r in s["rows"]]


def text_of(message: dict) -> str:
    if message["type"] == "text":
        return message["text"]["body"]
    if message["type"] == "interactive":
        return message["interactive"]["body"]["text"]
    return ""
