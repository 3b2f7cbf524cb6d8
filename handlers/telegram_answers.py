"""A button press handled again finds its callback query answered or expired.

Telegram delivers an update again when our acknowledgement did not reach it (an instance
killed after its step, a webhook answer that came too late), and it refuses a second or
late `answerCallbackQuery` with a 400. The answer only stops the button's spinner, so the
refusal is logged and the press goes on: without this the staff bot's handlers failed on
it, the webhook answered 503, and Telegram redelivered the press until it gave up.
Installed on every Bot's session (aiogram's request middleware), like the sending pace.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import AnswerCallbackQuery, Response, TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger("priyom.telegram")


class LateAnswers(BaseRequestMiddleware):
    """Turns Telegram's refusal of a callback answer into «answered»."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if not isinstance(method, AnswerCallbackQuery):
                raise
            log.info("callback_answer_refused", extra={"reason": exc.message})
            # make_request gives the result itself, whatever its annotation says
            return True  # type: ignore[return-value]
