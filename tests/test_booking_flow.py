"""The client booking scenario end to end through `DialogService`, against a real database.

Every step in order, «Назад» and «Начать заново», unexpected input at each step, a restart of
the process mid-dialogue, two quick messages, own bookings and their cancellation, erasure of
personal data and a slot taken by someone else between showing and confirming.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tomllib
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.config import BusinessConfig, parse_config
from bot.db import close_db, init_db
from bot.dialogs import DialogService
from bot.models import Appointment, Client, Lead, MessageLog
from bot.privacy import erased_id
from scenarios.state import Step
from tests.conftest import ROOT
from tests.dialog_chat import (
    ANNA_TUE_10,
    CHANNEL,
    OLGA_TUE_10,
    QUESTION,
    TUE_10,
    TUESDAY,
    Chat,
    actions,
    book,
    labels,
    reach,
    slot_labels,
    status_events,
    text,
)

OWNER = 9001


@pytest.fixture
def dialogs(db, config: BusinessConfig, clock: FakeClock) -> DialogService:
    """With an owner to alert: a hand-off here has someone to hear it."""
    return DialogService(config, clock, owner_ids=frozenset({OWNER}))


@pytest.fixture
def olga(dialogs: DialogService) -> Chat:
    return Chat(dialogs, 501, "Ольга")


@pytest.fixture
def ivan(dialogs: DialogService) -> Chat:
    return Chat(dialogs, 502, "Иван")


@pytest.fixture
def instant_config() -> BusinessConfig:
    with (ROOT / "examples" / "salon.toml").open("rb") as fh:
        data = tomllib.load(fh)
    data["booking"]["mode"] = "instant"
    return parse_config(data)


# --- every step in order ---------------------------------------------------------------------


async def test_nothing_personal_is_stored_before_consent(olga: Chat):
    replies = await olga.command("start")
    assert "Салон красоты «Лиса»" in text(replies) and "152-ФЗ" in text(replies)
    assert actions(replies) == ["consent:yes", "consent:no"]
    await olga.say("Привет, я Ольга, мой номер 89271234567")
    await olga.press("consent:no")

    assert await Client.all().count() == 0
    assert await Lead.all().count() == 0
    logged = await MessageLog.filter(chat_id="501").values_list("text", flat=True)
    assert len(logged) >= 6 and set(logged) == {None}


async def test_declining_consent_offers_the_phone_and_asks_again(olga: Chat):
    await reach(olga, Step.CONSENT)
    replies = await olga.press("consent:no")
    assert "+7 846 200-45-45" in text(replies) and "consent:yes" in actions(replies)
    assert (await olga.state()).step == Step.CONSENT


async def test_consent_is_recorded_with_time_policy_and_channel(olga: Chat, clock: FakeClock):
    await reach(olga, Step.CONSENT)
    replies = await olga.press("consent:yes")

    assert "Согласие записано" in replies[0].text and replies[0].edit
    assert QUESTION[Step.SERVICE] in text(replies)
    assert "svc:manicure" in actions(replies) and "human" in actions(replies)
    client = await Client.get()
    assert (client.channel, client.channel_user_id) == (CHANNEL, "501")
    assert client.consent_at == clock.now()
    assert client.consent_policy_version == "2026-09"
    assert (client.name, client.phone) == (None, None)
    lead = await olga.lead()
    assert lead.client_id == client.id and await status_events(lead) == [(None, "new")]
    # from now on the conversation is logged with its text
    logged = await MessageLog.filter(direction="out").values_list("text", flat=True)
    assert "Спасибо! Согласие записано." in logged


async def test_agreeing_in_words_counts_as_consent(olga: Chat):
    await reach(olga, Step.CONSENT)
    replies = await olga.say("Согласна!")
    assert QUESTION[Step.SERVICE] in text(replies)
    assert (await Client.get()).consent_at is not None


async def test_service_by_button_offers_its_addons(olga: Chat):
    await reach(olga, Step.SERVICE)
    replies = await olga.press("svc:manicure")
    assert QUESTION[Step.ADDON] in text(replies)
    assert actions(replies) == ["addon:gel", "addon:design", "addon:none", "back"]
    assert "+ Покрытие гель-лак (800\u00a0₽)" in labels(replies)


async def test_service_by_free_text_with_typo(olga: Chat):
    await reach(olga, Step.SERVICE)
    replies = await olga.say("хочу на маникур")
    assert QUESTION[Step.ADDON] in text(replies)
    assert (await olga.state()).service_id == "manicure"


async def test_service_without_addons_goes_straight_to_time(olga: Chat):
    await reach(olga, Step.SERVICE)
    replies = await olga.say("массаж")
    assert QUESTION[Step.TIME] in text(replies)
    assert (await olga.state()).service_id == "massage"


async def test_service_and_time_in_one_message_skip_the_time_question(olga: Chat):
    await reach(olga, Step.SERVICE)
    await olga.say("маникюр завтра после 5")
    replies = await olga.press("addon:none")
    assert QUESTION[Step.SLOT] in text(replies)
    assert all(s.startswith("вт 24.11 1") for s in slot_labels(replies))
    assert slot_labels(replies)[0] == "вт 24.11 17:00 · Анна"


async def test_addon_adds_price_and_duration(olga: Chat):
    await reach(olga, Step.ADDON)
    replies = await olga.press("addon:gel")
    assert QUESTION[Step.TIME] in text(replies) and replies[0].edit
    await olga.press("when:tomorrow")
    await olga.press(ANNA_TUE_10)
    await olga.share_contact("+79271234567")
    summary = text(await olga.press("name:me"))
    assert "Маникюр + Покрытие гель-лак" in summary
    assert "2\u00a0300\u00a0₽" in summary
    await olga.press("confirm")

    appointment = await Appointment.get()
    assert appointment.addon_ids == ["gel"]
    assert appointment.price_kop == 230000
    assert appointment.end - appointment.start == dt.timedelta(minutes=90)


async def test_time_today_offers_todays_slots_with_master_names(olga: Chat):
    await reach(olga, Step.TIME)
    replies = await olga.press("when:today")
    found = slot_labels(replies)
    # Monday: only Anna does manicures; the salon opens at 10:00, an hour after «now»
    assert found[0] == "пн 23.11 10:00 · Анна"
    assert all(s.startswith("пн 23.11") and s.endswith("· Анна") for s in found)


async def test_time_tomorrow_offers_both_masters(olga: Chat):
    await reach(olga, Step.TIME)
    found = slot_labels(await olga.press("when:tomorrow"))
    assert found[:2] == ["вт 24.11 10:00 · Анна", "вт 24.11 10:00 · Ольга"]
    assert all(s.startswith("вт 24.11") for s in found)


async def test_time_this_week_runs_from_today_to_sunday(olga: Chat):
    await reach(olga, Step.TIME)
    found = slot_labels(await olga.press("when:week"))
    assert found[0] == "пн 23.11 10:00 · Анна"
    wish = (await olga.state()).time_wish
    assert wish is not None
    assert (wish.day_from, wish.day_to) == (dt.date(2026, 11, 23), dt.date(2026, 11, 29))


async def test_pick_a_day_shows_day_buttons(olga: Chat):
    await reach(olga, Step.TIME)
    replies = await olga.press("when:pick")
    assert QUESTION[Step.PICK_DAY] in text(replies)
    days = [a for a in actions(replies) if a.startswith("day:")]
    # from the day after tomorrow, a week of days
    assert days == [f"day:{TUESDAY + dt.timedelta(days=i)}" for i in range(1, 8)]
    assert "чт 26.11" in labels(replies) and "back" in actions(replies)

    found = slot_labels(await olga.press("day:2026-11-26"))
    assert found and all(s.startswith("чт 26.11") for s in found)


async def test_time_in_words(olga: Chat):
    await reach(olga, Step.TIME)
    found = slot_labels(await olga.say("в четверг после 18"))
    assert found and all(s.startswith("чт 26.11") for s in found)
    assert found[0].startswith("чт 26.11 18:")


async def test_more_slots_pages_on(olga: Chat):
    await reach(olga, Step.TIME)
    first = await olga.press("when:tomorrow")
    assert "more" in actions(first)
    page1, page2 = slot_labels(first), slot_labels(await olga.press("more"))
    assert len(page1) == 6 and page2 and not set(page1) & set(page2)
    assert "Ольга" in " ".join(page1 + page2) and "Анна" in " ".join(page1 + page2)
    assert (await olga.state()).page == 1


async def test_contact_by_sharing_skips_to_the_name_with_a_button(olga: Chat):
    await reach(olga, Step.CONTACT)
    replies = await olga.share_contact("79271234567")
    assert QUESTION[Step.NAME] in text(replies)
    assert labels(replies)[0] == "Ольга" and actions(replies)[0] == "name:me"
    assert (await olga.state()).phone == "+79271234567"


async def test_contact_typed(olga: Chat):
    await reach(olga, Step.CONTACT)
    replies = await olga.say("мой номер 8 (927) 123-45-67")
    assert QUESTION[Step.NAME] in text(replies)
    assert (await olga.state()).phone == "+79271234567"


async def test_invalid_phone_is_asked_again_and_nothing_is_lost(olga: Chat):
    await reach(olga, Step.CONTACT)
    before = await olga.state()
    replies = await olga.say("12345")
    assert "Не получилось распознать номер" in text(replies)
    assert any(r.ask_contact for r in replies)
    after = await olga.state()
    assert after.step == Step.CONTACT and after.phone is None
    assert (after.service_id, after.master_id, after.start) == (
        before.service_id,
        before.master_id,
        before.start,
    )
    assert QUESTION[Step.NAME] in text(await olga.say("+7 927 123-45-67"))


async def test_name_typed(olga: Chat):
    await reach(olga, Step.NAME)
    replies = await olga.say("меня зовут ольга")
    assert QUESTION[Step.SUMMARY] in text(replies)
    assert (await olga.state()).name == "Ольга"


async def test_summary_shows_everything_in_local_time(olga: Chat):
    await reach(olga, Step.NAME)
    replies = await olga.press("name:me")
    summary = text(replies)
    for part in (
        "Услуга: Маникюр",
        "Мастер: Анна",
        "Когда: вт, 24 ноября, 10:00",
        "Стоимость: 1\u00a0500\u00a0₽",
        "Имя: Ольга, телефон: +79271234567",
        "Адрес: Самара, ул. Ленинградская, 45, 2 этаж",
    ):
        assert part in summary
    assert actions(replies) == ["confirm", "back", "restart"]


async def test_confirm_makes_a_prebooking_and_qualifies_the_lead(olga: Chat):
    replies = await book(olga)
    assert "Заявка принята" in text(replies) and "вт, 24 ноября, 10:00" in text(replies)
    assert actions(replies) == ["my", "again"]

    appointment = await Appointment.get()
    assert (appointment.service_id, appointment.master_id, appointment.status) == (
        "manicure",
        "anna",
        "pending",
    )
    assert appointment.start == TUE_10 and appointment.price_kop == 150000
    lead = await olga.lead()
    assert appointment.lead_id == lead.id and lead.status == "qualified"
    assert await status_events(lead) == [(None, "new"), ("new", "qualified")]
    client = await olga.client()
    assert (client.name, client.phone) == ("Ольга", "+79271234567")
    assert appointment.client_id == client.id
    assert (await olga.state()).step == Step.DONE


async def test_instant_mode_confirms_at_once(instant_config: BusinessConfig, clock, db):
    olga = Chat(DialogService(instant_config, clock), 501)
    replies = await book(olga)
    assert "Готово, вы записаны" in text(replies)
    assert (await Appointment.get()).status == "confirmed"
    lead = await olga.lead()
    assert lead.status == "confirmed"
    assert await status_events(lead) == [(None, "new"), ("new", "confirmed")]


async def test_again_after_booking_starts_a_new_booking_with_known_contact(olga: Chat):
    await book(olga)
    replies = await olga.press("again")
    assert QUESTION[Step.SERVICE] in text(replies)
    await olga.press("svc:brows")
    await olga.press("addon:none")
    slots = await olga.press("when:tomorrow")
    slot = next(a for a in actions(slots) if a.startswith("slot:"))
    assert QUESTION[Step.SUMMARY] in text(await olga.press(slot))


# --- back, restart, /start -------------------------------------------------------------------

BACK = [  # (at, back to)
    (Step.ADDON, Step.SERVICE),
    (Step.TIME, Step.ADDON),
    (Step.PICK_DAY, Step.TIME),
    (Step.SLOT, Step.TIME),
    (Step.CONTACT, Step.SLOT),
    (Step.NAME, Step.CONTACT),
    (Step.SUMMARY, Step.NAME),
]


@pytest.mark.parametrize(("at", "back_to"), BACK)
async def test_back_returns_to_the_previous_question(olga: Chat, at: str, back_to: str):
    await reach(olga, at)
    before = await olga.state()
    replies = await olga.press("back")
    assert QUESTION[back_to] in text(replies)
    after = await olga.state()
    assert after.step == back_to
    assert (after.service_id, after.consented) == (before.service_id, True)


async def test_back_twice_from_the_slots(olga: Chat):
    await reach(olga, Step.SLOT)
    await olga.press("back")
    assert QUESTION[Step.ADDON] in text(await olga.press("back"))
    assert QUESTION[Step.SERVICE] in text(await olga.press("back"))


async def test_back_from_the_first_question_does_not_ask_for_consent_again(olga: Chat):
    await reach(olga, Step.ADDON)
    await olga.press("back")
    replies = await olga.press("back")  # a stale «Назад» pressed once more
    assert "152-ФЗ" not in text(replies)
    assert (await olga.state()).step == Step.SERVICE


async def test_restart_keeps_consent_and_contact(olga: Chat):
    await reach(olga, Step.SUMMARY)
    lead = await olga.lead()
    replies = await olga.press("restart")
    assert QUESTION[Step.SERVICE] in text(replies) and "152-ФЗ" not in text(replies)
    state = await olga.state()
    assert state.consented and (state.phone, state.name) == ("+79271234567", "Ольга")
    assert state.service_id is None and state.start is None and state.history == []
    assert (await olga.lead()).id == lead.id  # the same enquiry goes on
    # contact and name are not asked again
    await olga.press("svc:pedicure")
    await olga.press("addon:none")
    await olga.press("when:tomorrow")
    assert "Педикюр" in text(await olga.press(ANNA_TUE_10))


async def test_start_again_mid_flow_keeps_consent_and_contact(olga: Chat):
    await reach(olga, Step.SUMMARY)
    replies = await olga.command("start")
    assert "Здравствуйте" in text(replies) and QUESTION[Step.SERVICE] in text(replies)
    assert "152-ФЗ" not in text(replies)
    state = await olga.state()
    assert state.step == Step.SERVICE and state.service_id is None
    assert state.consented and state.phone == "+79271234567"
    assert await Client.all().count() == 1


# --- unexpected input ------------------------------------------------------------------------

ASKING = [Step.SERVICE, Step.ADDON, Step.TIME, Step.PICK_DAY, Step.SLOT, Step.NAME, Step.SUMMARY]
HINT = {
    Step.CONSENT: "нажмите «Согласен»",
    Step.SERVICE: "Не нашёл такую услугу",
    Step.TIME: "Не понял время",
    Step.CONTACT: "распознать номер",
    Step.NAME: "Напишите, пожалуйста, ваше имя",
}
OTHER_HINT = "Выберите, пожалуйста, вариант кнопкой"
GIBBERISH = {Step.NAME: "не скажу"}  # any word would do as a name
STALE_BUTTON = {Step.ADDON: "when:today"}  # a button of another step


def gibberish(step: str) -> str:
    return GIBBERISH.get(step, "абырвалг")


@pytest.mark.parametrize("step", [Step.CONSENT, *ASKING, Step.CONTACT])
async def test_random_text_gets_a_hint_and_the_step_stays(olga: Chat, step: str):
    await reach(olga, step)
    before = await olga.state()
    replies = await olga.say(gibberish(step))
    assert HINT.get(step, OTHER_HINT) in text(replies)
    after = await olga.state()
    assert (after.step, after.service_id, after.start) == (
        step,
        before.service_id,
        before.start,
    )


@pytest.mark.parametrize("step", [Step.CONSENT, *ASKING, Step.CONTACT])
async def test_a_button_of_another_step_gets_a_hint(olga: Chat, step: str):
    await reach(olga, step)
    replies = await olga.press(STALE_BUTTON.get(step, "addon:gel"))
    assert HINT.get(step, OTHER_HINT) in text(replies)
    assert (await olga.state()).step == step


@pytest.mark.parametrize("step", [Step.CONSENT, *ASKING, Step.CONTACT])
async def test_media_gets_a_hint_and_the_same_question(olga: Chat, step: str):
    await reach(olga, step)
    replies = await olga.sticker()
    assert "понимаю текст" in replies[0].text
    assert QUESTION[step] in text(replies[1:])
    assert (await olga.state()).step == step


@pytest.mark.parametrize("step", ASKING)
async def test_not_understood_twice_hands_off_to_a_human(olga: Chat, step: str):
    await reach(olga, step)
    await olga.say(gibberish(step))
    replies = await olga.press(STALE_BUTTON.get(step, "addon:gel"))
    assert "Передал ваш вопрос администратору" in text(replies)
    lead = await olga.lead()
    assert lead.needs_human and lead.handoff_reason == "not_understood"
    state = await olga.state()
    assert state.step == step and state.misses == 0


async def test_not_understood_twice_at_the_contact_step_hands_off(olga: Chat):
    await reach(olga, Step.CONTACT)
    await olga.say("абырвалг")
    replies = await olga.say("сколько стоит?")
    assert "Передал ваш вопрос администратору" in text(replies)
    assert (await olga.lead()).handoff_reason == "not_understood"


async def test_a_hand_off_with_no_staff_to_alert_gives_the_phone(db, config, clock):
    olga = Chat(DialogService(config, clock), 501)  # no owner, no managers, no staff group
    await reach(olga, Step.TIME)
    replies = await olga.command("human")
    assert "позвонить нам: +7 846 200-45-45" in text(replies)
    assert "Позвал администратора" not in text(replies)
    assert (await olga.lead()).needs_human  # still waiting for whoever joins


async def test_one_good_answer_resets_the_misses(olga: Chat):
    await reach(olga, Step.SERVICE)
    await olga.say("абырвалг")
    await olga.press("svc:manicure")
    replies = await olga.say("абырвалг")
    assert OTHER_HINT in text(replies)
    assert not (await olga.lead()).needs_human


async def test_no_hand_off_before_consent(olga: Chat):
    await reach(olga, Step.CONSENT)
    for _ in range(3):
        assert HINT[Step.CONSENT] in text(await olga.say("абырвалг"))
    assert await Lead.all().count() == 0
    replies = await olga.command("human")
    assert "+7 846 200-45-45" in text(replies) and await Lead.all().count() == 0


async def test_human_command_hands_off_and_the_booking_goes_on(olga: Chat):
    await reach(olga, Step.TIME)
    replies = await olga.command("human")
    assert "Позвал администратора" in text(replies)
    lead = await olga.lead()
    assert lead.needs_human and lead.handoff_reason == "asked"
    assert (await olga.state()).step == Step.TIME
    assert QUESTION[Step.SLOT] in text(await olga.press("when:tomorrow"))


async def test_unknown_command_lists_the_commands_and_asks_again(olga: Chat):
    await reach(olga, Step.TIME)
    replies = await olga.command("foo")
    assert "/mybookings" in text(replies) and QUESTION[Step.TIME] in text(replies)


# --- restart of the process mid-dialogue -----------------------------------------------------


async def test_process_restart_mid_dialogue_loses_nothing(
    olga: Chat, db: Path, config: BusinessConfig, clock: FakeClock
):
    await reach(olga, Step.SLOT)
    await close_db()
    await init_db(f"sqlite://{db}")
    olga.dialogs = DialogService(config, clock)  # a new process: nothing held in memory

    state = await olga.state()
    assert (state.step, state.service_id, state.consented) == (Step.SLOT, "manicure", True)
    replies = await olga.press(ANNA_TUE_10)
    assert QUESTION[Step.CONTACT] in text(replies)
    await olga.share_contact("+79271234567")
    await olga.press("name:me")
    assert "Заявка принята" in text(await olga.press("confirm"))
    lead = await olga.lead()
    assert await status_events(lead) == [(None, "new"), ("new", "qualified")]
    assert await Lead.all().count() == 1
    assert (await Appointment.get()).lead_id == lead.id


async def test_back_after_a_restart_still_knows_the_way(olga: Chat, config, clock):
    await reach(olga, Step.SLOT)
    olga.dialogs = DialogService(config, clock)
    assert QUESTION[Step.TIME] in text(await olga.press("back"))


# --- two quick messages ----------------------------------------------------------------------


async def test_two_quick_messages_are_handled_one_after_the_other(olga: Chat):
    await reach(olga, Step.SERVICE)
    version = (await olga.conversation()).version
    first, second = await asyncio.gather(olga.press("svc:manicure"), olga.press("addon:gel"))

    assert QUESTION[Step.ADDON] in text(first)
    assert QUESTION[Step.TIME] in text(second)
    assert (await olga.conversation()).version == version + 2
    state = await olga.state()
    assert (state.step, state.service_id, state.addon_ids) == (Step.TIME, "manicure", ["gel"])
    assert state.history[-2:] == [Step.SERVICE, Step.ADDON]


async def test_two_processes_on_one_chat_lose_no_step(olga: Chat, config, clock):
    await reach(olga, Step.SERVICE)
    version = (await olga.conversation()).version
    other = Chat(DialogService(config, clock), olga.chat_id)  # a second bot instance
    await asyncio.gather(olga.say("абырвалг"), other.say("ыыы"))

    assert (await olga.conversation()).version == version + 2
    lead = await olga.lead()
    assert lead.needs_human and lead.handoff_reason == "not_understood"


# --- own bookings and cancellation -----------------------------------------------------------


async def test_my_bookings_lists_upcoming_with_cancel_buttons(olga: Chat):
    await book(olga)
    appointment = await Appointment.get()
    replies = await olga.command("mybookings")
    assert "Ваши записи" in text(replies)
    assert "вт, 24 ноября, 10:00 — Маникюр, Анна (ждёт подтверждения)" in text(replies)
    assert actions(replies) == [f"cancel:{appointment.id}"]
    assert labels(replies) == ["Отменить запись 24.11 10:00"]
    assert actions(await olga.press("my")) == [f"cancel:{appointment.id}"]


async def test_my_bookings_when_there_are_none(olga: Chat):
    await reach(olga, Step.SERVICE)
    assert "нет предстоящих записей" in text(await olga.command("mybookings"))


async def test_cancel_frees_the_slot_and_loses_the_lead(olga: Chat, ivan: Chat):
    await book(olga)
    appointment = await Appointment.get()
    replies = await olga.press(f"cancel:{appointment.id}")
    assert "Запись отменена" in text(replies)

    await appointment.refresh_from_db()
    assert appointment.status == "cancelled" and appointment.cancelled_at is not None
    lead = await olga.lead()
    assert (lead.status, lead.lost_reason) == ("lost", "client_cancelled")
    assert (await status_events(lead))[-1] == ("qualified", "lost")
    assert "нет предстоящих записей" in text(await olga.command("mybookings"))

    # the same time is free again for someone else
    await reach(ivan, Step.TIME)
    assert "вт 24.11 10:00 · Анна" in slot_labels(await ivan.press("when:tomorrow"))
    await ivan.press(ANNA_TUE_10)
    await ivan.share_contact("+79277654321")
    await ivan.press("name:me")
    assert "Заявка принята" in text(await ivan.press("confirm"))
    assert await Appointment.filter(start=TUE_10, master_id="anna", status="pending").count() == 1


async def test_cancelling_twice_is_refused_politely(olga: Chat):
    await book(olga)
    appointment = await Appointment.get()
    await olga.press(f"cancel:{appointment.id}")
    assert "Не нашёл такую запись" in text(await olga.press(f"cancel:{appointment.id}"))


async def test_cancelling_someone_elses_booking_is_refused(olga: Chat, ivan: Chat):
    await book(olga)
    appointment = await Appointment.get()
    await reach(ivan, Step.SERVICE)
    replies = await ivan.press(f"cancel:{appointment.id}")
    assert "Не нашёл такую запись" in text(replies)
    await appointment.refresh_from_db()
    assert appointment.status == "pending"
    assert (await olga.lead()).status == "qualified"


# --- /forget ---------------------------------------------------------------------------------


async def test_forget_erases_personal_data_and_keeps_the_figures(olga: Chat):
    await book(olga)
    client = await olga.client()
    replies = await olga.command("forget")
    assert "Удалить ваши данные" in text(replies)
    assert actions(replies) == ["forget:yes", "forget:no"]
    replies = await olga.press("forget:yes")
    assert "Ваши данные удалены" in text(replies)

    await client.refresh_from_db()
    assert (client.name, client.phone, client.consent_at) == (None, None, None)
    assert client.erased_at is not None
    # the phone and the name were in there; the rows stay (response times), the texts
    # and the chat id do not
    logged = await MessageLog.all().values_list("chat_id", "text")
    assert len(logged) > 20 and {text for _, text in logged} == {None}
    assert {chat for chat, _ in logged} == {erased_id(CHANNEL, "501")}
    appointment = await Appointment.get()
    assert appointment.status == "cancelled"
    assert (appointment.service_id, appointment.price_kop) == ("manicure", 150000)

    # the conversation starts over, with consent first
    replies = await olga.say("маникюр")
    assert "152-ФЗ" in text(replies)
    state = await olga.state()
    assert not state.consented and state.phone is None and state.name is None


async def test_forget_leaves_no_text_at_all_in_the_message_log(olga: Chat):
    await book(olga)
    await olga.command("forget")
    await olga.press("forget:yes")
    assert set(await MessageLog.all().values_list("text", flat=True)) == {None}


async def test_forget_loses_the_lead_of_a_cancelled_booking(olga: Chat):
    await book(olga)
    lead = await olga.lead()
    await olga.command("forget")
    await olga.press("forget:yes")
    await lead.refresh_from_db()
    assert lead.status == "lost"


async def test_forget_declined_keeps_everything(olga: Chat):
    await reach(olga, Step.NAME)
    await olga.command("forget")
    replies = await olga.press("forget:no")
    assert "ничего не удаляю" in text(replies) and QUESTION[Step.NAME] in text(replies)
    state = await olga.state()
    assert state.step == Step.NAME and state.phone == "+79271234567"
    assert (await olga.client()).erased_at is None


# --- a slot taken between showing and confirming ---------------------------------------------


async def test_slot_taken_before_confirming_offers_the_nearest(olga: Chat, ivan: Chat):
    await reach(olga, Step.SUMMARY)  # Olga is looking at Anna, tomorrow 10:00
    await book(ivan)  # Ivan gets it first

    replies = await olga.press("confirm")
    assert "только что заняли" in text(replies)
    offered = slot_labels(replies)
    assert offered and "вт 24.11 10:00 · Анна" not in offered
    assert offered[0] == "вт 24.11 10:00 · Ольга"  # nearest to the wished time
    assert all(s.startswith("вт 24.11") for s in offered)
    state = await olga.state()
    assert state.step == Step.SLOT and state.phone == "+79271234567"

    # the contact is kept: picking another slot goes straight to the summary
    assert QUESTION[Step.SUMMARY] in text(await olga.press(OLGA_TUE_10))
    assert "Заявка принята" in text(await olga.press("confirm"))
    assert await Appointment.filter(start=TUE_10).count() == 2
