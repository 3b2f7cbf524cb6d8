"""Staff questions in plain Russian answered from the KPI aggregates, with role checks;
the owner's /ai shows the month's model use."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.ai import staff_q, usage
from bot.i18n import Texts
from bot.models import AppointmentStatus
from tests.ai_helpers import ai_client
from tests.builders import appointment
from tests.conftest import SAMARA
from tests.fakes.openai_api import FakeOpenAI
from tests.flows import has
from tests.staff_fixtures import MASHA, OWNER, STAFF, bots  # noqa: F401 (fixture)

# This week is Mon 23 – Sun 29 November 2026 (the clock: Monday 09:00).
VISITS = [
    ("anna", (2026, 11, 23, 10), AppointmentStatus.NO_SHOW, None),
    ("anna", (2026, 11, 24, 12), AppointmentStatus.NO_SHOW, None),
    ("anna", (2026, 11, 24, 15), AppointmentStatus.CAME, 150_000),
    ("olga", (2026, 11, 25, 11), AppointmentStatus.NO_SHOW, None),
    ("anna", (2026, 11, 16, 10), AppointmentStatus.NO_SHOW, None),  # last week
]


@pytest.fixture
async def visits(db, clock):
    for master, local, status, paid in VISITS:
        start = dt.datetime(*local, tzinfo=SAMARA).astimezone(dt.UTC)
        await appointment(
            start,
            status,
            clock.now(),
            master=master,
            paid=paid,
            service_id="manicure",
            price_kop=150_000,
        )


async def _ask(text, config, clock, is_owner=True, client=None):
    return await staff_q.answer(text, is_owner, config, Texts("ru"), clock.now(), client)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("сколько неявок на этой неделе у Анны?", "Неявок — эта неделя (Анна): 2"),
        ("сколько неявок на этой неделе?", "Неявок — эта неделя: 3"),
        ("неявки у Анны на прошлой неделе", "Неявок — прошлая неделя (Анна): 1"),
        ("доля неявок у Анны на неделе", "Доля неявок — эта неделя (Анна): 66,7 %"),
        ("выручка Анны за неделю", "Выручка — эта неделя (Анна): 1 500 ₽"),
        ("сколько заявок сегодня", "Заявок — сегодня: 0"),
        ("конверсия за прошлый месяц", "Конверсия заявка → запись — прошлый месяц: —"),
    ],
)
async def test_rules_answers_from_the_kpi_functions(visits, config, clock, question, expected):
    assert await _ask(question, config, clock) == expected


async def test_managers_do_not_see_money(visits, config, clock):
    assert await _ask("выручка за неделю", config, clock, is_owner=False) == (
        "Эта цифра доступна только владельцу."
    )
    assert "Неявок" in await _ask("неявки за неделю", config, clock, is_owner=False)


async def test_not_a_question_about_numbers(db, config, clock):
    assert await _ask("добрый день, коллеги", config, clock) is None


async def test_model_picks_the_function_and_the_database_gives_the_number(visits, config, clock):
    async with FakeOpenAI() as fake:
        fake.tool({"metric": "no_shows", "period": "this_week", "master_id": "anna"})
        fake.tool({"metric": "DROP TABLE appointment", "period": "this_week"})  # invalid
        client = ai_client(fake, config, clock)
        first = await _ask("Аня часто прогуливают клиенты в эти дни?", config, clock, client=client)
        second = await _ask("сколько неявок на этой неделе?", config, clock, client=client)
        assert fake.requests[0].body["tools"][0]["function"]["name"] == "kpi_query"
    assert first == "Неявок — эта неделя (Анна): 2"
    assert second == "Неявок — эта неделя: 3"  # the invalid choice fell back to the rules
    (row,) = await usage.month_usage("2026-11")
    assert (row.purpose, row.calls, row.failures) == ("staff", 2, 0)


async def test_in_the_staff_bot_with_role_checks(bots, visits, config):  # noqa: F811
    bots.send_text(STAFF, OWNER, "сколько неявок на этой неделе у Анны?")
    await bots.wait_for_message(STAFF, OWNER.id, has("Неявок — эта неделя (Анна): 2"))
    bots.send_text(STAFF, MASHA, "выручка за неделю?")
    await bots.wait_for_message(STAFF, MASHA.id, has("только владельцу"))
    bots.send_text(STAFF, MASHA, "просто текст")
    await bots.wait_for_message(STAFF, MASHA.id, has("Нет открытого диалога"))
    await usage.record("2026-11", "understand", (100, 20), failed=False)
    await usage.record("2026-11", "understand", (0, 0), failed=True)
    bots.send_command(STAFF, OWNER, "/ai")
    report = await bots.wait_for_message(STAFF, OWNER.id, has("Модель не настроена"))
    assert "сообщения клиентов: 2 вызовов, ошибок/таймаутов 1, токенов 100 + 20" in report["text"]
    bots.send_command(STAFF, MASHA, "/ai")
    await bots.wait_for_message(STAFF, MASHA.id, has("недоступна"))
