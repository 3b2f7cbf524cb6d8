"""What the reviews add up to: each manager's own weekly summary (theirs only, once), and the
owner's lines in the weekly report — conversion next to the steps missed most, and the
dialogues most worth reading (the largest lost check, the slowest answer)."""

from __future__ import annotations

import datetime as dt

from bot.clock import FakeClock
from bot.coach.models import DialogueReview
from bot.i18n import Texts
from bot.models import Outbox, StaffRole
from bot.numbers import reports
from bot.periods import Span
from tests.coach_data import SAMARA, dialogue_lead
from tests.fakes.bot_api import FakeUser
from tests.money_data import MASHA_ID, PETYA_ID, add_lead
from tests.staff_fixtures import ANNA, MASHA, PETYA, add_staff
from workers.timed import TimedWork

T = Texts("ru")
VASYA = FakeUser(7003, "Вася")
WEEK = Span(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SAMARA)


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=SAMARA)


async def review(lead_id: int, manager: int, day: int, missed: list[str], **fields) -> None:
    await DialogueReview.create(
        lead_id=lead_id,
        manager_id=manager,
        finished_at=at(day),
        reviewed_at=at(day, 13),
        outcome=fields.pop("outcome", "lost"),
        steps_done=[s for s in ("greeting", "need", "slot", "close") if s not in missed],
        steps_missed=missed,
        **fields,
    )


async def week_of_reviews(clock) -> None:
    for user, role in ((MASHA, StaffRole.MANAGER), (PETYA, StaffRole.MANAGER)):
        await add_staff(user, role, clock)
    await add_staff(ANNA, StaffRole.MASTER, clock, master_id="anna")
    await add_staff(VASYA, StaffRole.MANAGER, clock)  # a new manager with a quiet week
    for day in (16, 17, 18):
        await add_lead(at(day), MASHA_ID)
    await add_lead(at(19), PETYA_ID)
    await review(
        101, MASHA_ID, 16, ["need"], price_before_need=True, score=5, lost_check_kop=250000
    )
    await review(102, MASHA_ID, 17, ["need", "close"], price_before_need=True, score=3)
    await review(103, MASHA_ID, 18, [], score=10, outcome="confirmed", slowest_response_s=900)
    await review(201, PETYA_ID, 19, ["greeting"], score=8, tone="negative")
    await review(301, MASHA_ID, 9, ["slot"], score=1)  # the week before: not in this one


async def test_the_owners_weekly_report_has_the_coach_lines(db, config):
    await week_of_reviews(FakeClock(MONDAY_9))
    text = await reports.weekly_text(config, T, WEEK)
    lines = text.splitlines()
    start = lines.index("🧭 Разбор диалогов:")
    assert lines[start + 1 :] == [
        "• Маша: конверсия 0,0 %; чаще пропускает: Выявление потребности, Запись или следующий"
        " шаг; цена до потребности: 2 из 3",
        "   прочитать: #101 — потеряно 2 500 ₽",
        "   прочитать: #103 — ответ через 15 мин",
        "• Петя: конверсия 0,0 %; чаще пропускает: Приветствие; цена до потребности: 0 из 1",
    ]


async def test_each_manager_gets_their_own_week_only_once(db, config):
    clock = FakeClock(MONDAY_9)
    await week_of_reviews(clock)
    work = TimedWork(config, T, clock, frozenset({9001}))
    await work.run()
    await TimedWork(config, T, clock, frozenset({9001})).run()  # another process
    rows = await Outbox.filter(dedup_key__startswith="coach_week:").order_by("chat_id")
    assert [r.chat_id for r in rows] == [str(MASHA_ID), str(PETYA_ID), str(VASYA.id)]
    assert rows[2].status == "skipped"  # a quiet week: nothing sent, and not asked again
    rows = rows[:2]  # no master, no owner
    masha, petya = (r.payload["text"] for r in rows)
    assert masha.splitlines()[0] == "📋 Ваша неделя 16.11–22.11.2026"
    assert "Конверсия в запись: 0,0 %" in masha
    assert "Разобрано диалогов: 3, средняя оценка 6/10" in masha
    assert "Чаще всего пропущено: Выявление потребности, Запись или следующий шаг" in masha
    assert "Пример: заявка #102 — цена прозвучала раньше вопроса о потребности" in masha
    assert "#201" not in masha and "#301" not in masha  # Петя's and last week's: not hers
    assert "#10" not in petya and "Пример: заявка #201 — пропущено: Приветствие" in petya


async def test_the_example_quotes_the_managers_own_words_masked(db, config):
    clock = FakeClock(MONDAY_9)
    await add_staff(MASHA, StaffRole.MANAGER, clock)
    turns = [
        ("C", "Сколько стоит стрижка?", 0),
        ("M", "Ксения, добрый день! Женская стрижка 1800 рублей, звоните +7 927 111-22-33", 2),
        ("C", "Дорого", 3),
    ]
    await dialogue_lead(1, MASHA_ID, turns, start=at(23, 11))
    clock.set(at(23, 13))
    await TimedWork(config, T, clock, frozenset({9001})).run()  # the review
    clock.set(dt.datetime(2026, 11, 30, 9, 0, tzinfo=SAMARA))  # the next weekly report
    await TimedWork(config, T, clock, frozenset({9001})).run()
    summary = (await Outbox.get(dedup_key=f"coach_week:2026-11-23:{MASHA_ID}")).payload["text"]
    assert "Пример: заявка #1 — цена прозвучала раньше вопроса о потребности" in summary
    assert "Ваши слова: «[имя], добрый день! Женская стрижка 1800 рублей, звоните [телефон]»" in (
        summary
    )
