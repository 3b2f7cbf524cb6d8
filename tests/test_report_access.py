"""Report commands through the real staff dispatcher over the fake Bot API: the role is
checked on every use (owner: all; manager: business figures and their own /staff line;
master: only their own /staff line; a stranger: one refusal), and periods are parsed."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.models import Appointment, Lead, StaffMember
from tests import staff_fixtures
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import has
from tests.staff_fixtures import ANNA, MASHA, OWNER, PETYA, STAFF

STRANGER = FakeUser(666, "Незнакомец")
TITLES = {
    "/kpi": "Показатели за 23.11–29.11.2026",
    "/sources": "Источники за 23.11–29.11.2026",
    "/funnel": "Воронка за 23.11–29.11.2026",
    "/lost": "Потерянные за 23.11–29.11.2026",
}


@pytest.fixture
async def bots(db, config, clock) -> AsyncIterator[FakeBotApi]:
    """The team and both bots; the staff bot handles updates one by one, so an answer to a
    later command proves every earlier update (the stranger's) was fully handled."""
    await staff_fixtures.add_team(clock)
    async with staff_fixtures.running_bots(config, clock, staff_as_tasks=False) as api:
        yield api


@pytest.fixture
async def activity(bots: FakeBotApi, clock) -> FakeBotApi:
    """This week: a lead of Маша's and one of Петя's, a visit at Анна's made today."""
    now = clock.now()
    for manager in (MASHA, PETYA):
        row = await Lead.create(
            channel="telegram", source="vk", manager_id=manager.id, created_at=now, updated_at=now
        )
    await Appointment.create(
        lead=row,
        service_id="manicure",
        master_id="anna",
        start=now + dt.timedelta(days=1),
        end=now + dt.timedelta(days=1, hours=1),
        price_kop=150000,
        status="confirmed",
        created_at=now,
    )
    return bots


async def ask(api: FakeBotApi, user: FakeUser, command: str, expect: str) -> str:
    head, _, args = command.partition(" ")
    api.send_command(STAFF, user, head, args or None)
    return (await api.wait_for_message(STAFF, user.id, has(expect)))["text"]


async def test_owner_sees_every_report_and_everyone(activity: FakeBotApi):
    for command, title in TITLES.items():
        assert (await ask(activity, OWNER, command, title)).startswith(title)
    staff = await ask(activity, OWNER, "/staff", "Сотрудники за")
    assert "• Маша: записей 0" in staff and "• Петя: записей 1" in staff
    assert "• Анна: записей 1" in staff


async def test_manager_sees_business_figures_and_only_their_own_line(activity: FakeBotApi):
    for command, title in TITLES.items():
        await ask(activity, MASHA, command, title)
    staff = await ask(activity, PETYA, "/staff неделя", "Сотрудники за")
    assert "• Петя: записей 1" in staff
    assert "Маша" not in staff and "Анна" not in staff


async def test_master_sees_only_their_own_line(activity: FakeBotApi):
    for command in TITLES:
        reply = await ask(activity, ANNA, command, "недоступна")
        assert "Вы мастер" in reply
    staff = await ask(activity, ANNA, "/staff", "Сотрудники за")
    assert "• Анна: записей 1" in staff
    assert "Маша" not in staff and "Петя" not in staff


async def test_a_stranger_gets_one_refusal_for_all_reports(activity: FakeBotApi):
    for command in [*TITLES, "/staff"]:
        activity.send_command(STAFF, STRANGER, command)
    await ask(activity, OWNER, "/help", "Вы владелец")  # updates are handled in order
    await ask(activity, OWNER, "/lost", "Потерянные")
    texts = [m.get("text") for m in activity.sent(STAFF, STRANGER.id)]
    assert len(texts) == 1 and "только для сотрудников" in texts[0]


async def test_a_removed_manager_is_refused_at_once(activity: FakeBotApi):
    await ask(activity, MASHA, "/kpi", "Показатели")
    await StaffMember.filter(telegram_id=MASHA.id).update(active=False)
    await ask(activity, MASHA, "/kpi", "только для сотрудников")


async def test_periods_in_commands_and_a_polite_answer_to_a_bad_one(activity: FakeBotApi):
    await ask(activity, OWNER, "/kpi вчера", "Показатели за 22.11.2026")
    await ask(activity, OWNER, "/funnel 2026-11", "Воронка за 01.11–30.11.2026")
    await ask(activity, OWNER, "/lost 2026-11-01..2026-11-15", "Потерянные за 01.11–15.11.2026")
    reply = await ask(activity, OWNER, "/sources позавчера", "Не понял период")
    assert "«позавчера»" in reply and "2026-11-01..2026-11-15" in reply
