"""Relay dialogues for the coach tests, written straight into the message log.

Monday 23 November 2026 in Samara: the salon works 10:00–20:00, so the turns at 11:00 are
in working time and response times count in full. Маша (7001) and Петя (7002) are managers.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.models import Client, Conversation, Lead, LeadStatus, MessageLog, StaffMember, StaffRole

SAMARA = ZoneInfo("Europe/Samara")
MASHA_ID, PETYA_ID = 7001, 7002
START = dt.datetime(2026, 11, 23, 11, 0, tzinfo=SAMARA)

GOOD = [
    ("C", "Здравствуйте, хочу на маникюр", 0),
    ("M", "Здравствуйте! Вам с покрытием или без? Какой длины ногти?", 2),
    ("C", "С покрытием, короткие", 3),
    ("M", "Завтра в 15:30 свободно у Анны, 2200 ₽. Записать?", 4),
    ("C", "Да, спасибо!", 5),
    ("M", "Записала вас на завтра 15:30, жду вас!", 6),
]
PRICE_FIRST = [
    ("C", "Сколько стоит стрижка? Мой номер +7 927 123-45-67, Ксения", 0),
    ("M", "Женская стрижка 1800 рублей.", 12),
    ("C", "Дорого как-то", 13),
    ("M", "Могу записать на четверг в 12:00", 14),
    ("C", "Не, я подумаю", 15),
]


async def dialogue_lead(
    n: int,
    manager: int,
    turns: list[tuple[str, str, int]],
    status: LeadStatus = LeadStatus.LOST,
    start: dt.datetime = START,
    name: str = "Ксения",
) -> Lead:
    """A client, a lead held by `manager` and the relay turns (minutes after `start`)."""
    client = await Client.create(
        channel="telegram", channel_user_id=str(500 + n), name=name, created_at=start
    )
    lead = await Lead.create(
        channel="telegram",
        client=client,
        manager_id=manager,
        status=status,
        created_at=start,
        updated_at=start,
    )
    await Conversation.create(
        channel="telegram", chat_id=str(500 + n), client=client, lead=lead, updated_at=start
    )
    await MessageLog.create(  # the bot's part before the hand-off is not the manager's
        channel="telegram",
        chat_id=str(500 + n),
        client=client,
        lead=lead,
        direction="out",
        author="bot",
        kind="text",
        text="Сейчас подключу менеджера",
        at=start - dt.timedelta(minutes=1),
    )
    for who, text, minutes in turns:
        await MessageLog.create(
            channel="telegram",
            chat_id=str(500 + n),
            client=client,
            lead=lead,
            direction="out" if who == "M" else "in",
            author=f"staff:{manager}" if who == "M" else "client",
            kind="text",
            text=text,
            at=start + dt.timedelta(minutes=minutes),
        )
    return lead


async def add_managers(*, active: bool = True) -> None:
    """Маша and Петя as managers of the staff bot (a removed one gets no tips)."""
    for telegram_id, name in ((MASHA_ID, "Маша"), (PETYA_ID, "Петя")):
        await StaffMember.create(
            telegram_id=telegram_id,
            role=StaffRole.MANAGER,
            name=name,
            active=active,
            created_at=START,
        )
