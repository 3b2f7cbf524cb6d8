"""Staff bot: /book for a client who phoned or walked in — service, the nearest free slots,
phone and name, where the client came from, confirm (bot.staffwork.booking does the booking).

The unfinished booking is a draft in the database (bot.staffwork.drafts); buttons carry typed
payloads, re-checked on the way back (a master books only their own services and time).
"""

from __future__ import annotations

import datetime as dt

from aiogram import Router
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from admin_bot.access import HasRole, StaleButton
from admin_bot.context import StaffContext
from bot.booking.slots import Slot
from bot.models import StaffMember, StaffRole
from bot.staffwork import drafts as staff_drafts
from bot.staffwork.booking import StaffSource, book_for_client, known_client
from handlers.telegram_filters import private_chat
from scenarios.parsing import normalize_phone

DRAFT = "book"
SLOTS_SHOWN = 6
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
Kb = InlineKeyboardMarkup


class BookService(CallbackData, prefix="sb_svc"):
    service_id: str


class BookSlot(CallbackData, prefix="sb_slot"):
    service_id: str
    master_id: str
    minute: int  # the start, in minutes since the epoch (UTC)


class BookSource(CallbackData, prefix="sb_src"):
    source: StaffSource


class BookConfirm(CallbackData, prefix="sb_ok"):
    go: bool  # False: «другое время», back to the slots


class AwaitingContact(Filter):
    """A plain text from someone whose /book waits for the phone and name."""

    async def __call__(self, message: Message, staff: StaffContext) -> bool | dict:
        if message.from_user is None or (message.text or "/").startswith("/"):
            return False
        draft = await staff_drafts.load(DRAFT, message.from_user.id, staff.clock.now())
        return {"draft": draft} if draft and draft.get("step") == "contact" else False


def _own(role: StaffRole, member: StaffMember | None) -> str | None:
    """The master whose time a master books (only their own); None: anyone's."""
    return member.master_id if role is StaffRole.MASTER and member is not None else None


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


async def on_book(
    message: Message, staff: StaffContext, role: StaffRole, member: StaffMember | None
) -> None:
    own, config = _own(role, member), await staff.catalog(offered_only=True)
    services = [s for s in config.services if own is None or own in s.masters]
    rows = [[_button(s.title, BookService(service_id=s.id))] for s in services]
    await staff_drafts.clear(DRAFT, message.from_user.id)
    await message.answer(
        staff.texts("staffbook.pick_service"), reply_markup=Kb(inline_keyboard=rows)
    )


async def on_service(
    query: CallbackQuery,
    callback_data: BookService,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    await query.answer()
    await _offer_slots(query.message, staff, callback_data.service_id, _own(role, member))


async def _offer_slots(message: Message, staff: StaffContext, service_id: str, own) -> None:
    """The nearest free slots of the service (a master: their own), from the same engine."""
    t, config = staff.texts, await staff.catalog(offered_only=True)
    service = config.service(service_id)
    if service is None or (own is not None and own not in service.masters):
        await message.answer(t("staffbook.not_your_service"))
        return
    today = staff.clock.now().astimezone(config.tz).date()
    last = today + dt.timedelta(days=config.booking.horizon_days)
    slots = await staff.booker.free_slots(service, [], today, last)
    shown: list[Slot] = []
    for slot in slots:
        if own is None or slot.master_id == own:
            shown.append(slot)
        if len(shown) == SLOTS_SHOWN:
            break
    if not shown:
        await message.answer(t("staffbook.no_slots", service=service.title))
        return
    rows = [[_button(_slot_label(staff, s), _slot_data(service_id, s))] for s in shown]
    text = t("staffbook.pick_slot", service=service.title)
    await message.answer(text, reply_markup=Kb(inline_keyboard=rows))


def _slot_label(staff: StaffContext, slot: Slot) -> str:
    master = staff.config.master(slot.master_id)
    when = staff.texts.moment(slot.start.astimezone(staff.config.tz))
    return f"{when}, {master.name if master else slot.master_id}"


def _slot_data(service_id: str, slot: Slot) -> BookSlot:
    minute = int((slot.start - EPOCH).total_seconds() // 60)
    return BookSlot(service_id=service_id, master_id=slot.master_id, minute=minute)


async def on_slot(
    query: CallbackQuery,
    callback_data: BookSlot,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    own = _own(role, member)
    service = (await staff.catalog(offered_only=True)).service(callback_data.service_id)
    if service is None or callback_data.master_id not in service.masters:
        raise StaleButton()
    if own is not None and callback_data.master_id != own:
        await query.answer(staff.texts("schedule.not_your_time"), show_alert=True)
        return
    await query.answer()
    start = EPOCH + dt.timedelta(minutes=callback_data.minute)
    draft = {"step": "contact", "service_id": service.id, "master_id": callback_data.master_id}
    draft["start"] = start.isoformat()
    await staff_drafts.save(DRAFT, query.from_user.id, draft, staff.clock.now())
    master = staff.config.master(callback_data.master_id)
    when = staff.texts.moment(start.astimezone(staff.config.tz))
    await query.message.answer(staff.texts("staffbook.ask_contact", when=when, master=master.name))


async def on_contact(message: Message, staff: StaffContext, draft: dict) -> None:
    """«+7 927 123-45-67 Ксения»: a valid E.164 phone and a name, or a specific answer."""
    t, text = staff.texts, message.text or ""
    phone = normalize_phone(text)
    if phone is None:
        await message.answer(t("staffbook.bad_phone"))
        return
    name = " ".join(w for w in text.split() if not any(c.isdigit() for c in w)).strip(" ,.-+()")
    if not name:
        await message.answer(t("staffbook.no_name"))
        return
    draft.update(step="source", phone=phone, name=name[:80])
    await staff_drafts.save(DRAFT, message.from_user.id, draft, staff.clock.now())
    rows = [
        [
            _button(t("staffbook.btn_phone"), BookSource(source=StaffSource.PHONE)),
            _button(t("staffbook.btn_walk_in"), BookSource(source=StaffSource.WALK_IN)),
        ]
    ]
    await message.answer(t("staffbook.pick_source"), reply_markup=Kb(inline_keyboard=rows))


async def on_source(query: CallbackQuery, callback_data: BookSource, staff: StaffContext) -> None:
    t, config = staff.texts, await staff.catalog(offered_only=True)
    draft = await staff_drafts.load(DRAFT, query.from_user.id, staff.clock.now())
    if draft is None or draft.get("step") != "source":
        await query.answer(t("staffbook.expired"), show_alert=True)
        return
    await query.answer()
    draft.update(step="confirm", source=callback_data.source.value)
    await staff_drafts.save(DRAFT, query.from_user.id, draft, staff.clock.now())
    known = await known_client(draft["phone"])
    service, master = config.service(draft["service_id"]), config.master(draft["master_id"])
    start = dt.datetime.fromisoformat(draft["start"])
    text = t(
        "staffbook.summary",
        service=service.title,
        when=t.moment(start.astimezone(config.tz)),
        master=master.name,
        name=draft["name"],
        phone=draft["phone"],
        known=t("staffbook.known", channel=known.channel) if known else "",
        source=t(f"staffbook.source.{draft['source']}"),
    )
    rows = [
        [_button(t("staffbook.btn_book"), BookConfirm(go=True))],
        [_button(t("staffbook.btn_other_time"), BookConfirm(go=False))],
    ]
    await query.message.answer(text, reply_markup=Kb(inline_keyboard=rows))


async def on_confirm(
    query: CallbackQuery,
    callback_data: BookConfirm,
    staff: StaffContext,
    role: StaffRole,
    member: StaffMember | None,
) -> None:
    """Book, re-checking the slot now; a lost race shows the nearest other slots."""
    t, config, user_id = staff.texts, await staff.catalog(offered_only=True), query.from_user.id
    draft = await staff_drafts.load(DRAFT, user_id, staff.clock.now())
    if draft is None or draft.get("step") != "confirm":
        await query.answer(t("staffbook.expired"), show_alert=True)
        return
    await query.answer()
    if not callback_data.go:
        await _offer_slots(query.message, staff, draft["service_id"], _own(role, member))
        return
    service = config.service(draft["service_id"])
    start = dt.datetime.fromisoformat(draft["start"])
    slot = Slot(start, start + dt.timedelta(minutes=service.duration), draft["master_id"])
    booked = await book_for_client(
        staff.booker,
        t,
        slot,
        service.id,
        draft["phone"],
        draft["name"],
        StaffSource(draft["source"]),
        user_id,
        role,
    )
    if booked is None:
        await query.message.answer(t("staffbook.taken"))
        await _offer_slots(query.message, staff, service.id, _own(role, member))
        return
    await staff_drafts.clear(DRAFT, user_id)
    a = booked.appointment
    await query.message.answer(
        t(
            "staffbook.booked",
            id=booked.lead.id,
            when=t.moment(a.start.astimezone(config.tz)),
            service=service.title,
            master=config.master(a.master_id).name,
            name=draft["name"],
        )
    )


def booking_router() -> Router:
    """/book for every staff role (a master: their own schedule), checked on each use."""
    router = Router(name="staff-booking")
    router.message.filter(private_chat, HasRole())
    router.callback_query.filter(HasRole())
    router.message.register(on_book, Command("book"))
    router.message.register(on_contact, AwaitingContact())
    router.callback_query.register(on_service, BookService.filter())
    router.callback_query.register(on_slot, BookSlot.filter())
    router.callback_query.register(on_source, BookSource.filter())
    router.callback_query.register(on_confirm, BookConfirm.filter())
    return router
