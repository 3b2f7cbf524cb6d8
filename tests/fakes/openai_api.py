"""A local OpenAI-compatible HTTP server for tests: the real `openai` SDK talks to it.

It implements POST /v1/chat/completions (and GET /v1/models). Each test scripts the answers
in order — a tool call, a slow answer, an HTTP error, a malformed body — and reads back
every request received (headers and JSON) to assert what was, and was not, sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class _Step:
    kind: str  # tool | status | raw | text
    payload: Any = None
    delay: float = 0.0


@dataclass
class Received:
    headers: dict[str, str]  # names in lower case
    body: dict[str, Any]

    @property
    def text(self) -> str:
        """Everything the model was shown, as one string (for "never sent" asserts)."""
        return json.dumps(self.body.get("messages", []), ensure_ascii=False)


@dataclass
class FakeOpenAI:
    host: str = "127.0.0.1"
    requests: list[Received] = field(default_factory=list)
    default: _Step | None = None  # answer when the script is empty (else a 500)
    usage: tuple[int, int] = (120, 30)
    _script: deque[_Step] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    _port: int | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # ----------------------------------------------------------------- script

    def tool(self, arguments: dict[str, Any] | str, name: str = "", delay: float = 0.0) -> None:
        """Answer with a call of the requested tool (or `name`) with these arguments."""
        self._script.append(_Step("tool", (name, arguments), delay))

    def status(self, code: int, delay: float = 0.0) -> None:
        self._script.append(_Step("status", code, delay))

    def raw(self, body: str, delay: float = 0.0) -> None:
        """A 200 whose body is this text (e.g. not JSON at all)."""
        self._script.append(_Step("raw", body, delay))

    def text(self, content: str) -> None:
        """A plain assistant message with no tool call."""
        self._script.append(_Step("text", content))

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._port}/v1"

    # ----------------------------------------------------------------- handlers

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(Received({k.lower(): v for k, v in request.headers.items()}, body))
        step = self._script.popleft() if self._script else self.default
        if step is None:
            return web.json_response({"error": {"message": "no scripted answer"}}, status=500)
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.kind == "status":
            return web.json_response({"error": {"message": "scripted"}}, status=step.payload)
        if step.kind == "raw":
            return web.Response(text=step.payload, content_type="application/json")
        message: dict[str, Any] = {"role": "assistant", "content": None}
        if step.kind == "text":
            message["content"] = step.payload
        else:
            name, arguments = step.payload
            name = name or body["tools"][0]["function"]["name"]
            args = arguments if isinstance(arguments, str) else json.dumps(arguments)
            message["tool_calls"] = [
                {
                    "id": f"call_{next(self._ids)}",
                    "type": "function",
                    "function": {"name": name, "arguments": args},
                }
            ]
        prompt, completion = self.usage
        return web.json_response(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if step.kind == "tool" else "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }
        )
