"""VK community messages as a client channel: Callback API in, messages.send out.

POST /vk receives VK's Callback API: `confirmation` is answered with VK_CONFIRMATION (for
our VK_GROUP_ID only); every other event must carry VK_SECRET (compared in constant time)
or it is refused with 403 before anything is stored; an event is answered `ok` once its
step is committed (VK retries until it gets `ok`, and `event_id` is the step's receipt, so
a retry changes nothing). Bots Long Poll is the development mode (VK_MODE=polling).
`message_new` (text, a `vk.me` link's ref) and `message_event` (a callback button) become
the scenario's inputs; replies are callback keyboards within VK's inline limits, degraded
to a numbered list beyond them (a typed number maps back through the chat's menu). VK has
no contact-sharing button: the phone is typed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.clock import Clock
from bot.delivery.channel import Files
from bot.delivery.channel_store import ChannelStore
from bot.delivery.outbox import RetryLater, Undeliverable
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.settings import Settings
from handlers.inbound import (
    NotJson,
    WebhookOrPolling,
    log_malformed,
    queued_reply,
    read_json,
    same_secret,
)
from handlers.vk_api import LONG_POLL_WAIT, VkApi
from scenarios.deeplink import parse_start_payload, start_payload
from scenarios.types import Button, Input, InputKind, Reply

if TYPE_CHECKING:  # adapters read rows; the ORM is the core's (bot/delivery/channel_store.py)
    from bot.models import Outbox

CHANNEL = "vk"
PATH = "/vk"
MAX_TEXT = 4096
# Inline keyboards (dev.vk.com «Клавиатуры для ботов»): 6 rows of up to 5, 10 buttons in all.
MAX_ROWS, MAX_ROW_BUTTONS, MAX_BUTTONS = 6, 5, 10
MAX_LABEL, MAX_PAYLOAD_BYTES = 40, 255
MAX_OPTION_DIGITS = 3
FIRST_CHAT_PEER = 2_000_000_000  # peer ids from here on are group chats: not answered
log = logging.getLogger("priyom.vk")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class VkSize(_Model):
    url: str = ""
    width: int = 0


class VkPhoto(_Model):
    sizes: list[VkSize] = []


class VkAttachment(_Model):
    type: str = "media"
    photo: VkPhoto | None = None


class VkMessage(_Model):
    from_id: int
    peer_id: int
    text: str = ""
    payload: str | None = None  # a text button's JSON (VK's «Начать»: {"command":"start"})
    ref: str | None = None  # a vk.me/<group>?ref=… link's parameters, first message only
    ref_source: str | None = None
    attachments: list[VkAttachment] = []


class VkNewMessage(_Model):
    message: VkMessage


class VkButtonEvent(_Model):
    user_id: int
    peer_id: int
    event_id: str
    payload: dict | None = None


class VkEvent(_Model):
    type: str
    event_id: str | None = None
    object: dict = {}


# --- inbound ---------------------------------------------------------------------------


def ref_payload(message: VkMessage) -> str | None:
    """A vk.me link's ref as a /start payload: `src-…_cmp-…` as in Telegram, or the plain
    `ref=<source>&ref_source=<campaign>`; None when the message came from no link."""
    if not message.ref:
        return None
    source, campaign = parse_start_payload(message.ref)
    if source is None:
        source, campaign = message.ref.lower(), (message.ref_source or "").lower() or None
    try:
        return start_payload(source, campaign)
    except ValueError:  # not a source we can store: the dialogue starts without one
        return ""


def _button_payload(message: VkMessage) -> dict:
    try:
        data = json.loads(message.payload or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def message_input(message: VkMessage, menu: Sequence[str]) -> Input:
    ref = ref_payload(message)
    if ref is not None or _button_payload(message).get("command") == "start":
        return Input.command("start", ref or "")
    text = message.text.strip()
    photo = next((a.photo for a in message.attachments if a.type == "photo" and a.photo), None)
    if photo and photo.sizes:  # relayed to staff during a hand-off: read by its URL
        url = max(photo.sizes, key=lambda s: s.width).url
        return Input(InputKind.MEDIA, "photo", text, file_id=f"photo:{url}")
    if text.isdecimal() and len(text) <= MAX_OPTION_DIGITS and 1 <= int(text) <= len(menu):
        return Input(InputKind.BUTTON, menu[int(text) - 1])
    if text.startswith("/"):
        head, _, arg = text[1:].partition(" ")
        return Input(InputKind.COMMAND, head.lower(), arg.strip())
    if text or not message.attachments:
        return Input(InputKind.TEXT, text)
    return Input(InputKind.MEDIA, message.attachments[0].type)


# --- outbound --------------------------------------------------------------------------


def _callback(button: Button) -> dict:
    payload = json.dumps({"a": button.action}, ensure_ascii=False, separators=(",", ":"))
    return {"action": {"type": "callback", "label": button.text[:MAX_LABEL], "payload": payload}}


def _link(button: Button) -> dict:
    return {"action": {"type": "open_link", "link": button.url, "label": button.text[:MAX_LABEL]}}


def fits(rows: Sequence[Sequence[Button]]) -> bool:
    """Within VK's inline keyboard limits (rows, buttons per row and in all, payload size)."""
    return (
        len(rows) <= MAX_ROWS
        and all(len(row) <= MAX_ROW_BUTTONS for row in rows)
        and sum(len(row) for row in rows) <= MAX_BUTTONS
        and all(
            len(_callback(b)["action"]["payload"].encode()) <= MAX_PAYLOAD_BYTES
            for row in rows
            for b in row
            if not b.url
        )
    )


def render(reply: Reply, t: Texts) -> tuple[str, dict | None, tuple[str, ...]]:
    """(text, inline keyboard or None, the options a typed number picks when numbered)."""
    rows = [row for row in reply.buttons if row]
    lines = [reply.text]
    if reply.ask_contact:
        lines.append(t("vk.type_phone"))
    if not rows:
        return "\n".join(lines)[:MAX_TEXT], None, ()
    if fits(rows):
        keyboard = {
            "inline": True,
            "buttons": [[_link(b) if b.url else _callback(b) for b in row] for row in rows],
        }
        return "\n".join(lines)[:MAX_TEXT], keyboard, ()
    options = [b for row in rows for b in row if not b.url]
    lines.append("")
    lines += [f"{n}. {b.text}" for n, b in enumerate(options, start=1)]
    lines += [f"{b.text}: {b.url}" for row in rows for b in row if b.url]
    if options:
        lines.append(t("vk.type_number"))
    return "\n".join(lines)[:MAX_TEXT], None, tuple(b.action for b in options)


def random_id(row: Outbox) -> int:
    """The outbox row's id: the same on every retry, so VK shows a retried send once."""
    return row.id


class Vk(WebhookOrPolling):
    """The Channel port (bot/delivery/channel.py) for one VK community: the Callback API
    or Bots Long Poll in, messages.send out."""

    name = CHANNEL
    path = PATH
    media: frozenset[str] = frozenset()  # photo upload (photos.getMessagesUploadServer) not built

    def __init__(
        self,
        api: VkApi,
        texts: Texts,
        clock: Clock,
        *,
        secret: str = "",
        confirmation: str = "",
        dialogs: DialogService | None = None,
        polling: bool = False,
    ) -> None:
        self.api, self.texts, self.clock, self.dialogs = api, texts, clock, dialogs
        self.secret, self.confirmation, self.polling = secret, confirmation, polling
        self.store = ChannelStore(CHANNEL)

    async def on_webhook(self, request: web.Request) -> web.Response:
        try:
            event = read_json(await request.read())
        except NotJson:
            return web.Response(status=400, text="not a VK event")
        except (ValueError, RecursionError):
            event = None
        if not isinstance(event, dict):
            log.warning("vk_bad_secret", extra={"remote": request.remote})
            return web.Response(status=403, text="bad secret")
        if event.get("type") == "confirmation":
            if event.get("group_id") == self.api.group_id:
                return web.Response(text=self.confirmation)
            return web.Response(status=403, text="unknown group")
        given = event.get("secret")
        if not same_secret(self.secret, given if isinstance(given, str) else None):
            log.warning("vk_bad_secret", extra={"remote": request.remote})
            return web.Response(status=403, text="bad secret")
        await self.handle(event)
        return web.Response(text="ok")

    async def handle(self, raw: object) -> None:
        """One event, its event_id committed with the step; the replies go through the
        outbox right after the commit. A malformed event is logged and dropped (answered
        `ok`): VK would otherwise retry it forever."""
        try:
            event = VkEvent.model_validate(raw)
            if event.type == "message_new":
                await self._message(event, VkNewMessage.model_validate(event.object).message)
            elif event.type == "message_event":
                await self._button(event, VkButtonEvent.model_validate(event.object))
        except ValidationError as exc:
            log_malformed(CHANNEL, exc)

    async def _message(self, event: VkEvent, message: VkMessage) -> None:
        if message.peer_id >= FIRST_CHAT_PEER or message.peer_id <= 0:
            return
        chat = str(message.peer_id)
        typed = message.text.strip()
        menu = await self.store.menu(chat) if typed.isdecimal() else []
        inp = message_input(message, menu)
        await self._step(chat, inp, event.event_id)

    async def _button(self, event: VkEvent, pressed: VkButtonEvent) -> None:
        action = (pressed.payload or {}).get("a")
        if isinstance(action, str) and 0 < pressed.peer_id < FIRST_CHAT_PEER:
            await self._step(str(pressed.peer_id), Input(InputKind.BUTTON, action), event.event_id)
        try:  # stop the button's spinner; the step is committed, so this is only logged
            await self.api.answer_event(pressed.event_id, pressed.user_id, pressed.peer_id)
        except (RetryLater, Undeliverable) as exc:
            log.warning("vk_answer_failed", extra={"error": exc})

    async def _step(self, chat: str, inp: Input, receipt: str | None) -> None:
        assert self.dialogs is not None, "a sender-only VK adapter has no webhook"
        await self.dialogs.handle(CHANNEL, chat, inp, receipt=receipt, sender=self)

    async def poll_forever(self, wait: int = LONG_POLL_WAIT) -> None:
        """Bots Long Poll for development: `failed` 1 → take the new ts; 2 → a new key;
        3 → a new key and ts (events in between are lost, as VK documents)."""
        server: dict = {}
        while True:
            try:
                if not server:
                    server = await self.api.long_poll_server()
                data = await self.api.long_poll(server["server"], server["key"], server["ts"], wait)
            except (RetryLater, Undeliverable, KeyError, TypeError) as exc:
                log.warning("vk_poll_failed", extra={"error": exc})
                server = {}
                await asyncio.sleep(1)
                continue
            failed = data.get("failed")
            if failed == 1:
                server["ts"] = data.get("ts", server["ts"])
                continue
            if failed in (2, 3):
                server = {}
                continue
            server["ts"] = data.get("ts", server["ts"])
            for update in data.get("updates") or []:  # one bad update must not lose the rest
                try:
                    await self.handle(update)
                except Exception:
                    log.exception("vk_update_failed")

    async def send(self, row: Outbox, files: Files | None = None) -> int | None:
        """The outbox sender: a queued message with its keyboard or numbered options (a
        manager's photo goes as its caption: the upload is not built)."""
        text, keyboard, numbered = render(queued_reply(row.payload), self.texts)
        message_id = await self.api.send(row.chat_id, random_id(row), text, keyboard)
        await self.store.sent_as(row, message_id or None)
        if numbered or keyboard is not None:  # buttons now: an older numbered list goes
            await self.store.remember_menu(row.chat_id, list(numbered), self.clock.now())
        return None


def vk_channel(
    settings: Settings, texts: Texts, clock: Clock, dialogs: DialogService | None = None
) -> Vk | None:
    """The VK adapter when VK_GROUP_TOKEN is set (settings were checked at start)."""
    if not settings.vk_group_token:
        return None
    api = VkApi(settings.vk_api_url, settings.vk_group_token, settings.vk_group_id)
    return Vk(
        api,
        texts,
        clock,
        secret=settings.vk_secret,
        confirmation=settings.vk_confirmation,
        dialogs=dialogs,
        polling=settings.vk_mode == "polling",
    )
