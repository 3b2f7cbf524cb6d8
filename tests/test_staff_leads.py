"""Lead work in the staff bot over HTTP: who may press what, booking actions from the card,
everyday commands, alert routing and the client's call for a person."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.booking.booker import Booker
from bot.booking.slots import Slot
from bot.models import (
    Appointment,
    Client,
    Lead,
    LeadEvent,
    MasterCell,
    MessageLog,
    Outbox,
    StaffAwaiting,
    StaffRole,
)
from handlers.telegram import Act
from scenarios.keyboards import parse_slot_action, slot_action
from tests import staff_fixtures
from tests.staff_fixtures import (
    ANNA,
    CLIENT,
    GROUP,
    KSENIA,
    LENA,
    MASHA,
    OLYA,
    OWNER,
    PAVEL,
    PETYA,
    SECRETS,
    STAFF,
    STRANGER,
    Desk,
    add_staff,
    add_team,
    config_with,
    db_rows,
)

open_desk, desk = staff_fixtures.open_desk, staff_fixtures.desk  # the fixtures

# --- 1. authorization ------------------------------------------------------------------------

ACTORS = {"stranger": STRANGER, "removed manager": PAVEL, "other master": OLYA}


def lead_actions(lead: int, visit: int, other_slot: str) -> list[str]:
    return [
        f"claim:{lead}",
        f"confirm:{visit}",
        f"move:{visit}",
        f"mv:{visit}:{other_slot}",
        f"cancel:{visit}",
        f"cr:{visit}:client",
        f"dialog:{lead}",
        f"lost:{lead}",
        f"lr:{lead}:expensive",
        f"lr:{lead}:other",
    ]


def outcome_actions(visit: int, price_kop: int) -> list[str]:
    return [f"came:{visit}", f"paid:{visit}:{price_kop}", f"noshow:{visit}"]


async def a_finished_visit_of_anna(desk: Desk, clock) -> Appointment:
    """Ксения's pre-booking with Анна, its alerts delivered, the visit over and asked about."""
    visit = await desk.book()
    assert visit.master_id == "anna"
    await desk.card(MASHA)
    clock.set(visit.end + dt.timedelta(minutes=1))
    await desk.sees(ANNA, "Клиент пришёл?")
    return visit


def later_slot(visit: Appointment) -> str:
    start = visit.start + dt.timedelta(hours=3)
    return slot_action(Slot(start, start + (visit.end - visit.start), visit.master_id))


@pytest.mark.parametrize("actor", ACTORS)
async def test_lead_buttons_and_commands_are_refused_to_outsiders(desk: Desk, clock, actor: str):
    user = ACTORS[actor]
    visit = await a_finished_visit_of_anna(desk, clock)
    before, client_before = await db_rows(), len(desk.api.sent(CLIENT, KSENIA.id))

    buttons = lead_actions(visit.lead_id, visit.id, later_slot(visit))
    buttons += outcome_actions(visit.id, visit.price_kop)
    if actor == "other master":  # her silent «paid» refusal: test_paid_refusal_is_shown
        buttons.remove(f"paid:{visit.id}:{visit.price_kop}")
    presses = {action: desk.press(user, action) for action in buttons}
    for command in ("/leads", f"/lead {visit.lead_id}", "/today", "/close", "Здравствуйте!"):
        desk.say(user, command)
    await desk.settle()

    alerts = []
    for action, update in presses.items():
        answer = await desk.answer(update)
        assert answer.params.get("show_alert") is True, action
        alerts.append(answer.params["text"])
    assert set(alerts) <= {"Нет доступа", "Эта кнопка устарела."}
    replies = desk.texts_to(user)
    assert not [s for s in replies + alerts if any(x in s for x in SECRETS)], "nothing leaked"
    if actor == "other master":
        assert sum("недоступна" in r for r in replies) == 3  # /leads, /lead, /close
        assert any("На сегодня записей нет" in r for r in replies)  # her own, empty day
        assert any("Нет открытого диалога" in r for r in replies)
        assert any("записей — 0" in r for r in replies)  # /today's picture, her column only
        assert len(replies) == 6
    else:
        assert len(replies) == 1 and "только для сотрудников" in replies[0]
    assert await db_rows() == before, "nothing changed"
    assert len(desk.api.sent(CLIENT, KSENIA.id)) == client_before


async def test_paid_refusal_is_shown(desk: Desk, clock):
    visit = await a_finished_visit_of_anna(desk, clock)
    before = await db_rows()
    press = desk.press(OLYA, f"paid:{visit.id}:{visit.price_kop}")
    await desk.settle()
    assert await db_rows() == before, "nothing changed"
    answer = await desk.answer(press)
    refused = [r for r in desk.texts_to(OLYA) if "устарела" in r or "Нет доступа" in r]
    assert answer.params.get("show_alert") is True or refused


# --- 2. booking actions from the card --------------------------------------------------------


async def test_move_books_the_new_slot_frees_the_old_and_tells_the_client(desk: Desk):
    old = await desk.book()
    card = await desk.card(MASHA)
    desk.tap(MASHA, "🔁 Перенести", card)
    picker = await desk.sees(MASHA, f"Выберите новое время для записи #{old.id}")
    choice = picker["reply_markup"]["inline_keyboard"][1][0]  # not the first: a real move
    master_id, start = parse_slot_action(Act.unpack(choice["callback_data"]).v.split(":", 2)[2])
    desk.tap(MASHA, choice["text"], picker)

    await desk.sees(MASHA, "Запись перенесена на")
    await desk.client_gets("Ваша запись перенесена")
    await old.refresh_from_db()
    new = await Appointment.get(status="pending")
    assert old.status == "cancelled" and await MasterCell.filter(appointment_id=old.id).count() == 0
    assert (new.master_id, new.start, new.lead_id) == (master_id, start, old.lead_id)
    assert await MasterCell.filter(appointment_id=new.id).count() > 0
    assert await Booker(desk.config, desk.clock).is_free(Slot(old.start, old.end, old.master_id))


@pytest.mark.parametrize(
    ("master", "shift"),
    [
        ("marina", dt.timedelta(hours=3)),
        ("anna", dt.timedelta(hours=-8)),
        ("anna", dt.timedelta(minutes=7)),
    ],
    ids=["a master without the service", "before opening", "off the grid"],
)
async def test_a_forged_move_changes_nothing(desk: Desk, master: str, shift: dt.timedelta):
    visit = await desk.book()
    await desk.card(MASHA)
    before = await db_rows()
    start = visit.start + shift
    forged = slot_action(Slot(start, start + (visit.end - visit.start), master))
    answer = await desk.answer(desk.press(MASHA, f"mv:{visit.id}:{forged}"))
    assert answer.params.get("show_alert") is True and "уже занято" in answer.params["text"]
    assert await db_rows() == before, "nothing changed"


async def test_cancel_with_a_reason(desk: Desk):
    visit = await desk.book()
    desk.tap(MASHA, "✖ Отменить", await desk.card(MASHA))
    desk.tap(MASHA, "по просьбе клиента", await desk.sees(MASHA, "Причина отмены"))

    await desk.sees(MASHA, "Запись отменена (по просьбе клиента)")
    await desk.client_gets("ваша запись на")
    await visit.refresh_from_db()
    assert visit.status == "cancelled" and await MasterCell.all().count() == 0
    lead = await Lead.get(id=visit.lead_id)
    event = await LeadEvent.filter(lead_id=lead.id).order_by("-id").first()
    assert lead.status == "lost"
    assert (event.to_status, event.actor, event.note) == (
        "lost",
        f"staff:{MASHA.id}",
        "cancelled:client",
    )


@pytest.mark.parametrize(
    ("button", "typed", "note"),
    [("дорого", None, "дорого"), ("другое", "уезжает в отпуск", "уезжает в отпуск")],
)
async def test_lost_with_a_reason(desk: Desk, button: str, typed: str | None, note: str):
    visit = await desk.book()
    desk.tap(MASHA, "Потерян", await desk.card(MASHA))
    desk.tap(MASHA, button, await desk.sees(MASHA, "Почему заявка #1 потеряна"))
    if typed:
        await desk.sees(MASHA, "Напишите причину")
        desk.say(MASHA, typed)

    await desk.sees(MASHA, f"Заявка #1 отмечена как потерянная: {note}.")
    lead = await Lead.get(id=visit.lead_id)
    event = await LeadEvent.filter(lead_id=lead.id).order_by("-id").first()
    assert lead.status == "lost" and (event.note, event.actor) == (note, f"staff:{MASHA.id}")
    assert (await Appointment.get(id=visit.id)).status == "cancelled"
    assert await MasterCell.all().count() == 0
    assert await StaffAwaiting.all().count() == 0
    await desk.settle()
    assert not [m for m in desk.api.sent(CLIENT, KSENIA.id) if note in (m.get("text") or "")]


# --- 3. everyday commands --------------------------------------------------------------------


async def two_leads_one_claimed(desk: Desk, clock) -> None:
    """Ксения's lead #1 (unclaimed, 15 min old) and Лена's #2 (Маша's, 5 min old)."""
    await desk.book(KSENIA)
    clock.advance(minutes=10)
    await desk.book(LENA)
    desk.tap(MASHA, "✋ Взять", await desk.card(MASHA, 2))
    await desk.sees(MASHA, "Заявка #2 ваша")
    clock.advance(minutes=5)


async def test_leads_lists_mine_and_the_unclaimed_with_their_age(desk: Desk, clock):
    await two_leads_one_claimed(desk, clock)
    desk.say(MASHA, "/leads")
    listing = (await desk.sees(MASHA, "Мои открытые заявки")).get("text")
    mine, _, unclaimed = listing.partition("Никем не взятые:")
    assert "#2 · квалифицирована · 5 мин · Лена" in mine and "#1" not in mine
    assert "#1 · квалифицирована · 15 мин · Ксения" in unclaimed and "#2" not in unclaimed

    desk.say(PETYA, "/leads")  # Маша's lead is not his, and not unclaimed
    listing = (await desk.sees(PETYA, "Никем не взятые")).get("text")
    assert "#1 · квалифицирована · 15 мин · Ксения" in listing and "#2" not in listing


async def test_leads_lists_an_unclaimed_lead_once(desk: Desk):
    await desk.book()  # a pre-booking, after the client also asked for a person on the way
    await Lead.filter(id=1).update(needs_human=True, handoff_reason="asked")
    desk.say(MASHA, "/leads")
    listing = (await desk.sees(MASHA, "Никем не взятые")).get("text")
    assert listing.count("#1 ·") == 1


async def test_lead_shows_the_card_again_and_a_reply_to_it_reaches_the_client(desk: Desk):
    await desk.book()
    desk.say(MASHA, "/lead 1")
    card = await desk.card(MASHA)
    assert "Ксения, +79271234567" in card["text"]
    buttons = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert "✋ Взять" in buttons and "✅ Подтвердить" in buttons

    desk.say(MASHA, "Ксения, добрый день! Вам удобно в 10:00?", reply_to=card)
    await desk.client_gets("Вам удобно в 10:00?")
    assert await MessageLog.filter(author=f"staff:{MASHA.id}", lead_id=1).count() == 1
    desk.client_says("Да, удобно")
    await desk.sees(MASHA, "#1 Ксения: Да, удобно")

    desk.say(MASHA, "/lead 99")
    await desk.sees(MASHA, "Заявки #99 нет")
    desk.say(MASHA, "/lead")
    await desk.sees(MASHA, "Напишите номер заявки")


async def test_a_reply_to_someone_elses_lead_does_not_take_the_client(desk: Desk):
    await desk.book()
    cards = {m: await desk.card(m) for m in (MASHA, PETYA)}
    desk.tap(MASHA, "✋ Взять", cards[MASHA])
    await desk.sees(MASHA, "Заявка #1 ваша")

    desk.say(PETYA, "Я тоже могу помочь", reply_to=cards[PETYA])  # his copy of the card
    await desk.sees(PETYA, "закреплена за другим")
    desk.client_says("Спасибо, жду подтверждения")
    await desk.sees(MASHA, "#1 Ксения: Спасибо")
    assert not [t for t in desk.texts_to(PETYA) if "Спасибо" in t]


async def test_today_shows_each_masters_day_and_a_master_only_her_own(desk: Desk, clock):
    anna_visit = await desk.book()  # tomorrow 10:00 with Анна
    lena = await Client.create(
        channel="telegram", channel_user_id=str(LENA.id), name="Лена", created_at=clock.now()
    )
    start = anna_visit.start + dt.timedelta(hours=2)
    manicure = desk.config.service("manicure")
    booked = await Booker(desk.config, clock).book(
        Slot(start, start + (anna_visit.end - anna_visit.start), "olga"), manicure, [], lena, None
    )
    assert booked is not None
    clock.set(anna_visit.start - dt.timedelta(hours=2))  # that day, before opening

    desk.say(MASHA, "/today")
    day = (await desk.sees(MASHA, "Расписание на")).get("text")
    assert day.index("Анна:") < day.index("Ксения") < day.index("Ольга:") < day.index("Лена")
    assert "10:00 Маникюр — Ксения (ждёт подтверждения)" in day
    for master, own, other in ((ANNA, "Ксения", "Лена"), (OLYA, "Лена", "Ксения")):
        desk.say(master, "/today")
        day = (await desk.sees(master, "Расписание на")).get("text")
        assert own in day and other not in day


async def test_close_returns_the_client_to_the_bot(desk: Desk):
    await desk.book()
    desk.tap(MASHA, "✋ Взять", await desk.card(MASHA))
    await desk.client_gets("подключился")
    desk.client_says("Есть ли у вас парковка?")
    await desk.sees(MASHA, "#1 Ксения: Есть ли у вас парковка?")

    desk.say(MASHA, "/close")
    await desk.sees(MASHA, "Диалог по заявке #1 закрыт")
    await desk.client_gets("Администратор завершил диалог")
    mark = desk.client_mark()
    desk.client_says("Спасибо, до встречи")
    await desk.client_gets_after(mark)  # the bot answers her itself
    assert await Outbox.filter(kind="relay").count() == 1, "not relayed to Маша any more"
    desk.say(MASHA, "/close")
    await desk.sees(MASHA, "Нет открытого диалога")


# --- 4. alert routing ------------------------------------------------------------------------


async def alert_chats() -> dict[int, list[str]]:
    rows = await Outbox.filter(kind="alert").order_by("id").values_list("lead_id", "chat_id")
    chats: dict[int, list[str]] = {}
    for lead_id, chat_id in rows:
        chats.setdefault(lead_id, []).append(chat_id)
    return chats


async def test_round_robin_gives_each_lead_to_one_manager(open_desk, clock):
    await add_team(clock)
    desk = await open_desk(config_with(alerts="round_robin"))
    await desk.book(KSENIA)
    await desk.book(LENA)
    chats = await alert_chats()
    assert [len(chats[1]), len(chats[2])] == [1, 1]
    assert {chats[1][0], chats[2][0]} == {str(MASHA.id), str(PETYA.id)}
    for lead_id, (chat,) in chats.items():
        await desk.card(int(chat), lead_id)


async def test_a_staff_group_gets_the_alerts_and_a_manager_claims_there(open_desk, clock):
    await add_team(clock)
    desk = await open_desk(config_with(group_chat_id=GROUP))
    await desk.book()
    card = await desk.card(GROUP)
    assert await alert_chats() == {1: [str(GROUP)]}

    claim = next(b for row in card["reply_markup"]["inline_keyboard"] for b in row)
    desk.api.push_update(  # Маша presses «Взять» on the group's card
        STAFF,
        {
            "callback_query": {
                "id": "group-claim",
                "from": MASHA.to_dict(),
                "chat_instance": "group",
                "data": claim["callback_data"],
                "message": card,
            }
        },
    )
    await desk.sees(GROUP, "Взял(а): Маша")
    await desk.sees(MASHA, "Заявка #1 ваша")
    assert (await Lead.get(id=1)).manager_id == MASHA.id


async def test_without_managers_the_owners_get_the_alerts(open_desk, clock):
    await add_staff(ANNA, StaffRole.MASTER, clock, master_id="anna")
    desk = await open_desk()
    await desk.book()
    await desk.card(OWNER)
    assert await alert_chats() == {1: [str(OWNER.id)]}


# --- 5. a client who asks for a person -------------------------------------------------------


async def test_human_request_alerts_and_the_dialog_button_shows_the_last_lines(desk: Desk):
    desk.client_says("/start")
    await desk.client_gets("152-ФЗ")
    desk.api.press_button(CLIENT, KSENIA, text="✅ Согласен")
    await desk.client_gets("Какая услуга")
    mark = desk.client_mark()
    desk.client_says("Можно ли прийти с ребёнком?")
    await desk.client_gets_after(mark)
    desk.client_says("/human")
    await desk.client_gets("Позвал администратора")

    card = await desk.card(MASHA)
    assert "клиент просит администратора" in card["text"]
    assert "клиент: Можно ли прийти с ребёнком?" in card["text"]
    lead = await Lead.get(id=1)
    assert (lead.needs_human, lead.handoff_reason) == (True, "asked")

    desk.tap(MASHA, "💬 Диалог", card)
    dialog = (await desk.sees(MASHA, "Диалог по заявке #1")).get("text")
    lines = dialog.splitlines()[1:]
    assert "  клиент: Можно ли прийти с ребёнком?" in lines
    assert "  клиент: /human" in lines
    assert any(x.startswith("  бот: Позвал администратора") for x in lines)
