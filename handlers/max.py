"""MAX messenger adapter of the client bot (MAX Bot API, https://dev.max.ru/docs-api).

Updates arrive on a webhook (POST /max, the subscription's secret checked in the
X-Max-Bot-Api-Secret header on every call: a wrong or missing one is a 403) or, for
development, by long polling GET /updates. `bot_started` (with a deep-link payload),
`message_created` (text, a shared contact) and `message_callback` (an inline button)
become the same scenario inputs as Telegram's. Replies are POST /messages?user_id=…
with an inline keyboard: callback buttons, links, and «request_contact» for the phone.
Spoken directly over aiohttp: the Python libraries for MAX were young and could not be
pointed at a local server for tests (docs/channels.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import ssl
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from pydantic import ValidationError

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
    typed_command,
)
from handlers.webhook_models import MaxAttachment, MaxBody, MaxUpdate, MaxUser
from scenarios.types import Input, InputKind, Reply

if TYPE_CHECKING:  # adapters read rows; the ORM is the core's (bot/delivery/channel_store.py)
    from bot.models import Outbox

CHANNEL = "max"
PATH = "/max"
SECRET_HEADER = "X-Max-Bot-Api-Secret"
MAX_TEXT = 4000
_TEL = re.compile(r"TEL[^:\r\n]*:([^\r\n]+)", re.IGNORECASE)
log = logging.getLogger("priyom.max")


TRANSIENT_STATUS = {401, 408}  # the token (an operator replaces it), a request timeout


def verdict(status: int, reason: str) -> RetryLater | Undeliverable:
    """The one classification of MAX's errors: 429 waits, 5xx and the token are retried,
    any other 4xx (400 bad request, 403 blocked, 404 no such chat) is permanent: dead."""
    if status == 429:
        return RetryLater(1.0, reason)
    if status >= 500 or status in TRANSIENT_STATUS:
        return RetryLater(0, reason)
    return Undeliverable(reason)


UNTRUSTED = (
    "max: the server's certificate is not trusted; MAX uses the Russian Ministry of Digital "
    "Development's root CA: set MAX_CA_BUNDLE to its PEM file (docs/channels.md «MAX»)"
)


def ssl_context(ca_bundle: str) -> ssl.SSLContext | None:
    """The system's CAs plus the PEM file MAX_CA_BUNDLE names; None: the defaults."""
    if not ca_bundle:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_bundle)
    return context


class MaxApi:
    """The few Bot API methods the adapter uses; errors mapped to retry or give up."""

    def __init__(self, api_url: str, token: str, ca_bundle: str = "") -> None:
        self.url, self.token = api_url.rstrip("/"), token
        self._ssl = ssl_context(ca_bundle)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl) if self._ssl else None
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=40), connector=connector
            )
        return self._session

    async def call(
        self, method: str, path: str, params: dict[str, Any], body: dict | None = None
    ) -> dict:
        headers = {"Authorization": self.token}
        try:
            async with self._http().request(
                method, self.url + path, params=params, json=body, headers=headers
            ) as resp:
                data = await resp.json(content_type=None)
                status = resp.status
        except aiohttp.ClientConnectorCertificateError as exc:  # retried: the bundle can be added
            log.error("max_untrusted_certificate", extra={"error": exc})
            raise RetryLater(0, f"{UNTRUSTED}: {exc.certificate_error}") from exc
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RetryLater(0, f"max: {exc!r}") from exc
        if status < 300 and isinstance(data, dict):
            return data
        reason = f"max {status}: {data.get('message') if isinstance(data, dict) else data}"
        raise verdict(status, reason)

    async def send(self, user_id: str, body: dict) -> str:
        data = await self.call("POST", "/messages", {"user_id": user_id}, body)
        return str(((data.get("message") or {}).get("body") or {}).get("mid", ""))

    async def answer(self, callback_id: str, notification: str) -> None:
        await self.call(
            "POST", "/answers", {"callback_id": callback_id}, {"notification": notification}
        )

    async def updates(self, marker: int | None, timeout: int) -> tuple[list[dict], int | None]:
        params: dict[str, Any] = {"timeout": timeout}
        if marker is not None:
            params["marker"] = marker
        data = await self.call("GET", "/updates", params)
        return data.get("updates") or [], data.get("marker", marker)

    async def download(self, url: str) -> bytes:
        """A photo a client sent: MAX gives a signed URL; only https (or our own API's host
        in development) is fetched, and never with the bot token."""
        if not (url.startswith("https://") or url.startswith(self.url + "/")):
            raise Undeliverable(f"refused to fetch {url[:60]!r}: not an https URL")
        try:
            async with self._http().get(url) as resp:
                if resp.status >= 300:
                    raise verdict(resp.status, f"max file {resp.status}")
                return await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(0, f"max file: {exc!r}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def message_body(reply: Reply, t: Texts) -> dict:
    """A reply as NewMessageBody: the text and an inline keyboard (MAX allows 30 × 7)."""
    rows: list[list[dict]] = [
        [
            {"type": "link", "text": b.text, "url": b.url}
            if b.url
            else {"type": "callback", "text": b.text, "payload": b.action}
            for b in row
        ]
        for row in reply.buttons
    ]
    if reply.ask_contact:
        rows.append([{"type": "request_contact", "text": t("btn.share_phone")}])
    body: dict[str, Any] = {"text": reply.text[:MAX_TEXT]}
    if rows:
        body["attachments"] = [{"type": "inline_keyboard", "payload": {"buttons": rows}}]
    return body


def phone_of(attachments: Sequence[MaxAttachment]) -> str:
    for attachment in attachments:
        if attachment.type == "contact" and attachment.payload:
            match = _TEL.search(attachment.payload.vcf_info or "")
            if match:
                return match.group(1).strip()
    return ""


def stable_key(raw: object) -> str:
    """A dedup key for an update that carries no id of its own (bot_started, or a message
    without a mid): the same update redelivered hashes the same."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def read_update(raw: object) -> tuple[str, str, Input, str] | None:
    """(user id, delivery id, input, callback id) of an update the bot answers; else None.
    A malformed update raises pydantic's ValidationError."""
    update = MaxUpdate.model_validate(raw)
    if update.update_type == "bot_started" and update.user:
        inp = Input.command("start", update.payload or "")
        return str(update.user.user_id), stable_key(raw), inp, ""
    if update.update_type == "message_callback" and update.callback:
        callback = update.callback
        inp = Input(InputKind.BUTTON, callback.payload, name=callback.user.name)
        delivery = callback.callback_id or stable_key(raw)
        return str(callback.user.user_id), delivery, inp, callback.callback_id or ""
    if update.update_type == "message_created" and update.message and update.message.sender:
        sender, body = update.message.sender, update.message.body
        return str(sender.user_id), body.mid or stable_key(raw), _input(body, sender), ""
    return None


def _input(body: MaxBody, sender: MaxUser) -> Input:
    name = sender.name
    attachments = body.attachments
    text = (body.text or "").strip()
    phone = phone_of(attachments)
    if phone:
        return Input(InputKind.CONTACT, phone=phone, name=name)
    kind = attachments[0].type if attachments else ""
    payload = attachments[0].payload if attachments else None
    url = (payload.url or "") if kind == "image" and payload else ""
    if url:  # relayed to staff during a hand-off: read from MAX by its URL
        return Input(InputKind.MEDIA, "photo", text, name=name, file_id=f"photo:{url}")
    if command := typed_command(text, name):
        return command
    if text or not kind:
        return Input(InputKind.TEXT, text, name=name)
    return Input(InputKind.MEDIA, kind, name=name)


class Max(WebhookOrPolling):
    """The Channel port (bot/delivery/channel.py) for one MAX bot: webhook or long polling in,
    the Bot API out."""

    name = CHANNEL
    path = PATH
    media: frozenset[str] = frozenset()  # the two-step /uploads is not built: captions only

    def __init__(
        self,
        api: MaxApi,
        texts: Texts,
        clock: Clock,
        *,
        webhook_secret: str = "",
        dialogs: DialogService | None = None,
        polling: bool = False,
    ) -> None:
        self.api, self.texts, self.clock, self.dialogs = api, texts, clock, dialogs
        self.webhook_secret, self.polling = webhook_secret, polling
        self.store = ChannelStore(CHANNEL)

    async def on_webhook(self, request: web.Request) -> web.Response:
        if not same_secret(self.webhook_secret, request.headers.get(SECRET_HEADER)):
            log.warning("max_bad_secret", extra={"remote": request.remote})
            return web.Response(status=403, text="bad secret")
        try:
            update = read_json(await request.read())
        except NotJson:
            return web.Response(status=400, text="not a MAX update")
        except (ValueError, RecursionError) as exc:  # JSON too deep or a number too long
            log_malformed(CHANNEL, exc)
            return web.Response(text="ignored")
        await self.handle(update)
        return web.Response(text="ok")

    async def handle(self, update: object) -> None:
        """One update, its delivery id committed with the step; the replies go through the
        outbox, sent right after the commit (see handlers/whatsapp.py `_handle`). A
        malformed update is logged and dropped: MAX would redeliver it forever."""
        try:
            read = read_update(update)
        except ValidationError as exc:
            log_malformed(CHANNEL, exc)
            return
        if read is None or not read[0]:
            return
        user_id, delivery, inp, callback_id = read
        assert self.dialogs is not None, "a sender-only MAX adapter has no webhook"
        await self.dialogs.handle(CHANNEL, user_id, inp, receipt=delivery, sender=self)
        if callback_id:
            await self._answer(callback_id)

    async def _answer(self, callback_id: str) -> None:
        """Stop the button's spinner; the step is committed, so a failure here is only logged."""
        try:
            await self.api.answer(callback_id, "")
        except (RetryLater, Undeliverable) as exc:
            log.warning("max_answer_failed", extra={"error": exc})

    async def poll_forever(self, timeout: int = 30) -> None:
        """Long polling for development (MAX_MODE=polling); the webhook is for production."""
        marker: int | None = None
        while True:
            try:
                updates, marker = await self.api.updates(marker, timeout)
            except (RetryLater, Undeliverable) as exc:
                log.warning("max_poll_failed", extra={"error": exc})
                await asyncio.sleep(1)
                continue
            for update in updates:  # the marker moved on: one bad update must not lose the rest
                try:
                    await self.handle(update)
                except Exception:
                    log.exception("max_update_failed")

    async def send(self, row: Outbox, files: Files | None = None) -> int | None:
        """A queued message with its buttons, on the client's MAX chat (a manager's photo
        goes as its caption: the two-step upload is not built)."""
        mid = await self.api.send(row.chat_id, message_body(queued_reply(row.payload), self.texts))
        await self.store.sent_as(row, mid)
        return None


def max_channel(
    settings: Settings, texts: Texts, clock: Clock, dialogs: DialogService | None = None
) -> Max | None:
    """The MAX adapter when MAX_BOT_TOKEN is set (settings were checked at start)."""
    if not settings.max_bot_token:
        return None
    return Max(
        MaxApi(settings.max_api_url, settings.max_bot_token, settings.max_ca_bundle),
        texts,
        clock,
        webhook_secret=settings.max_webhook_secret,
        dialogs=dialogs,
        polling=settings.max_mode == "polling",
    )
