"""aiogram's HTTP session, minus a pydantic model class built again for most Bot API calls.

aiogram reads every answer as `Response[method.__returning__]`. pydantic keeps such a
parametrized class only in a weak cache, and the class lives in reference cycles: each
garbage collection drops it, and the next call builds it again (the schema, the validator:
about a tenth of an instance's CPU in bench/scale_bench.py, py-spy). Holding one strong
reference per return type keeps the weak cache warm; aiogram's own code reads the answer.
"""

from __future__ import annotations

import functools
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import Response, TelegramMethod

from handlers.telegram_answers import LateAnswers


@functools.cache
def _response_model(returning: Any) -> type[Response[Any]]:
    return Response[returning]  # type: ignore[valid-type]


class TelegramSession(AiohttpSession):
    """AiohttpSession whose answer models stay built (one per return type, a few dozen),
    and whose late answers to a button press are taken as answered (LateAnswers)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.middleware(LateAnswers())

    def check_response(
        self, bot: Bot, method: TelegramMethod[Any], status_code: int, content: str
    ) -> Response[Any]:
        _response_model(method.__returning__)  # pinned: aiogram's `Response[...]` finds it
        return super().check_response(bot, method, status_code, content)
