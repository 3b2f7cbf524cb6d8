"""The coach in the staff bot, over the fake Bot API: a real relay dialogue is reviewed when
it finishes and its tips reach only the manager who talked; `/coach <manager>` is the
owner's alone (the router's filter, and the service's own check against a forged call)."""

from __future__ import annotations

import pytest

from bot.coach.models import DialogueReview
from bot.coach.on_demand import coach_report
from bot.i18n import Texts
from bot.staffwork.access import NoAccess
from tests import staff_fixtures
from tests.coach_data import GOOD, PRICE_FIRST, dialogue_lead
from tests.staff_fixtures import ANNA, KSENIA, MASHA, OWNER, PETYA, Desk

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures


async def test_a_relay_dialogue_is_reviewed_when_it_ends_and_only_its_manager_sees_it(
    desk: Desk,
):
    await desk.book()
    await desk.card(MASHA)
    desk.tap(MASHA, "✋ Взять")
    await desk.client_gets("подключился")
    desk.say(MASHA, "Здравствуйте! Удобно ли завтра в 10:00?")
    await desk.client_gets("Удобно ли завтра в 10:00")
    desk.client_says("Да, удобно")
    await desk.sees(MASHA, "Да, удобно")
    desk.tap(MASHA, "✅ Подтвердить", await desk.card(MASHA))
    await desk.client_gets("Ваша запись подтверждена")
    desk.say(MASHA, "/close")
    await desk.sees(MASHA, "закрыт")
    desk.clock.advance(seconds=31)  # the coach's next scan
    tip = await desk.sees(MASHA, "Разбор диалога по заявке #1")
    assert "Пропущено: Выявление потребности, Запись или следующий шаг" in tip["text"]
    review = await DialogueReview.get(lead_id=1)
    assert review.manager_id == MASHA.id and review.steps_done == ["greeting", "slot"]
    await desk.settle()
    for other in (PETYA, ANNA, OWNER):
        assert not any("Разбор диалога" in t for t in desk.texts_to(other))


async def test_the_owner_asks_for_a_managers_review(desk: Desk):
    await dialogue_lead(1, MASHA.id, PRICE_FIRST, start=desk.clock.now())
    await dialogue_lead(2, PETYA.id, GOOD, start=desk.clock.now())
    desk.clock.advance(hours=1)
    await desk.sees(MASHA, "Разбор диалога по заявке #1")  # the timed work reviewed them
    desk.say(OWNER, "/coach маша")
    text = (await desk.sees(OWNER, "разбор диалогов за"))["text"]
    assert "Маша" in text and "#1 — 0/10, потерян" in text and "#2" not in text
    assert "цена до потребности: 1 из 1" in text
    desk.say(OWNER, "/coach")
    assert "Менеджеры: Маша, Петя" in (await desk.sees(OWNER, "Напишите, чей разбор"))["text"]
    desk.say(OWNER, "/coach Вася")
    await desk.sees(OWNER, "Менеджера «Вася» нет в команде")


@pytest.mark.parametrize("user", [MASHA, PETYA, ANNA], ids=["own", "other", "master"])
async def test_managers_and_masters_never_get_coach(desk: Desk, user):
    await dialogue_lead(1, MASHA.id, PRICE_FIRST, start=desk.clock.now())
    await dialogue_lead(2, PETYA.id, GOOD, start=desk.clock.now())
    desk.clock.advance(hours=1)
    await desk.sees(MASHA, "Разбор диалога по заявке #1")
    desk.say(user, f"/coach {'Петя' if user is MASHA else 'Маша'}")
    await desk.sees(user, "Эта команда вам недоступна")
    await desk.settle()
    seen = "\n".join(desk.texts_to(user))
    assert "разбор диалогов за" not in seen
    if user is not MASHA:  # Маша's own tip is hers alone
        assert "#1" not in seen.replace("Заявка #1", "")


async def test_the_service_checks_the_role_whatever_reaches_it(desk: Desk):
    """A forged call (a manager's id, a master's, a stranger's) is refused in the service."""
    t = Texts("ru")
    for caller in (MASHA.id, ANNA.id, KSENIA.id):
        with pytest.raises(NoAccess):
            await coach_report(desk.config, t, caller, frozenset({OWNER.id}), "Петя", None)
