"""What the channels share: commands typed as text, a queued outbox payload read back as a
scenario reply; and for the webhook channels: secrets are compared in constant time, a
malformed update is logged once and acknowledged. (A message id is handled once however
often the platform delivers it: DialogService commits it with the step,
bot/delivery/step_outbox.py.)"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from bot.delivery.channel import Routes
from scenarios.types import Button, Input, InputKind, Reply

log = logging.getLogger("priyom.inbound")


def same_secret(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so the secret cannot be guessed byte by byte."""
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


class NotJson(Exception):
    """The body is not JSON at all: answered 400."""


def read_json(body: bytes) -> object:
    """The body's JSON. NotJson when it is not JSON; JSON we refuse to read (nested too
    deeply: RecursionError; a number past int's digit limit: ValueError) raises as is,
    to be logged and acknowledged like any malformed update."""
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NotJson from exc


def log_malformed(channel: str, problem: Exception) -> None:
    """One line for an update we acknowledge but cannot read: where and what kind of
    problem, never the body (it holds phone numbers and names)."""
    where = ""
    if isinstance(problem, ValidationError):
        first = problem.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) + ":" + first["type"]
    log.warning(
        "malformed_update",
        extra={"channel": channel, "problem": type(problem).__name__, "where": where},
    )


def queued_buttons(rows: Sequence[Sequence[Sequence[str]]]) -> tuple[tuple[Button, ...], ...]:
    """An outbox payload's buttons ([[text, action] or [text, "", url], …] rows) as a Reply's."""
    return tuple(tuple(Button(b[0], b[1], b[2] if len(b) > 2 else "") for b in r) for r in rows)


def queued_reply(payload: dict) -> Reply:
    """An outbox payload ({"text", "buttons", "ask_contact"}) as a Reply."""
    buttons = queued_buttons(payload.get("buttons") or [])
    return Reply(payload["text"], buttons, ask_contact=bool(payload.get("ask_contact")))


def typed_command(text: str, name: str = "") -> Input | None:
    """«/start src-…» typed in any channel as a command (a Telegram «@bot» suffix dropped);
    None for anything else."""
    if not text.startswith("/"):
        return None
    head, _, arg = text[1:].partition(" ")
    return Input(InputKind.COMMAND, head.split("@")[0].lower(), arg.strip(), name=name)


class WebhookOrPolling:
    """The receiving half of the port for a channel that takes a webhook in production and
    polls in development (MAX, VK), with one API client that also downloads files."""

    path: str
    api: Any
    dialogs: Any
    polling: bool

    def mount(self, routes: Routes) -> None:
        if not self.polling:
            routes.add_post(self.path, self.on_webhook)

    async def receive(self) -> None:
        if self.polling and self.dialogs is not None:
            await self.poll_forever()

    async def download(self, file_id: str) -> bytes:
        return await self.api.download(file_id)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.api.close()

    async def on_webhook(self, request: Any) -> Any:
        raise NotImplementedError

    async def poll_forever(self) -> None:
        raise NotImplementedError
