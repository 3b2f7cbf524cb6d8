"""Scripted client journeys over the fake Bot API, shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bot.app import build_dispatcher
from bot.dialogs import DialogService
from tests.fakes.bot_api import FakeBotApi, FakeUser

CLIENT_TOKEN = "123456:client-bot-token"


@contextlib.asynccontextmanager
async def polling_client(dialogs: DialogService) -> AsyncIterator[FakeBotApi]:
    """The client bot polling a fake Bot API; yields the fake."""
    async with FakeBotApi() as api:
        bot = api.make_bot(CLIENT_TOKEN, parse_mode=None)
        dispatcher = build_dispatcher(dialogs)
        task = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
        try:
            yield api
        finally:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            await task
            await bot.session.close()


def has(text: str):
    return lambda message: text in (message.get("text") or message.get("caption") or "")


async def book_in_telegram(
    api: FakeBotApi,
    token: str,
    user: FakeUser,
    start: str = "/start src-instagram_cmp-spring",
    phone: str = "79271234567",
    confirm: bool = True,
) -> dict:
    """From an ad link to a pre-booking of tomorrow's first manicure slot; the last message
    (without `confirm`: the summary, its «Подтвердить» not pressed)."""
    api.send_command(token, user, start)
    await api.wait_for_message(token, user.id, has("152-ФЗ"))
    api.press_button(token, user, text="✅ Согласен")
    await api.wait_for_message(token, user.id, has("Какая услуга"))
    api.press_button(token, user, text="Маникюр")
    await api.wait_for_message(token, user.id, has("Добавить к услуге"))
    api.press_button(token, user, text="Нет, спасибо")
    await api.wait_for_message(token, user.id, has("Когда вам удобно"))
    api.press_button(token, user, text="Завтра")
    slots = await api.wait_for_message(token, user.id, has("Свободные окна"))
    first = slots["reply_markup"]["inline_keyboard"][0][0]
    api.press_button(token, user, first["callback_data"])
    await api.wait_for_message(token, user.id, has("номер телефона"))
    assert api.reply_keyboard(token, user.id)["keyboard"][0][0]["request_contact"] is True
    api.share_contact(token, user, phone)
    await api.wait_for_message(token, user.id, has("Как к вам обращаться"))
    api.press_button(token, user, text=user.first_name)
    summary = await api.wait_for_message(token, user.id, has("Проверьте"))
    if not confirm:
        return summary
    api.press_button(token, user, text="✅ Подтвердить запись")
    return await api.wait_for_message(token, user.id, has("Заявка принята"))
