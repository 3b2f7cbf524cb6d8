"""A local fake of the Telegram Bot API for end-to-end tests.

The real aiogram ``Bot`` talks HTTP to it::

    async with FakeBotApi() as api:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
        bot = Bot("123456:TEST", session=session)

The fake serves any number of bots at once (one state per token): an update queue for
``getUpdates``, a record of every call, and the messages each bot has sent per chat
("what the user sees"). Tests push updates with the builders (``send_text``,
``press_button``...), then wait for the bot's reaction with ``wait_for_call`` /
``wait_for_message`` instead of sleeping.

Realism that catches real bugs: HTML ``parse_mode`` is parsed (tags stripped, entities
computed, unsupported or unbalanced tags give 400 "can't parse entities"), message length
and callback_data size limits, "message is not modified" on no-op edits, ``allowed_updates``
filtering, a callback query answered once (a second answer is a 400), blocked chats
(403), scripted 429/5xx failures, and outages that last until the
test ends them (``refuse_connections``; ``fail_all`` answers every call with a 500).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import mimetypes
import re
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from tests.fakes.webhook_delivery import (
    CONNECTION_FAILURES,
    Balancer,
    Failure,
    Redelivery,
    failed_reason,
    refused_connection,
    wait_event,
)

__all__ = [
    "Call",
    "FakeBotApi",
    "FakeUser",
    "FastCloseSession",
    "TelegramError",
    "UploadedFile",
]

# Parameters that are always plain strings, never JSON (a text "42" must stay "42").
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "title",
        "description",
        "short_description",
        "query",
        "url",
        "name",
        "first_name",
        "last_name",
        "phone_number",
        "address",
        "question",
        "explanation",
        "callback_query_id",
        "inline_message_id",
        "secret_token",
        "emoji",
        "custom_title",
        "invite_link",
        "payload",
        "provider_token",
        "currency",
        "start_parameter",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "vcard",
        "email",
        "file_id",
        "parse_mode",
        "caption_parse_mode",
        "sticker",
        "photo",
        "document",
        "voice",
        "audio",
        "video",
        "animation",
        "thumbnail",
    }
)

_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user who writes to the bot in a private chat (chat id == user id)."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "ru"
    last_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    field: str  # multipart field name (aiogram uses a random key referenced as attach://key)
    filename: str | None
    size: int
    content_type: str | None = None
    content: bytes = field(default=b"", repr=False)


@dataclass
class Call:
    """One HTTP call the bot made. ``params`` has JSON-string fields decoded.

    ``files`` maps the parameter that referenced the upload (``photo``, ``document``...)
    to the uploaded file; uploads referenced only from inside JSON keep their field name.
    ``status`` is the HTTP status the fake answered with (200 unless failed).
    """

    token: str
    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int = 200
    seq: int = 0
    at: float = 0.0
    in_webhook_response: bool = False  # carried by the bot's answer to a webhook POST

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


class FastCloseSession(AiohttpSession):
    """``AiohttpSession`` whose ``close()`` skips aiogram's 250 ms grace sleep (meant for
    SSL connections; the fake is plain HTTP), so test teardown stays fast."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class TelegramError(Exception):
    """Raised inside the fake to answer with a Telegram-shaped error."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            data["parameters"] = self.parameters
        return data


@dataclass
class _Failure:
    status: int | None
    description: str | None
    retry_after: int | None
    delay_seconds: float
    token: str | None


@dataclass
class _BotState:
    token: str
    bot_id: int
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    allowed_updates: frozenset[str] | None = None
    # setWebhook's url, secret_token and allowed_updates; None: getUpdates mode
    webhook: dict[str, Any] | None = None
    webhook_statuses: list[int] = field(default_factory=list)  # answers to our deliveries
    webhook_failures: list[Failure] = field(default_factory=list)  # attempts that failed
    # a load balancer in front of several instances: each chat's updates take turns
    balancer: Balancer = field(default_factory=Balancer)
    # chat_id -> messages the bot sent there, in order (edits update in place)
    messages: dict[int | str, list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # (chat_id, message_id) -> message the user sent (for copy/forward)
    user_messages: dict[tuple[Any, int], dict[str, Any]] = field(default_factory=dict)
    revisions: dict[tuple[Any, int], int] = field(default_factory=dict)
    next_message_id: dict[Any, int] = field(default_factory=lambda: defaultdict(lambda: 1))
    # chat_id -> the reply keyboard (ReplyKeyboardMarkup) currently shown there
    reply_keyboards: dict[Any, dict[str, Any]] = field(default_factory=dict)
    answered_queries: set[str] = field(default_factory=set)  # a callback query is answered once

    def user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": f"Bot {self.bot_id}",
            "username": f"bot{self.bot_id}",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def take_message_id(self, chat_id: Any) -> int:
        mid = self.next_message_id[chat_id]
        self.next_message_id[chat_id] = mid + 1
        return mid


def _update_type(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "unknown")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "span": "spoiler",
}


class _TelegramHTML(HTMLParser):
    """Parses Telegram's HTML subset into (plain text, entities) like the server does."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self._pos = 0
        self.stack: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            raise TelegramError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
            )
        if tag not in _HTML_TAGS:
            raise TelegramError(
                400,
                f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}" '
                f"at byte offset {self._pos}",
            )
        self.stack.append((tag, self._pos, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise TelegramError(
                400,
                f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                f'{self._pos}, expected "</{self.stack[-1][0] if self.stack else ""}>", '
                f'found "</{tag}>"',
            )
        _, start, attrs = self.stack.pop()
        length = self._pos - start
        if length <= 0:
            return
        entity: dict[str, Any] = {"type": _HTML_TAGS[tag], "offset": start, "length": length}
        if tag == "a":
            entity["url"] = attrs.get("href") or ""
        elif tag == "pre" and attrs.get("language"):
            entity["language"] = attrs["language"]
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id") or ""
        elif tag == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        self._pos += _utf16_len(data)

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        self.close()
        if self.stack:
            raise TelegramError(
                400,
                f"Bad Request: can't parse entities: Can't find end tag corresponding to "
                f'start tag "{self.stack[-1][0]}"',
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.text), self.entities


def _format_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None
) -> tuple[str, list[dict[str, Any]] | None]:
    if parse_mode and parse_mode.lower() == "html" and not entities:
        parser = _TelegramHTML()
        parser.feed(text)
        plain, parsed = parser.result()
        return plain, parsed or None
    return text, entities or None


def _check_markup(markup: Any) -> None:
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard") or []:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise TelegramError(400, "Bad Request: BUTTON_DATA_INVALID")


def _iter_buttons(message: dict[str, Any]):
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard") or []:
        yield from row


class FakeBotApi:
    """Fake Telegram Bot API server on 127.0.0.1 (random free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port: int | None = port or None  # a fixed port: "Telegram comes back" tests
        self._runner: web.AppRunner | None = None
        self._bots: dict[str, _BotState] = {}
        self._calls: list[Call] = []
        self._consumed_calls: set[int] = set()
        self._consumed_messages: set[tuple[str, Any, int, int]] = set()
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._blocked: set[tuple[str | None, Any]] = set()
        self._responses: dict[str, Any] = {}
        self._files: dict[str, bytes] = {}
        self._changed = asyncio.Event()
        self._closing = False
        self._failing_status: int | None = None
        self._seq = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._deliveries: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()  # ends the pauses between redeliveries
        self.redelivery = Redelivery()  # how a failed webhook delivery is tried again
        self.invoice_payloads: list[str] = []  # sendInvoice's payloads, in order (bot_payments)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self._listen(self._port or 0)

    async def _listen(self, port: int) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # Cancel a long-polling getUpdates when aiogram drops the connection.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._closing = True
        self._stopping.set()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def refuse_connections(self) -> None:
        """An outage: stop listening and drop open connections, keeping all state, so
        clients get «connection refused» until ``accept_connections`` (same port)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def accept_connections(self) -> None:
        if self._runner is None:
            await self._listen(self._port or 0)

    def fail_all(self, status: int | None = 500) -> None:
        """Answer every call with this HTTP error (a broken server) until ``fail_all(None)``."""
        self._failing_status = status

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return f"http://{self._host}:{self._port}"

    def session(self) -> AiohttpSession:
        """An aiogram session pointed at this fake (fast to close)."""
        return FastCloseSession(api=TelegramAPIServer.from_base(self.base_url))

    def make_bot(self, token: str, *, parse_mode: str | None = "HTML", **kwargs: Any) -> Bot:
        """A real aiogram ``Bot`` talking to this fake; close it with ``bot.session.close()``."""
        default = DefaultBotProperties(parse_mode=parse_mode, **kwargs)
        return Bot(token, session=self.session(), default=default)

    # ------------------------------------------------------------------ scripting

    def fail_next(
        self,
        method: str,
        status: int | None = None,
        *,
        retry_after: int | None = None,
        delay_seconds: float = 0.0,
        description: str | None = None,
        token: str | None = None,
        times: int = 1,
    ) -> None:
        """Queue a failure for the next call(s) of ``method`` (any bot unless ``token``).

        ``status=429`` (the default when neither status nor delay is given) answers
        "Too Many Requests: retry after N" with ``parameters.retry_after`` (default 1);
        ``status=500`` etc. answer a server error; ``delay_seconds`` alone only delays the
        call, which then succeeds (combine with a status to delay and then fail).
        """
        if status is None and not delay_seconds:
            status = 429
        if status == 429 and retry_after is None:
            retry_after = 1
        for _ in range(times):
            self._failures[method.lower()].append(
                _Failure(status, description, retry_after, delay_seconds, token)
            )

    def block_chat(self, chat_id: int, token: str | None = None) -> None:
        """Make calls to ``chat_id`` answer 403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add((token, chat_id))

    def unblock_chat(self, chat_id: int, token: str | None = None) -> None:
        self._blocked.discard((token, chat_id))

    def set_response(self, method: str, result: Any) -> None:
        """Answer ``method`` (not otherwise modelled) with this ``result``."""
        self._responses[method.lower()] = result

    # ------------------------------------------------------------------ inspection

    def bot_id(self, token: str) -> int:
        return self._bot(token).bot_id

    def calls(self, token: str | None = None, method: str | None = None) -> list[Call]:
        return [
            c
            for c in self._calls
            if (token is None or c.token == token)
            and (method is None or c.method.lower() == method.lower())
        ]

    def last_seq(self) -> int:
        """The number of the latest call (0: none yet)."""
        return self._calls[-1].seq if self._calls else 0

    def calls_after(self, seq: int) -> list[Call]:
        """The calls made after call number `seq`, in order (cheap for a recent `seq`)."""
        start = len(self._calls)
        while start > 0 and self._calls[start - 1].seq > seq:
            start -= 1
        return self._calls[start:]

    async def wait_until(self, find: Callable[[], Any], timeout: float = 5.0) -> Any:
        """What `find` returns once it is not None (re-checked on every call); None on timeout."""
        return await self._wait(find, timeout)

    def sent(self, token: str, chat_id: int | str) -> list[dict[str, Any]]:
        """Messages the bot has in this chat now (edits applied, deletions removed)."""
        return list(self._bot(token).messages.get(chat_id, []))

    def last_message(self, token: str, chat_id: int | str) -> dict[str, Any] | None:
        messages = self._bot(token).messages.get(chat_id)
        return messages[-1] if messages else None

    def reply_keyboard(self, token: str, chat_id: int | str) -> dict[str, Any] | None:
        """The reply keyboard (``ReplyKeyboardMarkup`` dict) the user currently sees."""
        return self._bot(token).reply_keyboards.get(chat_id)

    def pending_updates(self, token: str) -> list[dict[str, Any]]:
        return list(self._bot(token).updates)

    async def wait_for_call(
        self,
        token: str | None,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
    ) -> Call:
        """First matching call not returned by an earlier ``wait_for_call``."""

        def find() -> Call | None:
            for call in self._calls:
                if call.seq in self._consumed_calls:
                    continue
                if token is not None and call.token != token:
                    continue
                if call.method.lower() != method.lower():
                    continue
                if predicate is None or predicate(call):
                    self._consumed_calls.add(call.seq)
                    return call
            return None

        found = await self._wait(find, timeout)
        if found is None:
            recent = "\n".join(
                f"  {c.token.split(':')[0]} {c.method} [{c.status}] {_short(c.params)}"
                for c in self._calls[-20:]
            )
            raise AssertionError(
                f"no {method} call (token={token}) matched within {timeout}s; "
                f"recent calls:\n{recent or '  (none)'}"
            )
        return found

    async def wait_for_message(
        self,
        token: str,
        chat_id: int | str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """First bot message in the chat matching ``predicate`` not returned before.

        An edited message counts as new again (so you can wait for an edit). Returns a
        snapshot copy.
        """
        state = self._bot(token)

        def find() -> dict[str, Any] | None:
            for msg in state.messages.get(chat_id, []):
                rev = state.revisions.get((chat_id, msg["message_id"]), 0)
                key = (token, chat_id, msg["message_id"], rev)
                if key in self._consumed_messages:
                    continue
                if predicate is None or predicate(msg):
                    self._consumed_messages.add(key)
                    return copy.deepcopy(msg)
            return None

        found = await self._wait(find, timeout)
        if found is None:
            shown = "\n".join(
                f"  #{m['message_id']}: {_message_summary(m)}"
                for m in state.messages.get(chat_id, [])[-10:]
            )
            raise AssertionError(
                f"no message to chat {chat_id} matched within {timeout}s; "
                f"bot messages there:\n{shown or '  (none)'}"
            )
        return found

    async def _wait(self, find: Callable[[], Any], timeout: float) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed
            found = find()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await wait_event(event, remaining)

    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    # ------------------------------------------------------------------ update builders

    def push_update(self, token: str, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for ``getUpdates``; assigns and returns it with ``update_id``."""
        state = self._bot(token)
        update = dict(update)
        update["update_id"] = state.next_update_id
        state.next_update_id += 1
        if state.webhook is not None:  # delivered by POST, as Telegram does
            task = asyncio.get_running_loop().create_task(self._deliver(state, update))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
            return update
        state.updates.append(update)
        self._notify()
        return update

    def redeliver(self, token: str, update: dict[str, Any]) -> None:
        """Offer an update to ``getUpdates`` again, as Telegram does for one whose offset
        was never confirmed (the poller died after handling it); same ``update_id``."""
        state = self._bot(token)
        state.updates.append(copy.deepcopy(update))
        state.updates.sort(key=lambda u: u["update_id"])
        self._notify()

    def webhook(self, token: str) -> dict[str, Any] | None:
        """What setWebhook recorded: url, secret_token, allowed_updates (None: not set)."""
        return self._bot(token).webhook

    def webhook_statuses(self, token: str) -> list[int]:
        """The HTTP statuses the bot's webhook answered to our deliveries, in order."""
        return self._bot(token).webhook_statuses

    def webhook_failures(self, token: str) -> list[Failure]:
        """The deliveries that failed and were tried again (or given up), in order."""
        return self._bot(token).webhook_failures

    def balance(self, token: str, urls: list[str]) -> None:
        """Deliver the bot's updates to these webhook URLs instead of setWebhook's, as a
        load balancer would: one chat's consecutive updates go to the next URL in turn."""
        self._bot(token).balancer = Balancer(list(urls))

    async def post_webhook(
        self,
        token: str,
        update: dict[str, Any],
        secret: str | None = None,
        url: str | None = None,
    ) -> int:
        """POST one update to the bot's webhook URL (`url`: the balancer's next turn) with
        `secret` (None: no header), once; its answer's status."""
        state = self._bot(token)
        if state.webhook is None:
            raise RuntimeError("no webhook is set for this bot")
        url = url or _route(state, update)
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        timeout = aiohttp.ClientTimeout(total=self.redelivery.timeout)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json=update, headers=headers) as response,
        ):
            params = await _webhook_method(response)
        if params is not None:  # Telegram makes the call; its result goes nowhere
            method = str(params.pop("method"))
            await self._call(token, method, params, {}, in_webhook_response=True)
        return response.status

    async def _deliver(self, state: _BotState, update: dict[str, Any]) -> None:
        """Post the update until an answer is 2xx, pausing longer each time; given up after
        the policy's time or when the fake stops (webhook_delivery.py: why)."""
        assert state.webhook is not None
        loop = asyncio.get_running_loop()
        gave_up_at = loop.time() + self.redelivery.give_up_after
        for pause in self.redelivery.pauses():
            if not await self._attempt(state, update):
                return
            if self._closing or loop.time() + pause > gave_up_at:
                return
            await wait_event(self._stopping, pause)

    async def _attempt(self, state: _BotState, update: dict[str, Any]) -> bool:
        """One POST of the update; whether it failed (recorded in webhook_failures)."""
        assert state.webhook is not None
        url = _route(state, update)
        status, error, secret = None, None, state.webhook["secret_token"]
        try:
            status = await self.post_webhook(state.token, update, secret, url)
        except CONNECTION_FAILURES as exc:
            error = exc
        if status is not None:
            state.webhook_statuses.append(status)
        reason = failed_reason(status, error)
        if reason is not None:
            state.webhook_failures.append(Failure(update["update_id"], url, reason))
            if refused_connection(error):
                state.balancer.refused(url, self.redelivery)
        self._notify()
        return reason is not None

    def push_message(self, token: str, user: FakeUser, **content: Any) -> dict[str, Any]:
        """Push a ``message`` update from ``user`` in their private chat; returns the update."""
        state = self._bot(token)
        message = {
            "message_id": state.take_message_id(user.id),
            "from": user.to_dict(),
            "chat": user.chat(),
            "date": int(time.time()),
            **content,
        }
        state.user_messages[(user.id, message["message_id"])] = message
        return self.push_update(token, {"message": message})

    def send_text(self, token: str, user: FakeUser, text: str) -> dict[str, Any]:
        return self.push_message(token, user, text=text)

    def send_command(
        self, token: str, user: FakeUser, command: str, args: str | None = None
    ) -> dict[str, Any]:
        """``send_command(t, u, "/start src-instagram")`` or ``(t, u, "start", "src-x")``."""
        text = command if command.startswith("/") else f"/{command}"
        if args:
            text = f"{text} {args}"
        length = _utf16_len(text.split(" ", 1)[0])
        return self.push_message(
            token,
            user,
            text=text,
            entities=[{"type": "bot_command", "offset": 0, "length": length}],
        )

    def press_button(
        self,
        token: str,
        user: FakeUser,
        callback_data: str | None = None,
        message_id: int | None = None,
        *,
        text: str | None = None,
        strict: bool = True,
    ) -> dict[str, Any]:
        """Push a ``callback_query`` for a button on a bot message in the user's chat.

        The message defaults to the last bot message there with an inline keyboard. Give
        ``callback_data`` or the button ``text``; with ``strict`` the button must exist.
        """
        state = self._bot(token)
        messages = state.messages.get(user.id, [])
        if message_id is not None:
            message = next((m for m in messages if m["message_id"] == message_id), None)
        else:
            message = next(
                (m for m in reversed(messages) if any(True for _ in _iter_buttons(m))), None
            )
        if message is None and strict:
            raise AssertionError(
                f"no bot message with an inline keyboard in chat {user.id} "
                f"(message_id={message_id})"
            )
        if message is not None:
            buttons = list(_iter_buttons(message))
            button = next(
                (
                    b
                    for b in buttons
                    if (callback_data is not None and b.get("callback_data") == callback_data)
                    or (callback_data is None and text is not None and b.get("text") == text)
                ),
                None,
            )
            if button is None and strict:
                labels = [(b.get("text"), b.get("callback_data")) for b in buttons]
                raise AssertionError(
                    f"button {callback_data or text!r} not on message "
                    f"#{message['message_id']}; buttons: {labels}"
                )
            if button is not None:
                callback_data = button.get("callback_data")
        query: dict[str, Any] = {
            "id": str(next(self._callback_ids)),
            "from": user.to_dict(),
            "chat_instance": f"ci-{user.id}",
            "data": callback_data,
        }
        if message is not None:
            query["message"] = copy.deepcopy(message)
        return self.push_update(token, {"callback_query": query})

    def share_contact(
        self, token: str, user: FakeUser, phone: str, first_name: str | None = None
    ) -> dict[str, Any]:
        contact = {
            "phone_number": phone,
            "first_name": first_name or user.first_name,
            "user_id": user.id,
        }
        return self.push_message(token, user, contact=contact)

    def send_photo(self, token: str, user: FakeUser, caption: str | None = None) -> dict[str, Any]:
        n = next(self._file_ids)
        photo = [
            {
                "file_id": f"user-photo-{n}-{w}",
                "file_unique_id": f"up{n}{w}",
                "width": w,
                "height": w * 3 // 4,
                "file_size": w * 100,
            }
            for w in (90, 320, 1280)
        ]
        for size in photo:  # what the user uploaded, so bots can download it
            self._files[size["file_id"]] = b"\xff\xd8fake-jpeg-" + size["file_id"].encode()
        content: dict[str, Any] = {"photo": photo}
        if caption:
            content["caption"] = caption
        return self.push_message(token, user, **content)

    def send_sticker(self, token: str, user: FakeUser, emoji: str = "👍") -> dict[str, Any]:
        n = next(self._file_ids)
        sticker = {
            "file_id": f"user-sticker-{n}",
            "file_unique_id": f"us{n}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self.push_message(token, user, sticker=sticker)

    def send_location(
        self, token: str, user: FakeUser, latitude: float = 53.195, longitude: float = 50.1
    ) -> dict[str, Any]:
        return self.push_message(
            token, user, location={"latitude": latitude, "longitude": longitude}
        )

    def send_voice(self, token: str, user: FakeUser, duration: int = 3) -> dict[str, Any]:
        n = next(self._file_ids)
        voice = {
            "file_id": f"user-voice-{n}",
            "file_unique_id": f"uv{n}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": duration * 4000,
        }
        return self.push_message(token, user, voice=voice)

    def send_document(
        self, token: str, user: FakeUser, file_name: str = "file.pdf"
    ) -> dict[str, Any]:
        n = next(self._file_ids)
        document = {
            "file_id": f"user-doc-{n}",
            "file_unique_id": f"ud{n}",
            "file_name": file_name,
            "mime_type": "application/pdf",
            "file_size": 1000,
        }
        self._files[document["file_id"]] = b"%PDF-fake-" + document["file_id"].encode()
        return self.push_message(token, user, document=document)

    # ------------------------------------------------------------------ HTTP

    def _bot(self, token: str) -> _BotState:
        state = self._bots.get(token)
        if state is None:
            prefix = token.split(":", 1)[0]
            if not prefix.isdigit():
                raise TelegramError(401, "Unauthorized")
            state = self._bots[token] = _BotState(token=token, bot_id=int(prefix))
        return state

    async def _handle(self, request: web.Request) -> web.Response:
        params, files = await _read_params(request)
        token, method = request.match_info["token"], request.match_info["method"]
        status, payload = await self._call(token, method, params, files)
        return web.json_response(payload, status=status)

    async def _call(
        self,
        token: str,
        method: str,
        params: dict[str, Any],
        files: dict[str, UploadedFile],
        in_webhook_response: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """One Bot API call, recorded: (HTTP status, Telegram's JSON answer)."""
        call = Call(
            token=token,
            method=method,
            params=params,
            files=files,
            seq=next(self._seq),
            at=time.time(),
            in_webhook_response=in_webhook_response,
        )
        self._calls.append(call)
        self._notify()  # a delayed call can be awaited while it hangs
        try:
            state = self._bot(token)
            if self._failing_status is not None:
                raise _failure_error(_Failure(self._failing_status, None, None, 0.0, None))
            failure = self._take_failure(token, method)
            if failure is not None:
                if failure.delay_seconds:
                    await asyncio.sleep(failure.delay_seconds)
                if failure.status is not None:
                    raise _failure_error(failure)
            chat_id = params.get("chat_id")
            if chat_id is not None and (
                (token, chat_id) in self._blocked or (None, chat_id) in self._blocked
            ):
                raise TelegramError(403, "Forbidden: bot was blocked by the user")
            result = await self._dispatch(state, method, params, files)
        except TelegramError as e:
            call.status = e.status
            self._notify()
            return e.status, e.payload()
        self._notify()
        return 200, {"ok": True, "result": result}

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        if path not in self._files:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=self._files[path])

    def _take_failure(self, token: str, method: str) -> _Failure | None:
        queue = self._failures.get(method.lower())
        if not queue:
            return None
        for failure in queue:
            if failure.token is None or failure.token == token:
                queue.remove(failure)
                return failure
        return None

    async def _dispatch(
        self,
        state: _BotState,
        method: str,
        params: dict[str, Any],
        files: dict[str, UploadedFile],
    ) -> Any:
        name = method.lower()
        if name == "getme":
            return state.user()
        if name == "getupdates":
            if state.webhook is not None:
                raise TelegramError(409, "Conflict: can't use getUpdates while webhook is active")
            return await self._get_updates(state, params)
        if name in _SEND_CONTENT:
            return self._send(state, params, _SEND_CONTENT[name](self, params, files))
        if name == "copymessage":
            return self._copy(state, params)
        if name == "forwardmessage":
            return self._forward(state, params)
        if name == "editmessagetext":
            return self._edit(state, params, text=True)
        if name == "editmessagecaption":
            return self._edit(state, params, caption=True)
        if name == "editmessagereplymarkup":
            return self._edit(state, params)
        if name == "deletemessage":
            return self._delete(state, params)
        if name == "getfile":
            file_id = params.get("file_id", "")
            return {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(self._files.get(file_id, b"")),
                "file_path": file_id,
            }
        if name == "setwebhook":
            keys = ("url", "secret_token", "allowed_updates")
            state.webhook = {key: params.get(key) for key in keys}
            return True
        if name == "deletewebhook":
            state.webhook = None
            return True
        if name == "answercallbackquery":
            query = str(params.get("callback_query_id"))
            if query in state.answered_queries:
                raise TelegramError(400, QUERY_TOO_OLD)
            state.answered_queries.add(query)
        if name in self._responses:
            return copy.deepcopy(self._responses[name])
        # deleteWebhook, setMyCommands, deleteMyCommands, answerCallbackQuery,
        # setChatMenuButton, sendChatAction and anything else not modelled.
        return True

    async def _get_updates(self, state: _BotState, params: dict[str, Any]) -> list[Any]:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(int(params.get("limit") or 100), 100))
        timeout = float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            state.allowed_updates = frozenset(allowed) if allowed else None

        def ready() -> list[dict[str, Any]] | None:
            if offset > 0:
                state.updates = [u for u in state.updates if u["update_id"] >= offset]
            elif offset < 0:
                state.updates = state.updates[offset:]
            # Like Telegram: updates of types not allowed are dropped, never delivered.
            state.updates = [u for u in state.updates if self._allowed(state, u)]
            if state.updates or self._closing:
                return state.updates[:limit]
            return None

        found = await self._wait(ready, timeout)
        return copy.deepcopy(found or [])

    @staticmethod
    def _allowed(state: _BotState, update: dict[str, Any]) -> bool:
        kind = _update_type(update)
        if state.allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in state.allowed_updates

    def _base_message(self, state: _BotState, chat_id: Any) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": "private"}
        if isinstance(chat_id, str):
            chat = {"id": -1000000000000 - len(chat_id), "type": "channel", "title": chat_id}
        return {
            "message_id": state.take_message_id(chat_id),
            "from": state.user(),
            "chat": chat,
            "date": int(time.time()),
        }

    def _send(
        self, state: _BotState, params: dict[str, Any], content: dict[str, Any]
    ) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise TelegramError(400, "Bad Request: chat_id is empty")
        markup = params.get("reply_markup")
        _check_markup(markup)
        message = self._base_message(state, chat_id)
        message.update(content)
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        elif isinstance(markup, dict) and "keyboard" in markup:
            state.reply_keyboards[chat_id] = markup
        elif isinstance(markup, dict) and markup.get("remove_keyboard"):
            state.reply_keyboards.pop(chat_id, None)
        state.messages[chat_id].append(message)
        return copy.deepcopy(message)

    def _copy(self, state: _BotState, params: dict[str, Any]) -> dict[str, Any]:
        source = self._find_any(state, params.get("from_chat_id"), params.get("message_id"))
        content = {
            k: v
            for k, v in (source or {}).items()
            if k not in {"message_id", "from", "chat", "date", "reply_markup", "edit_date"}
        }
        if not source:
            content = {"text": f"[copy of {params.get('from_chat_id')}:{params.get('message_id')}]"}
        if "caption" in params:
            content["caption"], content["caption_entities"] = _format_text(
                params["caption"], params.get("parse_mode"), params.get("caption_entities")
            )
        message = self._send(state, params, content)
        return {"message_id": message["message_id"]}

    def _forward(self, state: _BotState, params: dict[str, Any]) -> dict[str, Any]:
        from_chat = params.get("from_chat_id")
        source = self._find_any(state, from_chat, params.get("message_id")) or {}
        content = {
            k: v
            for k, v in source.items()
            if k not in {"message_id", "from", "chat", "date", "reply_markup", "edit_date"}
        }
        sender = source.get("from") or {"id": from_chat, "is_bot": False, "first_name": "?"}
        content["forward_origin"] = {
            "type": "user",
            "date": source.get("date", int(time.time())),
            "sender_user": sender,
        }
        return self._send(state, {"chat_id": params.get("chat_id")}, content)

    def _find_any(self, state: _BotState, chat_id: Any, message_id: Any) -> dict[str, Any] | None:
        found = self._find_sent(state, chat_id, message_id)
        return found or state.user_messages.get((chat_id, message_id))

    @staticmethod
    def _find_sent(state: _BotState, chat_id: Any, message_id: Any) -> dict[str, Any] | None:
        for message in state.messages.get(chat_id, []):
            if message["message_id"] == message_id:
                return message
        return None

    def _edit(
        self,
        state: _BotState,
        params: dict[str, Any],
        *,
        text: bool = False,
        caption: bool = False,
    ) -> Any:
        if params.get("inline_message_id"):
            return True
        chat_id = params.get("chat_id")
        message_id = params.get("message_id")
        message = self._find_sent(state, chat_id, message_id)
        if message is None:
            raise TelegramError(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        _check_markup(markup)
        before = copy.deepcopy(message)
        if text:
            if "text" not in message:
                raise TelegramError(400, "Bad Request: there is no text in the message to edit")
            new_text, entities = _format_text(
                params.get("text") or "", params.get("parse_mode"), params.get("entities")
            )
            _check_text(new_text)
            message["text"] = new_text
            _set(message, "entities", entities)
        if caption:
            new_caption, entities = _format_text(
                params.get("caption") or "",
                params.get("parse_mode"),
                params.get("caption_entities"),
            )
            _set(message, "caption", new_caption or None)
            _set(message, "caption_entities", entities)
        _set(message, "reply_markup", markup if markup and "inline_keyboard" in markup else None)
        if message == before:
            raise TelegramError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message["edit_date"] = int(time.time())
        key = (chat_id, message_id)
        state.revisions[key] = state.revisions.get(key, 0) + 1
        return copy.deepcopy(message)

    def _delete(self, state: _BotState, params: dict[str, Any]) -> bool:
        chat_id = params.get("chat_id")
        message = self._find_sent(state, chat_id, params.get("message_id"))
        if message is None:
            raise TelegramError(400, "Bad Request: message to delete not found")
        state.messages[chat_id].remove(message)
        return True

    # --- content builders for send* methods

    def _file_ref(self, kind: str, value: Any, files: dict[str, UploadedFile]) -> dict[str, Any]:
        n = next(self._file_ids)
        file_id = f"bot-{kind}-{n}"
        upload = files.get(kind)
        if upload is not None:
            self._files[file_id] = upload.content
            return {
                "file_id": file_id,
                "file_unique_id": f"b{kind[0]}{n}",
                "file_size": upload.size,
                "_filename": upload.filename,
            }
        return {
            "file_id": value if isinstance(value, str) else file_id,
            "file_unique_id": f"b{kind[0]}{n}",
        }


def _set(target: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value


def _check_text(text: str) -> None:
    if not text.strip():
        raise TelegramError(400, "Bad Request: message text is empty")
    if _utf16_len(text) > 4096:
        raise TelegramError(400, "Bad Request: message is too long")


def _caption(params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("caption"):
        return {}
    caption, entities = _format_text(
        params["caption"], params.get("parse_mode"), params.get("caption_entities")
    )
    if _utf16_len(caption) > 1024:
        raise TelegramError(400, "Bad Request: message caption is too long")
    out: dict[str, Any] = {"caption": caption}
    _set(out, "caption_entities", entities)
    return out


def _content_message(api: FakeBotApi, params: dict[str, Any], files: Any) -> dict[str, Any]:
    text, entities = _format_text(
        params.get("text") or "", params.get("parse_mode"), params.get("entities")
    )
    _check_text(text)
    out: dict[str, Any] = {"text": text}
    _set(out, "entities", entities)
    return out


def _content_photo(api: FakeBotApi, params: dict[str, Any], files: Any) -> dict[str, Any]:
    ref = api._file_ref("photo", params.get("photo"), files)
    ref.pop("_filename", None)
    photo = [{**ref, "width": 1280, "height": 960}]
    return {"photo": photo, **_caption(params)}


def _content_document(api: FakeBotApi, params: dict[str, Any], files: Any) -> dict[str, Any]:
    ref = api._file_ref("document", params.get("document"), files)
    filename = ref.pop("_filename", None)
    if filename:
        ref["file_name"] = filename
        mime, _ = mimetypes.guess_type(filename)
        _set(ref, "mime_type", mime)
    return {"document": ref, **_caption(params)}


def _content_sticker(api: FakeBotApi, params: dict[str, Any], files: Any) -> dict[str, Any]:
    ref = api._file_ref("sticker", params.get("sticker"), files)
    ref.pop("_filename", None)
    sticker = {**ref, "type": "regular", "width": 512, "height": 512}
    sticker.update({"is_animated": False, "is_video": False})
    return {"sticker": sticker}


def _content_voice(api: FakeBotApi, params: dict[str, Any], files: Any) -> dict[str, Any]:
    ref = api._file_ref("voice", params.get("voice"), files)
    ref.pop("_filename", None)
    return {"voice": {**ref, "duration": int(params.get("duration") or 1)}, **_caption(params)}


def _content_location(api: FakeBotApi, params: dict[str, Any], files: Any) -> dict[str, Any]:
    location = {"latitude": params.get("latitude"), "longitude": params.get("longitude")}
    return {"location": location}


def _content_invoice(api: FakeBotApi, params: dict[str, Any], files: Any) -> dict[str, Any]:
    """sendInvoice as Telegram checks it: a provider token, a 3-letter currency, prices as
    integer amounts in the smallest unit, a payload of 1–128 bytes. The payload is kept
    with the message (as Telegram keeps it) for the pre-checkout round, not shown."""
    prices = params.get("prices")
    payload = str(params.get("payload") or "")
    if not params.get("provider_token"):
        raise TelegramError(400, "Bad Request: PAYMENT_PROVIDER_INVALID")
    if not re.fullmatch(r"[A-Z]{3}", str(params.get("currency") or "")):
        raise TelegramError(400, "Bad Request: CURRENCY_INVALID")
    if not isinstance(prices, list) or not prices:
        raise TelegramError(400, "Bad Request: prices must be non-empty")
    if any(not isinstance(p.get("amount"), int) or p["amount"] <= 0 for p in prices):
        raise TelegramError(400, "Bad Request: PRICE_INVALID (integer smallest units)")
    if not 1 <= len(payload.encode()) <= 128:
        raise TelegramError(400, "Bad Request: INVOICE_PAYLOAD_INVALID")
    total = sum(p["amount"] for p in prices)
    invoice = {
        "title": params.get("title"),
        "description": params.get("description"),
        "start_parameter": params.get("start_parameter") or "",
        "currency": params["currency"],
        "total_amount": total,
    }
    api.invoice_payloads.append(payload)
    return {"invoice": invoice}


def _content_contact(api: FakeBotApi, params: dict[str, Any], files: Any) -> dict[str, Any]:
    contact = {"phone_number": params.get("phone_number"), "first_name": params.get("first_name")}
    _set(contact, "last_name", params.get("last_name"))
    return {"contact": contact}


_SEND_CONTENT: dict[str, Callable[[FakeBotApi, dict[str, Any], Any], dict[str, Any]]] = {
    "sendmessage": _content_message,
    "sendphoto": _content_photo,
    "senddocument": _content_document,
    "sendsticker": _content_sticker,
    "sendvoice": _content_voice,
    "sendlocation": _content_location,
    "sendcontact": _content_contact,
    "sendinvoice": _content_invoice,
}


def _failure_error(failure: _Failure) -> TelegramError:
    status = failure.status or 500
    parameters = None
    if status == 429:
        retry_after = failure.retry_after or 1
        description = failure.description or f"Too Many Requests: retry after {retry_after}"
        parameters = {"retry_after": retry_after}
    else:
        description = failure.description or {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden: bot was blocked by the user",
            404: "Not Found",
            409: "Conflict: terminated by other getUpdates request",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(status, f"Error {status}")
        if failure.retry_after:
            parameters = {"retry_after": failure.retry_after}
    return TelegramError(status, description, parameters)


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _decode(key: str, value: Any) -> Any:
    """Decode one form field: JSON objects/arrays, numbers and booleans."""
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    if value in ("true", "false"):
        return value == "true"
    if _NUMBER.fullmatch(value):
        return json.loads(value)
    if value[:1] in "{[":
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    params: dict[str, Any] = {k: _decode(k, v) for k, v in request.query.items()}
    files: dict[str, UploadedFile] = {}
    content_type = request.content_type
    if request.can_read_body:
        if content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    files[key] = UploadedFile(
                        field=key,
                        filename=value.filename,
                        size=len(content),
                        content_type=value.content_type,
                        content=content,
                    )
                else:
                    params[key] = _decode(key, value)
    # Re-key uploads by the parameter that references them (photo="attach://<key>").
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.pop(value.removeprefix("attach://"), None)
            if upload is not None:
                files[key] = upload
    return params, files


async def _webhook_method(response: aiohttp.ClientResponse) -> dict[str, Any] | None:
    """The method a 200 answer to a webhook POST carries, with its parameters, as Telegram
    reads it (JSON, a URL-encoded or a multipart form with a "method" field); None: none."""
    params: dict[str, Any] = {}
    if response.status != 200:
        await response.read()
        return None
    if response.content_type == "multipart/form-data":  # aiogram's own way
        reader = aiohttp.MultipartReader.from_response(response)
        while (part := await reader.next()) is not None:
            assert isinstance(part, aiohttp.BodyPartReader) and part.name
            params[part.name] = _decode(part.name, await part.text())
    elif response.content_type == "application/x-www-form-urlencoded":
        fields = urllib.parse.parse_qsl(await response.text(), keep_blank_values=True)
        params = {key: _decode(key, value) for key, value in fields}
    else:
        body = await response.read()
        with contextlib.suppress(ValueError):
            data = json.loads(body) if body else None
            params = data if isinstance(data, dict) else {}
    return params if isinstance(params.get("method"), str) else None


def _route(state: _BotState, update: dict[str, Any]) -> str:
    """setWebhook's URL, or the chat's next turn among the balanced ones."""
    if not state.balancer.urls:
        assert state.webhook is not None
        return state.webhook["url"]
    event = update.get("message") or update.get("callback_query") or {}
    return state.balancer.route((event.get("chat") or event.get("from") or {}).get("id"))


def _short(params: dict[str, Any], limit: int = 120) -> str:
    text = json.dumps(params, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _message_summary(message: dict[str, Any]) -> str:
    for key in ("text", "caption"):
        if key in message:
            return repr(message[key])[:100]
    kinds = [k for k in message if k not in {"message_id", "from", "chat", "date"}]
    return ",".join(kinds)
