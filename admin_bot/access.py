"""Who may do what in the staff bot, checked at the moment of every command and button.

Roles are read from the database on each use, never cached in a button or a menu: an
owner's removal of a manager takes effect on that manager's very next tap.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import ExceptionTypeFilter, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, ErrorEvent, Message

from admin_bot.context import StaffContext
from bot.i18n import Texts
from bot.models import StaffRole
from bot.staffwork.access import Refused
from bot.staffwork.actions import unpack
from bot.staffwork.staff import refuse_once, who
from handlers.telegram import Act
from handlers.telegram_filters import private_chat

log = logging.getLogger("priyom.staff.access")

ALL_ROLES = (StaffRole.OWNER, StaffRole.MANAGER, StaffRole.MASTER)


class HasRole(Filter):
    """Passes people with one of `roles` now; hands `role` and `member` to the handler."""

    def __init__(self, *roles: StaffRole) -> None:
        self.roles = frozenset(roles or ALL_ROLES)

    async def __call__(
        self, event: Message | CallbackQuery, staff: StaffContext, **data: Any
    ) -> bool | dict[str, Any]:
        if event.from_user is None:
            return False
        if "role" in data:  # an outer router's HasRole read it for this very update
            role, member = data["role"], data.get("member")
        else:
            role, member = await who(event.from_user.id, staff.owner_ids)
        if role is None or role not in self.roles:
            return False
        return {"role": role, "member": member}


def role_help(texts: Texts, role: StaffRole) -> str:
    """The role's help, plus the lines feature catalogs add as `help_extra.<part>.<role>`
    (inserted before the closing «/help» line, so each feature owns its own lines)."""
    *lines, last = texts(f"team.help.{role.value}").splitlines()
    suffix, names = f".{role.value}", texts.keys()
    extra = sorted(k for k in names if k.startswith("help_extra.") and k.endswith(suffix))
    return "\n".join([*lines, *(texts(k) for k in extra), last])


async def on_staff_unhandled(message: Message, staff: StaffContext, role: StaffRole) -> None:
    """A member wrote something no handler took (or a command above their role): the help."""
    help_text = role_help(staff.texts, role)
    if (message.text or "").startswith("/"):
        help_text = f"{staff.texts('team.not_allowed')}\n\n{help_text}"
    await message.answer(help_text)


async def on_stranger(message: Message, staff: StaffContext) -> None:
    """One polite refusal ever per person; after that, silence (no matter what they send)."""
    if message.from_user and await refuse_once(message.from_user.id, staff.clock.now()):
        await message.answer(staff.texts("team.refusal"))


_Kind = TypeVar("_Kind", bound=type[CallbackData])
TYPED: list[type[CallbackData]] = []  # the staff bot's own aiogram payloads (team, handover)


def typed_payload(kind: _Kind) -> _Kind:
    """Declare a staff-bot CallbackData class, so its well-formed payloads are not stale."""
    TYPED.append(kind)
    return kind


class Stale(Filter):
    """A staff-bot press whose payload unpacks to no action (forged, garbled or retired)."""

    async def __call__(self, query: CallbackQuery) -> bool:
        data = query.data or ""
        value = act_value(data)
        if value is not None:
            return unpack(value) is None
        return not any(_parses(kind, data) for kind in TYPED)


def _parses(kind: type[CallbackData], data: str) -> bool:
    try:
        kind.unpack(data)
    except (TypeError, ValueError):
        return False
    return True


def act_value(data: str) -> str | None:
    """The action string inside Telegram's `Act` wrapper, or None when it is not one."""
    try:
        return Act.unpack(data).v
    except (TypeError, ValueError):
        return None


async def on_stale(query: CallbackQuery, staff: StaffContext) -> None:
    """Answered politely and logged (its size, not its content); nothing is changed."""
    log.warning("stale_button", extra={"staff": query.from_user.id, "size": len(query.data or "")})
    await query.answer(staff.texts("staff.unknown_action"), show_alert=True)


async def on_denied_button(query: CallbackQuery, staff: StaffContext) -> None:
    """A button nobody with this person's current role may press: say so, change nothing."""
    await query.answer(staff.texts("team.no_access"), show_alert=True)


class StaleButton(Refused):
    """Callback data that no current button carries (old, or crafted by hand)."""

    key = "staff.unknown_action"


async def on_refused(event: ErrorEvent, staff: StaffContext) -> None:
    """A service refused the action (bot.staffwork.access): a polite answer, nothing changed."""
    exc = event.exception
    assert isinstance(exc, Refused)
    t = staff.texts
    params = {k: t.money(v) if k.endswith("_kop") else v for k, v in exc.params.items()}
    text = t(exc.key, **params)
    query, message = event.update.callback_query, event.update.message
    user = (query or message).from_user if (query or message) else None
    log.info("staff_refused", extra={"staff": user and user.id, "reason": type(exc).__name__})
    if message is not None:
        await message.answer(text)
        return
    if query is None:
        return
    try:
        await query.answer(text, show_alert=True)
    except TelegramBadRequest:  # answered already: say it in the chat instead
        if query.from_user:
            await query.bot.send_message(query.from_user.id, text)


def refusal_router() -> Router:
    """The catch-all: include it LAST in the staff dispatcher."""
    router = Router(name="staff-refusal")
    # in a staff group: stay silent
    router.message.register(on_staff_unhandled, private_chat, HasRole(*ALL_ROLES))
    router.message.register(on_stranger, private_chat)
    router.callback_query.register(on_stale, Stale())
    router.callback_query.register(on_denied_button)
    router.errors.register(on_refused, ExceptionTypeFilter(Refused))
    return router
