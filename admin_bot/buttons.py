"""The staff bot's side of the typed buttons (bot/staffwork/actions.py): filters, keyboards, cards.

Staff buttons ride in `Act` (the Telegram wrapper of a core action string); a handler asks
for one action type with `pressed(Claim)` and gets the validated value as `action`.
A payload that does not unpack is answered as stale by the refusal router (admin_bot/access.py).
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from admin_bot.access import ALL_ROLES, HasRole, act_value
from bot.delivery.outbox import Message as OutMessage
from bot.i18n import Texts
from bot.models import StaffRole
from bot.staffwork.actions import Action, Reasoned, unpack
from handlers.telegram_outbox import markup

Rows = list[list[tuple[str, str]]]
OWNER, MANAGER, MASTER = StaffRole.OWNER, StaffRole.MANAGER, StaffRole.MASTER
LEAD_ROLES = (OWNER, MANAGER)  # who works leads
__all__ = ["ALL_ROLES", "LEAD_ROLES", "ask_reason", "feature_router", "keyboard", "pressed", "show"]


class Pressed(Filter):
    """Passes a press whose payload unpacks to `kind`; hands the value over as `action`."""

    def __init__(self, kind: type[Action]) -> None:
        self.kind = kind

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        action = _action_of(query.data or "")
        return {"action": action} if type(action) is self.kind else False


def pressed(kind: type[Action]) -> Pressed:
    return Pressed(kind)


def keyboard(actions: list[tuple[str, Action]]) -> Rows:
    """One button a row: (label, typed action) → the outbox's (label, packed) rows."""
    return [[(label, action.pack())] for label, action in actions]


def feature_router(name: str, *roles: StaffRole) -> Router:
    """A feature's router with the role filter on the router, once for all its handlers."""
    router = Router(name=name)
    router.message.filter(HasRole(*roles))
    router.callback_query.filter(HasRole(*roles))
    return router


async def ask_reason(
    query: CallbackQuery, choice: type[Reasoned], record_id: int, topic: str, texts: Texts
) -> None:
    """`staff.<topic>_ask` with one button per reason `choice` allows (cancel, lost)."""
    label = f"staff.{topic}_reason"
    rows = keyboard([(texts(f"{label}.{r}"), choice(record_id, r)) for r in choice.reasons])
    await query.answer()
    await show(
        query.message, OutMessage(texts(f"staff.{topic}_ask", id=record_id), rows), edit=False
    )


async def show(message: Message | None, out: OutMessage, edit: bool = True) -> None:
    """Edit the card in place (or answer with a new message when it can't be edited)."""
    if not isinstance(message, Message):
        return
    if edit:
        try:
            await message.edit_text(out.text, reply_markup=markup(out.payload()["buttons"]))
            return
        except Exception:
            pass
    await message.answer(out.text, reply_markup=markup(out.payload()["buttons"]))


def _action_of(data: str) -> Action | None:
    value = act_value(data)
    return unpack(value) if value is not None else None
