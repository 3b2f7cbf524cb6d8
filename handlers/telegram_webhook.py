"""Telegram webhook mode: both bots on the product's aiohttp server, each on its own path.

aiogram's SimpleRequestHandler already compares the secret with `secrets.compare_digest`,
but on `str`, which raises TypeError (a 500) for a header with non-ASCII characters, and an
empty secret there means "accept anything". So the check here compares bytes and a secret
is required. With `handle_in_background` Telegram gets its 200 at once and the update runs
as a task that aiogram's `close()` does not await: `close()` here drains those tasks first,
so a shutdown never cuts a booking in half.

Acknowledged only once handled: the 200 waits until the update's step has committed and
sent its answers (at most ACK_WAIT seconds), so an instance killed mid-step leaves the
update to Telegram, which delivers it again (possibly to another instance), and a step that
failed gets a 503 for the same reason. Telegram posts a chat's next update once the
previous one is acknowledged, so this also keeps a chat's updates in order across
instances. The price: a webhook connection is held for the step (Telegram's
`max_connections`, 40 by default, bounds the steps in flight per bot).

Since the 200 waits for the step anyway, it carries the one Bot API call Telegram lets a
webhook answer make: a handler that returns a method (a button press returns its
answerCallbackQuery) has it made by Telegram instead of by one more HTTP call of ours. An
update still running at ACK_WAIT, or a method with a file to upload, is called as usual
once the step is done (aiogram's own `feed_webhook_update` does the same past its timeout).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from bot.settings import Settings

log = logging.getLogger("priyom.telegram")
ACK_WAIT = 10.0  # seconds: a step still running this long (behind a slow one) → acknowledged


def webhook_path(name: str) -> str:
    return f"/telegram/{name}"


class SecretCheckedHandler(SimpleRequestHandler):
    """One bot's webhook endpoint: a 401 unless the secret matches, then handled in the
    background; its unfinished updates are awaited on shutdown."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str) -> None:
        if not secret_token:
            raise ValueError("a webhook needs a secret token")
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret_token)

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        expected = (self.secret_token or "").encode()
        return hmac.compare_digest(telegram_secret_token.encode("utf-8", "replace"), expected)

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        try:
            update = await request.json(loads=bot.session.json_loads)
        except ValueError:
            return _refused("the body is not JSON")
        answer = _Answer()
        task = asyncio.create_task(self._feed(bot, update, answer))
        self._background_feed_update_tasks.add(task)
        task.add_done_callback(self._background_feed_update_tasks.discard)
        try:  # shielded: a dropped connection must not cancel the step
            done, _ = await asyncio.wait({task}, timeout=ACK_WAIT)
        except asyncio.CancelledError:  # the server stops: no answer will carry the method
            answer.awaited = False
            self._call_later(bot, task)
            raise
        answer.awaited = bool(done)  # a slow one is acknowledged, its task makes the call
        if done and not task.cancelled() and _not_an_update(task.exception()):
            return _refused("the body is not a Telegram update")
        if done and (task.cancelled() or task.exception() is not None):
            log.warning("webhook_update_failed", extra={"update": update.get("update_id")})
            return web.json_response({"ok": False}, status=503)  # Telegram delivers it again
        method = task.result() if done else None
        fields = None if method is None else _form(bot, method)
        if fields is not None:
            return web.Response(body=urllib.parse.urlencode(fields), content_type=FORM)
        if method is not None:  # a file to upload: called as usual
            await self.dispatcher.silent_call_request(bot=bot, result=method)
        return web.json_response({}, dumps=bot.session.json_dumps)

    async def _feed(
        self, bot: Bot, update: dict[str, Any], answer: _Answer
    ) -> TelegramMethod[Any] | None:
        """The update through the dispatcher; the method its handler returned is left to
        the webhook's answer while that waits, and called here once it does not."""
        result = await self.dispatcher.feed_raw_update(bot=bot, update=update, **self.data)
        if not isinstance(result, TelegramMethod):
            return None
        if answer.awaited:
            return result
        await self.dispatcher.silent_call_request(bot=bot, result=result)
        return None

    def _call_later(self, bot: Bot, task: asyncio.Task[TelegramMethod[Any] | None]) -> None:
        """The method of an update that finished just as its answer was given up (drained)."""
        if not task.done() or task.cancelled() or task.exception() is not None:
            return
        if (method := task.result()) is not None:
            call = asyncio.create_task(self.dispatcher.silent_call_request(bot, method))
            self._background_feed_update_tasks.add(call)
            call.add_done_callback(self._background_feed_update_tasks.discard)

    async def drain(self) -> None:
        """Wait for every update still being handled (new ones may start meanwhile)."""
        while tasks := set(self._background_feed_update_tasks):
            log.info("webhook_draining", extra={"updates": len(tasks)})
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        await self.drain()
        await super().close()


FORM = "application/x-www-form-urlencoded"


class _Answer:
    """Whether the webhook's answer still waits for the update's task (until ACK_WAIT)."""

    awaited = True


def _form(bot: Bot, method: TelegramMethod[Any]) -> dict[str, str] | None:
    """`method` as the form fields aiogram would send it with, plus its name; None when it
    uploads a file (a webhook answer carries none of ours)."""
    files: dict[str, Any] = {}
    fields = {"method": method.__api_method__}
    for key, value in method.model_dump(warnings=False).items():
        prepared = bot.session.prepare_value(value, bot=bot, files=files)
        if prepared:
            fields[key] = str(prepared)
    return None if files else fields


def _not_an_update(exc: BaseException | None) -> bool:
    """aiogram refused the body itself (not a model our own code built)."""
    return isinstance(exc, ValidationError) and exc.title == "Update"


def _refused(reason: str) -> web.Response:
    """A malformed body: a 400 naming the problem (Telegram does not send it again)."""
    return web.json_response({"ok": False, "description": reason}, status=400)


@dataclass
class TelegramWebhook:
    name: str  # "client" | "staff": the path and the logs
    dispatcher: Dispatcher
    bot: Bot
    secret: str


class TelegramWebhooks:
    """The bots served by webhook: registered on the app, set at start, deleted on request."""

    def __init__(self, hooks: list[TelegramWebhook], base_url: str) -> None:
        self.hooks = hooks
        self.base_url = base_url.rstrip("/")
        self.handlers: dict[str, SecretCheckedHandler] = {}

    def register(self, app: web.Application) -> None:
        for hook in self.hooks:
            handler = SecretCheckedHandler(hook.dispatcher, hook.bot, hook.secret)
            handler.register(app, path=webhook_path(hook.name))  # drains on app shutdown
            self.handlers[hook.name] = handler

    async def set_all(self) -> None:
        """Point Telegram at this server; only the update types the routers handle."""
        for hook in self.hooks:
            url = self.base_url + webhook_path(hook.name)
            allowed = hook.dispatcher.resolve_used_update_types()
            await hook.bot.set_webhook(url, secret_token=hook.secret, allowed_updates=allowed)
            log.info("webhook_set", extra={"bot": hook.name, "url": url})

    async def drain(self) -> None:
        await asyncio.gather(*(handler.drain() for handler in self.handlers.values()))


async def delete_webhooks(bots: dict[str, Bot]) -> None:
    """Back to long polling (development), or before retiring a deployment."""
    for name, bot in bots.items():
        async with bot.context():
            await bot.delete_webhook()
        log.info("webhook_deleted", extra={"bot": name})


def telegram_webhooks(
    settings: Settings, bots: dict[str, tuple[Dispatcher, Bot]]
) -> TelegramWebhooks:
    """The bots to serve by webhook: all of them with TELEGRAM_MODE=webhook, else none."""
    secrets = {"client": settings.telegram_webhook_secret, "staff": settings.staff_webhook_secret}
    hooks = [
        TelegramWebhook(name, dispatcher, bot, secrets[name])
        for name, (dispatcher, bot) in bots.items()
        if settings.telegram_mode == "webhook"
    ]
    return TelegramWebhooks(hooks, settings.public_base_url)
