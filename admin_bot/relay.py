"""Staff bot: talking to the client through the bots — typed messages, photos, /close.

A typed message first answers a pending question (admin_bot/outcomes.py), else goes to the
client of the lead replied to or of the dialogue the person has open, else may be a question
about the numbers (admin_bot/ask.py).
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

from admin_bot.ask import answer_staff_question
from admin_bot.buttons import ALL_ROLES, LEAD_ROLES, feature_router
from admin_bot.context import StaffContext
from admin_bot.outcomes import answer_awaited
from bot.lead_access import check_lead
from bot.lead_actions import client_chat, close_relay, notify_client, open_relay, relayed_lead
from bot.leads import lead_of
from bot.models import Lead, StaffRole
from bot.outbox import Message as OutMessage
from bot.outbox import enqueue
from bot.staff_desk import lead_of_card, log_relay, pending_question
from handlers.telegram import CHANNEL as TELEGRAM
from handlers.telegram import content_kind
from handlers.telegram_outbox import download

log = logging.getLogger("priyom.staff")
PHOTO_CHANNELS = {"whatsapp"}  # channels a manager's photo can be passed to


async def on_staff_message(
    message: Message, staff: StaffContext, bot: Bot, role: StaffRole
) -> None:
    me = message.from_user.id
    awaiting = await pending_question(me)
    if awaiting is not None and message.text:
        await answer_awaited(message, staff, awaiting)
        return
    if role not in LEAD_ROLES:
        await message.answer(staff.texts("staff.relay_no_dialog"))
        return
    lead = await _relay_target(message, me)
    if lead is None:  # no dialogue open: maybe a question about the numbers
        if not await answer_staff_question(message, staff, role):
            await message.answer(staff.texts("staff.relay_no_dialog"))
        return
    await check_lead(lead, me, staff.owner_ids)  # another manager's lead: read-only
    await open_relay(lead, me)  # idempotent; a reply to a card opens that lead's dialogue
    await relay_to_client(message, staff, bot, lead)


async def _relay_target(message: Message, staff_id: int) -> Lead | None:
    """A reply to a card names its lead; otherwise the dialogue this person has open."""
    reply = message.reply_to_message
    if reply is not None:
        lead = await lead_of_card(str(message.chat.id), reply.message_id)
        if lead is not None:
            return lead
    return await relayed_lead(staff_id)


async def relay_to_client(message: Message, staff: StaffContext, bot: Bot, lead: Lead) -> None:
    chat = await client_chat(lead)
    client_bot = staff.client_bot
    if chat is not None and chat[0] != TELEGRAM:
        await _relay_via_outbox(message, staff, lead, chat)
        return
    if chat is None or client_bot is None:
        await message.answer(staff.texts("staff.relay_no_dialog"))
        return
    _, chat_id = chat
    if message.photo or message.document:
        file = message.photo[-1] if message.photo else message.document
        data = await download(bot, file.file_id)
        if message.photo:
            await client_bot.send_photo(
                chat_id, BufferedInputFile(data, "photo.jpg"), caption=message.caption
            )
        else:
            name = message.document.file_name or "document"
            await client_bot.send_document(
                chat_id, BufferedInputFile(data, name), caption=message.caption
            )
        text = f"[{content_kind(message)}] {message.caption or ''}".strip()
    else:
        text = message.text or ""
        await client_bot.send_message(chat_id, text)
    await _log_relay(message, staff, lead, chat, text)


async def _relay_via_outbox(
    message: Message, staff: StaffContext, lead: Lead, chat: tuple[str, str]
) -> None:
    """A client on another channel (WhatsApp) gets the manager's words through the outbox,
    which sends on the client's own channel within its rules (the 24-hour window)."""
    channel, chat_id = chat
    text = message.text or message.caption or ""
    photo = None
    if message.photo and channel in PHOTO_CHANNELS:  # re-uploaded by the channel's sender
        photo = f"staff/photo:{message.photo[-1].file_id}"
    elif message.photo or message.document:
        await message.answer(staff.texts("channels.media_as_text", channel=channel))
    if text or photo:
        await enqueue(
            bot="client",
            channel=channel,
            chat_id=chat_id,
            kind="relay",
            message=OutMessage(text, photo=photo),
            dedup_key=f"relay:{message.chat.id}:{message.message_id}",
            now=staff.clock.now(),
            lead_id=lead.id,
        )
        logged = f"[{content_kind(message)}] {text}".strip() if photo else text
        await _log_relay(message, staff, lead, chat, logged)


async def _log_relay(
    message: Message, staff: StaffContext, lead: Lead, chat: tuple[str, str], text: str
) -> None:
    me = message.from_user.id
    await log_relay(lead, chat, me, content_kind(message), text, staff.clock.now())
    log.info("relayed_to_client", extra={"lead": lead.id, "staff": me})


async def on_close(message: Message, staff: StaffContext) -> None:
    conversations = await close_relay(message.from_user.id)
    if not conversations:
        await message.answer(staff.texts("staff.nothing_to_close"))
        return
    now = staff.clock.now()
    for conv in conversations:
        lead = await lead_of(conv.lead_id)
        if lead is not None:
            await notify_client(
                lead,
                "left",
                staff.texts("staff.client_manager_left"),
                now,
                f"{lead.id}:{conv.version}:{now.timestamp()}",
            )
        await message.answer(staff.texts("staff.closed", id=conv.lead_id))


def setup() -> Router:
    """/close for the lead's people; any other typed message from any member (role inside)."""
    router = Router(name="staff-relay")
    closing = feature_router("staff-close", *LEAD_ROLES)
    closing.message.register(on_close, Command("close"))
    typed = feature_router("staff-typed", *ALL_ROLES)
    typed.message.register(on_staff_message, ~F.text.startswith("/"))
    router.include_routers(closing, typed)
    return router
