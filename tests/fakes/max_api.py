"""A local MAX Bot API server: POST /messages, POST /answers and GET /updates (long polling),
with the token checked in the Authorization header as MAX does."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiohttp import web

from tests.fakes.local_server import RecordingApi

TOKEN = "max-test-token"


class FakeMaxApi(RecordingApi):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, dict[str, Any]]] = []  # (user id, NewMessageBody)
        self.answered: list[str] = []  # callback ids
        self._updates: list[dict] = []
        self._marker = 0
        self._ids = itertools.count(1)
        self._files: dict[str, bytes] = {}

    @property
    def base_url(self) -> str:
        return self.url

    def file_url(self, data: bytes) -> str:
        """Where a photo a client sent can be read (MAX gives a URL in the attachment)."""
        name = f"photo{next(self._ids)}.jpg"
        self._files[name] = data
        return f"{self.url}/files/{name}"

    async def _file(self, request: web.Request) -> web.Response:
        if "Authorization" in request.headers:  # the bot token must not leak to file hosts
            return web.Response(status=400, text="unexpected Authorization")
        return web.Response(body=self._files[request.match_info["name"]], content_type="image/jpeg")

    def queue_update(self, update: dict) -> None:
        """An update for the next long-polling call."""
        self._updates.append(update)

    def to(self, user_id: str) -> list[dict[str, Any]]:
        return [body for uid, body in self.sent if uid == user_id]

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/messages", self._messages)
        app.router.add_post("/answers", self._answers)
        app.router.add_get("/updates", self._get_updates)
        app.router.add_get("/files/{name}", self._file)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == TOKEN

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "verify.token", "Invalid access_token")
        user_id = request.query.get("user_id")
        body = await request.json()
        if not user_id or not body.get("text"):
            return _error(400, "proto.payload", "user_id and text are required")
        self.sent.append((user_id, body))
        await self.recorded()
        mid = f"mid.fake{next(self._ids)}"
        return web.json_response(
            {"message": {"recipient": {"user_id": int(user_id)}, "body": {"mid": mid, **body}}}
        )

    async def _answers(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "verify.token", "Invalid access_token")
        self.answered.append(request.query.get("callback_id", ""))
        return web.json_response({"success": True})

    async def _get_updates(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, "verify.token", "Invalid access_token")
        timeout = float(request.query.get("timeout", "30"))
        deadline = asyncio.get_running_loop().time() + min(timeout, 1.0)
        while not self._updates and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        updates, self._updates = self._updates, []
        self._marker += len(updates)
        return web.json_response({"updates": updates, "marker": self._marker})


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def buttons(body: dict) -> list[dict]:
    """Every button of a message's inline keyboard, row by row."""
    for attachment in body.get("attachments") or []:
        if attachment["type"] == "inline_keyboard":
            return [b for row in attachment["payload"]["buttons"] for b in row]
    return []
