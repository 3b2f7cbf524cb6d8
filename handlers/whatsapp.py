"""WhatsApp Cloud API adapter of the client bot: the webhook in, the Graph API out.

GET /whatsapp answers Meta's verification handshake; every POST must carry
X-Hub-Signature-256 = sha256 HMAC of the raw body with the app secret, or it is refused
(403) before anything is read or stored. Messages become the same scenario inputs as
Telegram's; a message id seen before is skipped (Meta redelivers until it gets a 200).
Contacts are keyed on the WhatsApp id the webhook carries; the phone is asked as in any
channel, after consent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.clock import Clock
from bot.delivery.channel import Files, Routes
from bot.delivery.channel_store import ChannelStore
from bot.delivery.outbox import Undeliverable
from bot.delivery.step_outbox import REPLY_KIND
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.settings import Settings
from handlers.inbound import (
    NotJson,
    log_malformed,
    queued_reply,
    read_json,
    same_secret,
    typed_command,
)
from handlers.webhook_models import WaMessage, WaWebhook
from handlers.whatsapp_api import GraphClient
from handlers.whatsapp_render import render, template
from scenarios.types import Input, InputKind

if TYPE_CHECKING:  # adapters read rows; the ORM is the core's (bot/delivery/channel_store.py)
    from bot.models import Outbox

CHANNEL = "whatsapp"
WINDOW = dt.timedelta(hours=24)  # free-form messages only this long after the client wrote
PATH = "/whatsapp"
MAX_OPTION_DIGITS = 3  # numbered options a client may type back: at most 999
_START = re.compile(r"^src-[a-z0-9_-]+$", re.IGNORECASE)  # a click-to-chat ad's prefilled text
log = logging.getLogger("priyom.whatsapp")


def signature_ok(app_secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


@dataclass(frozen=True)
class Inbound:
    message_id: str
    user_id: str
    name: str
    kind: str  # text | button | media
    text: str = ""
    media_id: str = ""  # an image's id, to fetch from Graph when it is relayed to staff
    caption: str = ""


@dataclass(frozen=True)
class StatusUpdate:
    message_id: str
    user_id: str
    status: str
    error: str | None


def parse(payload: object) -> tuple[list[Inbound], list[StatusUpdate]]:
    """The messages and delivery statuses of one webhook POST (ValidationError: malformed)."""
    hook = WaWebhook.model_validate(payload)
    messages: list[Inbound] = []
    statuses: list[StatusUpdate] = []
    for change in (change for entry in hook.entry for change in entry.changes):
        value = change.value
        names = {c.wa_id or c.user_id: c.profile.name if c.profile else "" for c in value.contacts}
        for m in value.messages:
            user = m.from_ or m.from_user_id
            messages.append(_inbound(m, user, names.get(user, "")))
        for s in value.statuses:
            error = (s.errors[0].title or s.errors[0].message) if s.errors else None
            statuses.append(StatusUpdate(s.id, s.recipient_id, s.status, error))
    return messages, statuses


def _inbound(m: WaMessage, user: str, name: str) -> Inbound:
    if m.type == "text":
        return Inbound(m.id, user, name, "text", m.text.body if m.text else "")
    if m.type == "interactive":
        picked = m.interactive and (m.interactive.button_reply or m.interactive.list_reply)
        return Inbound(m.id, user, name, "button", picked.id if picked else "")
    if m.type == "button":  # a template's quick reply
        return Inbound(m.id, user, name, "button", m.button.payload if m.button else "")
    media = m.media()
    media_id = media.id if m.type == "image" else ""
    return Inbound(m.id, user, name, "media", m.type, media_id, media.caption)


def to_input(message: Inbound, menu: Sequence[str], first: bool) -> Input:
    if message.kind == "button":
        return Input(InputKind.BUTTON, message.text, name=message.name)
    if message.kind == "media":
        file_id = f"photo:{message.media_id}" if message.media_id else ""
        kind = "photo" if message.media_id else message.text
        return Input(InputKind.MEDIA, kind, message.caption, name=message.name, file_id=file_id)
    text = message.text.strip()
    # A typed option number; a long string of digits is just text (int() has a limit).
    if text.isdecimal() and len(text) <= MAX_OPTION_DIGITS and 1 <= int(text) <= len(menu):
        return Input(InputKind.BUTTON, menu[int(text) - 1], name=message.name)
    if command := typed_command(text, message.name):
        return command
    if first and _START.match(text):
        return Input(InputKind.COMMAND, "start", text, name=message.name)
    return Input(InputKind.TEXT, text, name=message.name)


class WhatsApp:
    """The Channel port (bot/delivery/channel.py) for one WhatsApp business number: the webhook in,
    Graph out."""

    name = CHANNEL
    media = frozenset({"photo"})  # re-uploaded through Graph; a document goes as its caption

    def __init__(
        self,
        graph: GraphClient,
        texts: Texts,
        clock: Clock,
        *,
        app_secret: str,
        verify_token: str,
        reminder_template: str = "",
        template_lang: str = "ru",
        dialogs: DialogService | None = None,  # None: a sender only (an arq worker)
    ) -> None:
        self.graph, self.texts, self.clock, self.dialogs = graph, texts, clock, dialogs
        self.store = ChannelStore(CHANNEL)
        self.app_secret, self.verify_token = app_secret, verify_token
        self.reminder_template, self.template_lang = reminder_template, template_lang

    def mount(self, routes: Routes) -> None:
        routes.add_get(PATH, self.on_verify)
        routes.add_post(PATH, self.on_post)

    async def receive(self) -> None:
        """Meta calls the webhook: nothing to run."""

    async def download(self, file_id: str) -> bytes:
        return await self.graph.download(file_id)

    async def close(self) -> None:
        await self.graph.close()

    async def on_verify(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("hub.mode") == "subscribe" and same_secret(
            self.verify_token, q.get("hub.verify_token")
        ):
            return web.Response(text=q.get("hub.challenge", ""))
        return web.Response(status=403, text="verification failed")

    async def on_post(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not signature_ok(self.app_secret, body, request.headers.get("X-Hub-Signature-256")):
            log.warning("whatsapp_bad_signature", extra={"remote": request.remote})
            return web.Response(status=403, text="bad signature")
        try:
            messages, statuses = parse(read_json(body))
        except NotJson:
            return web.Response(status=400, text="not a WhatsApp webhook payload")
        except (ValueError, RecursionError) as exc:  # ValidationError is a ValueError
            return self._ignored(exc)
        for s in statuses:
            await self.store.record_status(
                s.message_id, s.user_id, s.status, s.error, self.clock.now()
            )
        for message in messages:
            await self._handle(message)
        return web.Response(text="ok")

    @staticmethod
    def _ignored(problem: Exception) -> web.Response:
        """A signed update we cannot read: acknowledged, so Meta stops redelivering it."""
        log_malformed(CHANNEL, problem)
        return web.Response(text="ignored")

    async def _handle(self, message: Inbound) -> None:
        """One message, its id committed with the step; the replies go through the outbox
        (written in the step's transaction, sent right after it; on a Graph error the
        timed delivery sends them), so a failure before the commit is redelivered by Meta
        and processed, and one after it loses nothing."""
        if not message.user_id:
            return
        # Only a typed «src-…» or a number needs more than the message: look up just then.
        typed = message.text.strip() if message.kind == "text" else ""
        first = bool(_START.match(typed)) and not await self.store.has_written(message.user_id)
        menu = await self.store.menu(message.user_id) if typed.isdecimal() else []
        inp = to_input(message, menu, first)
        assert self.dialogs is not None, "a sender-only WhatsApp has no webhook"
        await self.dialogs.handle(
            CHANNEL, message.user_id, inp, receipt=message.message_id, sender=self
        )

    # --- the outbox sender ---------------------------------------------------------------

    async def _media(self, payload: dict, files: Files | None) -> dict | None:
        """A manager's photo re-uploaded to WhatsApp, with its caption."""
        if not payload.get("photo") or files is None:
            return None
        _, data = await files.fetch(payload["photo"])
        media_id = await self.graph.upload(data, "image/jpeg", "photo.jpg")
        return {"type": "image", "image": {"id": media_id, "caption": payload["text"][:1024]}}

    async def send(self, row: Outbox, files: Files | None = None) -> int | None:
        """Send a queued message; outside the 24-hour window only a reminder template may go."""
        payload = row.payload
        reply = queued_reply(payload)
        actions = [b.action for line in reply.buttons for b in line if not b.url]
        # A step's reply is written the moment the client's message arrived.
        replied = row.kind == REPLY_KIND
        last = row.created_at if replied else await self.store.last_inbound(row.chat_id)
        if last is not None and self.clock.now() - last < WINDOW:
            body = await self._media(payload, files) or render(reply, self.texts).body
        elif row.kind == "reminder" and self.reminder_template:
            body = template(
                self.reminder_template, self.template_lang, payload.get("params") or [], actions
            )
        else:
            raise Undeliverable("outside WhatsApp's 24-hour window and no template for it")
        wamid = await self.graph.send(row.chat_id, body)
        await self.store.sent_as(row, wamid)
        if actions:
            await self.store.remember_menu(row.chat_id, actions, self.clock.now())
        return None


def whatsapp_channel(
    settings: Settings, texts: Texts, clock: Clock, dialogs: DialogService | None = None
) -> WhatsApp | None:
    """The WhatsApp adapter when WHATSAPP_TOKEN is set (settings were checked at start)."""
    if not settings.whatsapp_token:
        return None
    graph = GraphClient(
        settings.whatsapp_api_url, settings.whatsapp_phone_number_id, settings.whatsapp_token
    )
    return WhatsApp(
        graph,
        texts,
        clock,
        app_secret=settings.whatsapp_app_secret,
        verify_token=settings.whatsapp_verify_token,
        reminder_template=settings.whatsapp_reminder_template,
        template_lang=settings.whatsapp_template_lang,
        dialogs=dialogs,
    )
