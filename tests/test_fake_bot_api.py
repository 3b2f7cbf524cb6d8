"""The fake Telegram Bot API, exercised by the real aiogram Bot and Dispatcher over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.fakes.bot_api import FakeBotApi, FakeUser

TOKEN = "123456:TEST-token-one"
TOKEN2 = "654321:TEST-token-two"
ANNA = FakeUser(id=1001, first_name="Анна", username="anna")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    bot = api.make_bot(TOKEN)
    try:
        yield bot
    finally:
        await bot.session.close()


@contextlib.asynccontextmanager
async def polling(dp: Dispatcher, *bots: Bot) -> AsyncIterator[None]:
    task = asyncio.create_task(dp.start_polling(*bots, handle_signals=False))
    try:
        yield
    finally:
        if task.done():
            task.result()  # surface a crash of the polling loop
        else:
            await dp.stop_polling()
            await asyncio.wait_for(task, 5)


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Да", callback_data="confirm:yes"),
                InlineKeyboardButton(text="Нет", callback_data="confirm:no"),
            ]
        ]
    )


async def test_echo_with_inline_keyboard(api: FakeBotApi, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"<b>Вы написали:</b> {message.text}", reply_markup=keyboard())

    async with polling(dp, bot):
        api.send_text(TOKEN, ANNA, "привет")
        msg = await api.wait_for_message(TOKEN, ANNA.id)

    assert msg["text"] == "Вы написали: привет"  # HTML parsed like the real server
    assert msg["entities"] == [{"type": "bold", "offset": 0, "length": 12}]
    assert msg["message_id"] == 2  # the user's message took id 1 in this chat
    assert msg["from"]["username"] == "bot123456"
    assert msg["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "confirm:yes"
    call = await api.wait_for_call(TOKEN, "sendMessage")
    assert call.params["chat_id"] == ANNA.id
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"]["inline_keyboard"][0][1]["text"] == "Нет"
    assert [c.method for c in api.calls(TOKEN)][:2] == ["getMe", "getUpdates"]


async def test_callback_answered_and_message_edited(api: FakeBotApi, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def ask(message: Message) -> None:
        await message.answer("Подтвердить запись?", reply_markup=keyboard())

    @dp.callback_query(F.data.startswith("confirm:"))
    async def confirm(query: CallbackQuery) -> None:
        await query.answer("Готово")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"Ответ: {query.data}")

    async with polling(dp, bot):
        api.send_text(TOKEN, ANNA, "записаться")
        asked = await api.wait_for_message(TOKEN, ANNA.id)
        update = api.press_button(TOKEN, ANNA, "confirm:yes")
        assert update["callback_query"]["message"]["message_id"] == asked["message_id"]
        answer = await api.wait_for_call(TOKEN, "answerCallbackQuery")
        edited = await api.wait_for_message(TOKEN, ANNA.id, lambda m: "edit_date" in m)

    assert answer.params["text"] == "Готово"
    assert edited["message_id"] == asked["message_id"]
    assert edited["text"] == "Ответ: confirm:yes"
    assert "reply_markup" not in edited  # edit without markup removes the keyboard
    assert len(api.sent(TOKEN, ANNA.id)) == 1
    with pytest.raises(AssertionError, match="not on message"):
        api.press_button(TOKEN, ANNA, "nope", message_id=asked["message_id"])


async def test_deep_link_start_payload(api: FakeBotApi, bot: Bot) -> None:
    dp = Dispatcher()
    router = Router()

    @router.message(CommandStart(deep_link=True))
    async def start_deep(message: Message, command: CommandObject) -> None:
        await message.answer(f"source={command.args}")

    @router.message(CommandStart())
    async def start_plain(message: Message) -> None:
        await message.answer("plain start")

    dp.include_router(router)
    async with polling(dp, bot):
        api.send_command(TOKEN, ANNA, "/start src-instagram")
        first = await api.wait_for_message(TOKEN, ANNA.id)
        api.send_command(TOKEN, ANNA, "start")
        second = await api.wait_for_message(TOKEN, ANNA.id)

    assert first["text"] == "source=src-instagram"
    assert second["text"] == "plain start"


async def test_scripted_failures(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(ANNA.id, "hi")
    assert exc.value.retry_after == 3
    assert "Too Many Requests: retry after 3" in exc.value.message

    api.fail_next("sendMessage", status=500)
    with pytest.raises(TelegramServerError):
        await bot.send_message(ANNA.id, "hi")

    api.fail_next("sendMessage", delay_seconds=0.05)  # delayed, then succeeds
    sent = await bot.send_message(ANNA.id, "hi")
    assert sent.message_id == 1
    assert [c.status for c in api.calls(TOKEN, "sendMessage")] == [429, 500, 200]

    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await bot.send_message(ANNA.id, "a <br> b")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("hi", chat_id=ANNA.id, message_id=sent.message_id)


async def test_blocked_chat_is_forbidden(api: FakeBotApi, bot: Bot) -> None:
    api.block_chat(ANNA.id)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ANNA.id, "напоминание")
    assert api.sent(TOKEN, ANNA.id) == []
    await bot.send_message(2002, "other chat is fine")
    assert api.last_message(TOKEN, 2002)["text"] == "other chat is fine"


async def test_send_photo_upload_recorded(api: FakeBotApi) -> None:
    # The plain aiogram way of pointing a Bot at a local server (api.make_bot does this).
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    try:
        await _send_photo_upload_recorded(api, bot)
    finally:
        await bot.session.close()


async def _send_photo_upload_recorded(api: FakeBotApi, bot: Bot) -> None:
    photo = BufferedInputFile(b"\x89PNG fake image bytes", filename="slots.png")
    msg = await bot.send_photo(ANNA.id, photo, caption="<i>Свободные</i> окна")

    assert msg.photo and msg.photo[-1].file_id
    assert msg.caption == "Свободные окна"
    call = await api.wait_for_call(TOKEN, "sendPhoto")
    upload = call.files["photo"]
    assert (upload.filename, upload.size) == ("slots.png", 21)
    assert call.params["photo"].startswith("attach://")
    stored = api.last_message(TOKEN, ANNA.id)
    assert stored["caption_entities"] == [{"type": "italic", "offset": 0, "length": 9}]


async def test_long_poll_wakes_on_push_and_offset_confirms(api: FakeBotApi, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.05)
    pushed = api.send_text(TOKEN, ANNA, "wake up")
    updates = await asyncio.wait_for(poll, 2)
    assert loop.time() - started < 1
    assert [u.update_id for u in updates] == [pushed["update_id"]]

    # Not confirmed yet: delivered again; confirmed by offset: gone.
    assert len(await bot.get_updates(timeout=0)) == 1
    assert await bot.get_updates(offset=pushed["update_id"] + 1, timeout=0) == []
    assert api.pending_updates(TOKEN) == []


async def test_two_bots_have_separate_queues(api: FakeBotApi) -> None:
    bot1, bot2 = api.make_bot(TOKEN), api.make_bot(TOKEN2)
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message, bot: Bot) -> None:
        await message.answer(f"{bot.id}: {message.text}")

    try:
        async with polling(dp, bot1, bot2):
            api.send_text(TOKEN2, ANNA, "to two")
            api.share_contact(TOKEN, ANNA, "+79991234567", "Анна")
            api.send_text(TOKEN, ANNA, "to one")
            one = await api.wait_for_message(TOKEN, ANNA.id)
            two = await api.wait_for_message(TOKEN2, ANNA.id)
    finally:
        await asyncio.gather(bot1.session.close(), bot2.session.close())

    assert one["text"] == "123456: to one"
    assert two["text"] == "654321: to two"
    assert one["message_id"] == 3  # contact 1, text 2, reply 3
    assert len(api.sent(TOKEN, ANNA.id)) == 1
    with pytest.raises(AssertionError, match="recent calls"):
        await api.wait_for_call(TOKEN, "sendDocument", timeout=0.05)


@pytest.mark.parametrize("in_background", [False, True])
async def test_a_method_in_the_webhook_answer_is_made_as_telegram_makes_it(
    api: FakeBotApi, bot: Bot, in_background: bool
) -> None:
    """aiogram's own webhook handler answers with the handler's method as a multipart
    form (not in the background) or calls it itself: the fake records either once."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler
    from aiohttp import web

    dp = Dispatcher()

    @dp.callback_query()
    async def press(query: CallbackQuery):
        return query.answer("Готово", show_alert=True)

    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=in_background).register(app, path="/h")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        await bot.set_webhook(f"http://127.0.0.1:{port}/h")
        api.press_button(TOKEN, ANNA, "x", strict=False)
        answer = await api.wait_for_call(TOKEN, "answerCallbackQuery")
        await asyncio.sleep(0.05)  # nothing more comes
    finally:
        await runner.cleanup()
    assert (answer.params["text"], answer.params["show_alert"]) == ("Готово", True)
    assert answer.in_webhook_response is not in_background
    assert len(api.calls(TOKEN, "answerCallbackQuery")) == 1
    assert api.webhook_statuses(TOKEN) == [200]
