"""A day where nothing fits, clients joining its waitlist through the dialogue, and the
offers they are sent: shared by the waitlist tests and the bench."""

from __future__ import annotations

import datetime as dt

from bot.models import Appointment, Outbox
from bot.schedule_models import OverrideKind, ScheduleOverride
from bot.waitlist_models import WaitlistEntry
from scenarios.actions import TakeSpot, unpack
from scenarios.state import Step
from tests.conftest import SAMARA
from tests.dialog_chat import Chat, book, reach, text

TUE = dt.date(2026, 11, 24)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SAMARA).astimezone(dt.UTC)


async def block(master_id: str, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    """Close a master's time (as staff would, minus the staff bot)."""
    await ScheduleOverride.create(
        master_id=master_id,
        kind=OverrideKind.BLOCK,
        start=start,
        end=end,
        created_by=1,
        created_at=now,
    )


async def full_tuesday(now: dt.datetime) -> None:
    """Tuesday's manicure is only Анна at 10:00: Ольга blocked all day, Анна after 11:00."""
    await block("olga", at(TUE, 10), at(TUE, 21), now)
    await block("anna", at(TUE, 11), at(TUE, 21), now)


async def book_the_only_slot(chat: Chat) -> Appointment:
    """The client books Анна at 10:00 on Tuesday: the visit that will be cancelled."""
    assert "Заявка принята" in text(await book(chat))
    return await Appointment.filter(status__in=("pending", "confirmed")).order_by("-id").first()


async def join_for_tuesday(chat: Chat) -> WaitlistEntry:
    """«Завтра» → nothing fits → «Встать в лист ожидания»."""
    await reach(chat, Step.TIME)
    replies = await chat.press("when:tomorrow")
    assert "На это время свободных окон нет" in text(replies)
    assert "wait:join" in [b.action for r in replies for row in r.buttons for b in row]
    assert "Вы в листе ожидания" in text(await chat.press("wait:join"))
    client = await chat.client()
    return await WaitlistEntry.filter(client_id=client.id).order_by("-id").first()


async def offers_to(chat_id: int | str) -> list[str]:
    """The «Записаться» payloads of the waitlist offers queued to this chat, oldest first."""
    rows = await Outbox.filter(kind="waitlist_offer", chat_id=str(chat_id)).order_by("id")
    return [b[1] for r in rows for row in r.payload["buttons"] for b in row if b[1][:6] == "wtake:"]


def offer_id(payload: str) -> int:
    action = unpack(payload)
    assert isinstance(action, TakeSpot)
    return action.id
