"""aiogram's HTTP session, minus a pydantic model class built again for most Bot API calls.

aiogram reads every answer as `Response[method.__returning__]`. pydantic keeps such a
parametrized class only in a weak cache, and the class lives in reference cycles: each
garbage collection drops it, and the next call builds it again (the schema, the validator:
about a tenth of an instance's CPU in bench/scale_bench.py, py-spy). Holding one strong
reference per return type keeps the weak cache warm; aiogram's own code reads the answer,
but for a reply's plain `{"ok": true, "result": {"message_id": N}}`
(handlers.telegram_send.sent_answer).

aiogram also chains the session's request middlewares (LateAnswers, the sending Pace) anew
for every call: `KeptChain` keeps the chain while the middlewares stay the same.
"""

from __future__ import annotations

import functools
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from handlers.telegram_answers import LateAnswers
from handlers.telegram_send import SENT_RETURNS, sent_answer


@functools.cache
def _response_model(returning: Any) -> type[Response[Any]]:
    return Response[returning]  # type: ignore[valid-type]


class KeptChain:
    """A session (mixin before aiogram's BaseSession) whose request-middleware chain is
    built once per timeout and again only when the registered middlewares change."""

    _kept: tuple[tuple[Any, ...], dict[Any, NextRequestMiddlewareType[Any]]] | None = None

    async def __call__(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        middlewares = tuple(self.middleware._middlewares)  # type: ignore[attr-defined]
        kept = self._kept
        if kept is None or kept[0] != middlewares:
            kept = self._kept = (middlewares, {})  # this session's own, never the class's
        chains = kept[1]
        chain = chains.get(timeout)
        if chain is None:
            wrap = self.middleware.wrap_middlewares  # type: ignore[attr-defined]
            chain = chains[timeout] = wrap(self.make_request, timeout=timeout)  # type: ignore[attr-defined]
        return await chain(bot, method)


class TelegramSession(KeptChain, AiohttpSession):
    """AiohttpSession whose answer models stay built (one per return type, a few dozen),
    whose late answers to a button press are taken as answered (LateAnswers), and whose
    middleware chain is kept (KeptChain)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.middleware(LateAnswers())

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        returning = method.__returning__
        if returning in SENT_RETURNS and HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            try:
                data = self.json_loads(content)
            except Exception:  # aiogram's own reading below raises its error
                data = None
            response = sent_answer(returning, data)
            if response is not None:
                return response
        _response_model(returning)  # pinned: aiogram's `Response[...]` finds it
        return super().check_response(bot, method, status_code, content)
