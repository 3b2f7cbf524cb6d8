"""`/services`: the owner sees the catalog as it is now and edits it with buttons.

Price, duration and deposit are typed after a button (the next message is the value);
masters and on/off are toggles. Every change goes through bot.booking.catalog (validated, stored
over the TOML with an audit row) and applies to new bookings only. Owners only: the role
filter is on the router, so anyone else falls through to the refusal router.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from admin_bot.access import HasRole
from admin_bot.context import StaffContext
from bot.booking import catalog
from bot.config import BusinessConfig, Service
from bot.i18n import Texts
from bot.models import StaffAwaiting, StaffRole
from bot.staffwork.desk import answer_question
from handlers.telegram_filters import typed_text

log = logging.getLogger("priyom.staff.catalog")
TYPED = ("price", "duration", "deposit")  # asked as a typed value
AWAIT_PREFIX = "svc_"  # StaffAwaiting.what for «the next message is a service's value»


class Svc(CallbackData, prefix="svc"):
    """A catalog button: which service, what to do, and for `master` which master."""

    id: str
    op: str  # menu | price | duration | deposit | masters | master | enabled
    arg: str = ""


def _btn(text: str, data: Svc) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def service_line(t: Texts, config: BusinessConfig, s: Service, on: bool) -> str:
    names = ", ".join(m.name for m in config.masters if m.id in s.masters)
    return t(
        "catalog.line",
        title=s.title,
        id=s.id,
        price=t.money(catalog._kop(s.price)),
        duration=s.duration,
        deposit=t.money(catalog._kop(s.deposit)),
        masters=names,
        state=t("catalog.on" if on else "catalog.off"),
    )


async def listing(staff: StaffContext) -> tuple[str, InlineKeyboardMarkup]:
    t, config = staff.texts, await catalog.effective_config(staff.config)
    lines, rows = [t("catalog.title")], []
    for s in config.services:
        on = await catalog.is_enabled(s.id)
        lines.append(service_line(t, config, s, on))
        rows.append([_btn(t("catalog.btn_edit", title=s.title), Svc(id=s.id, op="menu"))])
    lines.append(t("catalog.footer"))
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def service_menu(staff: StaffContext, service_id: str) -> tuple[str, InlineKeyboardMarkup]:
    t, config = staff.texts, await catalog.effective_config(staff.config)
    s = config.service(service_id)
    if s is None:
        return t("catalog.bad.unknown_service"), InlineKeyboardMarkup(inline_keyboard=[])
    on = await catalog.is_enabled(s.id)
    rows = [
        [
            _btn(t("catalog.btn_price"), Svc(id=s.id, op="price")),
            _btn(t("catalog.btn_duration"), Svc(id=s.id, op="duration")),
        ],
        [
            _btn(t("catalog.btn_deposit"), Svc(id=s.id, op="deposit")),
            _btn(t("catalog.btn_masters"), Svc(id=s.id, op="masters")),
        ],
        [
            _btn(
                t("catalog.btn_off" if on else "catalog.btn_on"),
                Svc(id=s.id, op="enabled", arg="0" if on else "1"),
            )
        ],
    ]
    return service_line(t, config, s, on), InlineKeyboardMarkup(inline_keyboard=rows)


async def masters_menu(staff: StaffContext, service_id: str) -> tuple[str, InlineKeyboardMarkup]:
    t, config = staff.texts, await catalog.effective_config(staff.config)
    s = config.service(service_id)
    if s is None:
        return t("catalog.bad.unknown_service"), InlineKeyboardMarkup(inline_keyboard=[])
    rows = [
        [_btn(("✅ " if m.id in s.masters else "▫️ ") + m.name, Svc(id=s.id, op="master", arg=m.id))]
        for m in config.masters
    ]
    rows.append([_btn(t("catalog.btn_back"), Svc(id=s.id, op="menu"))])
    return t("catalog.masters_title", title=s.title), InlineKeyboardMarkup(inline_keyboard=rows)


async def on_services(message: Message, staff: StaffContext) -> None:
    if message.from_user:  # a value asked for earlier is not awaited any more
        me = message.from_user.id
        await StaffAwaiting.filter(telegram_id=me, what__startswith=AWAIT_PREFIX).delete()
    text, markup = await listing(staff)
    await message.answer(text, reply_markup=markup)


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup) -> None:
    if isinstance(query.message, Message):
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_text(text, reply_markup=markup)


async def on_button(query: CallbackQuery, callback_data: Svc, staff: StaffContext) -> None:
    t, data, me = staff.texts, callback_data, query.from_user.id
    if staff.config.service(data.id) is None:
        await query.answer(t("catalog.bad.unknown_service"), show_alert=True)
        return
    if data.op in TYPED:
        index = [s.id for s in staff.config.services].index(data.id)
        await StaffAwaiting.update_or_create(
            telegram_id=me,
            defaults={"what": AWAIT_PREFIX + data.op, "ref": index, "at": staff.clock.now()},
        )
        await query.answer()
        title = staff.config.service(data.id).title
        await query.bot.send_message(me, t(f"catalog.ask.{data.op}", title=title))
        return
    if data.op == "masters":
        await query.answer()
        await _show(query, *await masters_menu(staff, data.id))
        return
    if data.op in ("master", "enabled"):
        await _toggle(query, data, staff)
        return
    await query.answer()
    await _show(query, *await service_menu(staff, data.id))


async def _toggle(query: CallbackQuery, data: Svc, staff: StaffContext) -> None:
    t, me, now = staff.texts, query.from_user.id, staff.clock.now()
    current = (await catalog.effective_config(staff.config)).service(data.id)
    if data.op == "master":
        if staff.config.master(data.arg) is None:
            await query.answer(t("catalog.bad.unknown_master"), show_alert=True)
            return
        chosen = set(current.masters) ^ {data.arg}
        value: object = [m.id for m in staff.config.masters if m.id in chosen]
    else:
        value = data.arg == "1"
    field = "masters" if data.op == "master" else "enabled"
    try:
        await catalog.change(staff.config, data.id, field, value, me, now)
    except catalog.CatalogInputError as exc:
        await query.answer(t(f"catalog.bad.{exc.key}", **exc.params), show_alert=True)
        return
    await query.answer(t("catalog.saved_short"))
    log.info("catalog_changed", extra={"service": data.id, "field": data.op, "by": me})
    menu = masters_menu if data.op == "master" else service_menu
    await _show(query, *await menu(staff, data.id))


class AwaitingValue(Filter):
    """Passes a typed message when its author was asked for a service's value."""

    async def __call__(self, message: Message) -> bool | dict:
        if message.from_user is None:
            return False
        row = await StaffAwaiting.get_or_none(telegram_id=message.from_user.id)
        if row is None or not row.what.startswith(AWAIT_PREFIX):
            return False
        return {"awaiting": row}


async def on_value(message: Message, staff: StaffContext, awaiting: StaffAwaiting) -> None:
    t, me, field = staff.texts, message.from_user.id, awaiting.what.removeprefix(AWAIT_PREFIX)
    services = staff.config.services
    if not 0 <= awaiting.ref < len(services) or field not in TYPED:
        await StaffAwaiting.filter(telegram_id=me).delete()
        return
    service_id = services[awaiting.ref].id
    parse = {
        "price": catalog.parse_price,
        "duration": catalog.parse_duration,
        "deposit": catalog.parse_rubles,
    }[field]
    try:
        value = parse(message.text or "")
        before, after = await answer_question(  # the value, the question used up, the receipt
            me,
            lambda: catalog.change(staff.config, service_id, field, value, me, staff.clock.now()),
        )
    except catalog.CatalogInputError as exc:  # asked again: the next message is the value
        params = {k: t.money(v) if k in ("price", "deposit") else v for k, v in exc.params.items()}
        await message.answer(t(f"catalog.bad.{exc.key}", **params))
        return
    was, now = catalog.shown(before, field), catalog.shown(after, field)
    if field != "duration":
        was, now = t.money(int(was)), t.money(int(now))
    await message.answer(t(f"catalog.saved.{field}", title=after.title, before=was, after=now))
    log.info("catalog_changed", extra={"service": service_id, "field": field, "by": me})
    text, markup = await service_menu(staff, service_id)
    await message.answer(text, reply_markup=markup)


def catalog_router() -> Router:
    """Owners only; include it before the lead router (its typed values come first)."""
    router = Router(name="staff-catalog")
    owner = HasRole(StaffRole.OWNER)
    router.message.filter(owner)
    router.callback_query.filter(owner)
    router.message.register(on_services, Command("services"))
    router.message.register(on_value, typed_text, AwaitingValue())
    router.callback_query.register(on_button, Svc.filter())
    return router
