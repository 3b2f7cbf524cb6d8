"""Where a new user got stuck (issue 11, items 21–24), through `DialogService` and a real
database: «Назад» / «Начать заново» / «отмена» at every step, by button and typed; a
request typed before the consent; a word that fits several services; the deposit shown.
"""

from __future__ import annotations

import tomllib

import pytest

from bot.clock import FakeClock
from bot.config import BusinessConfig, parse_config
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.models import Appointment, Client, Lead, Outbox
from scenarios.state import Step
from tests.ai_helpers import AiChat, ai_client, ai_dialogs, make_assistant, texts_of
from tests.conftest import ROOT
from tests.dialog_chat import (
    ANNA_TUE_10,
    QUESTION,
    Chat,
    actions,
    book,
    reach,
    slot_labels,
    text,
)
from tests.fakes.openai_api import FakeOpenAI

ASKED = {**QUESTION, Step.WHICH: "Уточните, пожалуйста, какая услуга", Step.DONE: "Какая услуга"}
OWNER = 9001


@pytest.fixture
def olga(dialogs: DialogService) -> Chat:
    return Chat(dialogs, 501, "Ольга")


async def reach_any(chat: Chat, step: Step) -> None:
    """`reach`, plus the steps off the main path: which haircut, and after a booking."""
    if step == Step.WHICH:
        await reach(chat, Step.SERVICE)
        await chat.say("стрижка")
    elif step == Step.DONE:
        await book(chat)
    else:
        await reach(chat, step)
    assert (await chat.state()).step == step


# --- item 21: back and restart at every step, by button and typed ---------------------------

BACK_TO = {
    Step.CONSENT: Step.CONSENT,
    Step.SERVICE: Step.SERVICE,
    Step.WHICH: Step.SERVICE,
    Step.ADDON: Step.SERVICE,
    Step.TIME: Step.ADDON,
    Step.PICK_DAY: Step.TIME,
    Step.SLOT: Step.TIME,
    Step.CONTACT: Step.SLOT,
    Step.NAME: Step.CONTACT,
    Step.SUMMARY: Step.NAME,
    Step.DONE: Step.SERVICE,
}
HOW = {  # how the client navigates → where to (None: to the step's BACK_TO)
    "button back": ("press", "back", None),
    "typed назад": ("say", "Назад!", None),
    "typed заново": ("say", "заново", "restart"),
    "typed отмена": ("say", "Отмена.", "restart"),
    "button restart": ("press", "restart", "restart"),
    "typed начать сначала": ("say", "начать сначала, пожалуйста", "restart"),
}


def _expected(step: Step, how: str, consented: bool) -> Step:
    where = HOW[how][2]
    if where is None:
        return BACK_TO[step]
    return Step.SERVICE if consented else Step.CONSENT


@pytest.mark.parametrize("how", list(HOW))
@pytest.mark.parametrize("step", list(BACK_TO))
async def test_back_and_restart_work_at_every_step(olga: Chat, step: Step, how: str):
    await reach_any(olga, step)
    before = await olga.state()
    if step not in (Step.CONSENT, Step.DONE):
        # one miss already: a navigation word must not be the second
        await olga.say("не скажу" if step == Step.NAME else "абырвалг")
    verb, value, _ = HOW[how]
    replies = await getattr(olga, verb)(value)
    if step == Step.DONE and how == "typed отмена":  # after a booking: the bookings to cancel
        assert "Ваши записи" in text(replies)
        appointment = await Appointment.get()
        assert f"cancel:{appointment.id}" in actions(replies)
        return
    want = _expected(step, how, before.consented)
    assert ASKED[want] in text(replies)
    after = await olga.state()
    assert (after.step, after.misses, after.consented) == (want, 0, before.consented)
    assert "Передал ваш вопрос" not in text(replies)
    assert not await Lead.filter(needs_human=True).exists()
    if HOW[how][2] == "restart":
        assert (after.service_id, after.start, after.history) == (None, None, [])


async def test_phone_step_offers_back_and_restart_with_the_share_button(olga: Chat):
    replies = await reach(olga, Step.CONTACT)
    asking = next(r for r in replies if QUESTION[Step.CONTACT] in r.text)
    assert asking.ask_contact and actions([asking]) == ["back", "restart"]
    replies = await olga.say("12345")  # a wrong number: the hint keeps the same controls
    assert replies[0].ask_contact and actions(replies) == ["back", "restart"]


async def test_typing_back_twice_at_the_phone_step_is_no_hand_off(olga: Chat):
    await reach(olga, Step.CONTACT)
    assert QUESTION[Step.SLOT] in text(await olga.say("назад"))
    assert QUESTION[Step.TIME] in text(await olga.say("назад"))
    assert not (await olga.lead()).needs_human
    # the labels of the phone step's keyboard come back as text in Telegram
    await olga.press("when:tomorrow")
    await olga.press(ANNA_TUE_10)
    assert QUESTION[Step.SLOT] in text(await olga.say("◂ Назад"))
    await olga.press(ANNA_TUE_10)
    assert QUESTION[Step.SERVICE] in text(await olga.say("Начать заново"))


NOT_NAVIGATION = ["назад в прошлое", "заново покрасить волосы", "отменить нельзя?"]


@pytest.mark.parametrize("phrase", NOT_NAVIGATION)
async def test_navigation_words_inside_a_sentence_are_not_navigation(olga: Chat, phrase: str):
    await reach(olga, Step.CONTACT)
    replies = await olga.say(phrase)
    assert "распознать номер" in text(replies)
    assert (await olga.state()).step == Step.CONTACT


async def test_a_hand_off_alerts_the_staff(db, config: BusinessConfig, clock: FakeClock):
    olga = Chat(DialogService(config, clock, owner_ids=frozenset({OWNER})), 501)
    await reach(olga, Step.CONTACT)
    await olga.say("абырвалг")
    replies = await olga.say("ыыы")
    assert "Передал ваш вопрос администратору" in text(replies)
    lead = await olga.lead()
    assert lead.needs_human and lead.handoff_reason == "not_understood"
    alert = await Outbox.get(kind="alert", bot="staff")
    assert (alert.chat_id, alert.lead_id) == (str(OWNER), lead.id)
    assert f"#{lead.id}" in alert.payload["text"]


# --- item 22: a request typed before the consent -------------------------------------------


async def test_a_request_before_consent_is_used_right_after_it(olga: Chat, dialogs):
    await olga.command("start")
    replies = await olga.say("хочу на стрижку завтра после 5")
    assert "Запомнил" in text(replies) and actions(replies) == ["consent:yes", "consent:no"]
    assert await Client.all().count() == 0  # nothing personal before the consent
    early = await olga.state()
    assert early.step == Step.CONSENT and early.name is None and early.phone is None

    replies = await olga.press("consent:yes")
    assert "Согласие записано" in text(replies) and ASKED[Step.WHICH] in text(replies)

    # the same words typed right after the consent
    ivan = Chat(dialogs, 502, "Иван")
    await reach(ivan, Step.SERVICE)
    typed = await ivan.say("хочу на стрижку завтра после 5")
    mine, his = await olga.state(), await ivan.state()
    assert (mine.step, mine.choices, mine.wish) == (his.step, his.choices, his.wish)
    assert actions(replies[1:]) == actions(typed) == ["svc:haircut_w", "svc:haircut_m", "back"]

    await olga.press("svc:haircut_m")
    slots = slot_labels(await olga.press("addon:none"))
    assert slots and all(s.startswith("вт 24.11 1") for s in slots)
    assert slots[0] == "вт 24.11 17:00 · Марина"


async def test_a_first_message_without_start_keeps_its_request(olga: Chat):
    replies = await olga.say("маникюр завтра после 5")  # e.g. WhatsApp: no /start at all
    assert "152-ФЗ" in text(replies)
    replies = await olga.press("consent:yes")
    assert QUESTION[Step.ADDON] in text(replies)
    assert slot_labels(await olga.press("addon:none"))[0] == "вт 24.11 17:00 · Анна"


async def test_a_request_with_a_phone_before_consent_is_not_kept(olga: Chat):
    await olga.command("start")
    replies = await olga.say("маникюр завтра, 89271234567")
    assert "Запомнил" not in text(replies)
    state = await olga.state()
    assert (state.service_id, state.wish, state.phone) == (None, None, None)
    assert QUESTION[Step.SERVICE] in text(await olga.press("consent:yes"))


async def test_restart_before_consent_forgets_the_kept_request(olga: Chat):
    await olga.command("start")
    await olga.say("маникюр завтра")
    await olga.say("заново")
    assert QUESTION[Step.SERVICE] in text(await olga.press("consent:yes"))


# --- item 23: a word that fits several services ---------------------------------------------

AMBIGUOUS = {
    "стрижка": ["svc:haircut_w", "svc:haircut_m"],
    "подстричься": ["svc:haircut_w", "svc:haircut_m"],
    "Хочу подстричься в субботу": ["svc:haircut_w", "svc:haircut_m"],
    "постричься бы": ["svc:haircut_w", "svc:haircut_m"],
    "покрытие гель-лак": ["svc:manicure", "svc:pedicure"],
}


@pytest.mark.parametrize("understander", [False, True], ids=["plain", "rules understander"])
@pytest.mark.parametrize("words", list(AMBIGUOUS))
async def test_a_word_fitting_several_services_asks_which(
    db, config: BusinessConfig, clock: FakeClock, words: str, understander: bool
):
    assistant = make_assistant(config, None) if understander else None
    olga = Chat(DialogService(config, clock, understander=assistant), 501)
    await reach(olga, Step.SERVICE)
    replies = await olga.say(words)
    assert ASKED[Step.WHICH] in text(replies)
    assert actions(replies) == [*AMBIGUOUS[words], "back"]
    state = await olga.state()
    assert state.step == Step.WHICH and state.service_id is None


async def test_which_service_by_button_then_back_asks_again(olga: Chat):
    await reach(olga, Step.SERVICE)
    await olga.say("стрижка")
    replies = await olga.press("svc:haircut_w")
    assert "Добавить к услуге «Женская стрижка»" in text(replies)
    assert ASKED[Step.WHICH] in text(await olga.press("back"))
    assert QUESTION[Step.SERVICE] in text(await olga.press("back"))


@pytest.mark.parametrize(
    ("answer", "service"),
    [("мужскую", "haircut_m"), ("женская", "haircut_w"), ("массаж", "massage")],
)
async def test_which_service_in_words(olga: Chat, answer: str, service: str):
    await reach(olga, Step.SERVICE)
    await olga.say("подстричься")
    await olga.say(answer)
    assert (await olga.state()).service_id == service


async def test_a_button_not_offered_is_a_miss(olga: Chat):
    await reach(olga, Step.SERVICE)
    await olga.say("стрижка")
    replies = await olga.press("svc:manicure")
    assert "Выберите, пожалуйста, вариант кнопкой" in text(replies)
    assert (await olga.state()).step == Step.WHICH


async def test_after_a_booking_an_ambiguous_word_asks_which(olga: Chat):
    await book(olga)
    assert ASKED[Step.WHICH] in text(await olga.say("теперь стрижка"))


# --- item 24: the deposit -------------------------------------------------------------------


async def _book_coloring(chat: Chat) -> tuple[str, str]:
    """Summary and confirmation of tomorrow's first coloring (deposit 1 000 ₽ in the config)."""
    await reach(chat, Step.SERVICE)
    await chat.press("svc:coloring")
    slots = await chat.press("when:tomorrow")
    await chat.press(next(a for a in actions(slots) if a.startswith("slot:")))
    await chat.share_contact("+79271234567")
    summary = text(await chat.press("name:me"))
    return summary, text(await chat.press("confirm"))


async def test_the_deposit_is_shown_in_the_summary_and_the_confirmation(
    olga: Chat, config: BusinessConfig
):
    summary, done = await _book_coloring(olga)
    assert "Стоимость: 4\u00a0500\u00a0₽\nПредоплата: 1\u00a0000\u00a0₽" in summary
    assert "Заявка принята" in done and "Предоплата: 1\u00a0000\u00a0₽" in done
    assert (await Appointment.get()).deposit_kop == 100000


async def test_the_deposit_amount_comes_from_the_config(db, clock: FakeClock):
    with (ROOT / "examples" / "salon.toml").open("rb") as fh:
        data = tomllib.load(fh)
    next(s for s in data["services"] if s["id"] == "coloring")["deposit"] = 1250
    summary, done = await _book_coloring(Chat(DialogService(parse_config(data), clock), 501))
    assert "Предоплата: 1\u00a0250\u00a0₽" in summary and "Предоплата: 1\u00a0250\u00a0₽" in done


async def test_the_deposit_in_english(db, config: BusinessConfig, clock: FakeClock):
    chat = Chat(DialogService(config, clock, texts=Texts("en")), 501)
    summary, done = await _book_coloring(chat)
    assert "Deposit: 1\u00a0000\u00a0₽" in summary and "Deposit: 1\u00a0000\u00a0₽" in done


async def test_no_deposit_line_without_a_deposit(olga: Chat):
    await reach(olga, Step.NAME)
    summary = text(await olga.press("name:me"))
    assert "Предоплата" not in summary
    assert "Предоплата" not in text(await olga.press("confirm"))


async def test_a_model_picking_one_of_several_fitting_services_still_asks(
    db, config: BusinessConfig, clock: FakeClock
):
    async with FakeOpenAI() as fake:
        fake.tool({"intent": "booking", "service_id": "haircut_w", "date_from": "2026-11-24"})
        chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
        replies = await chat.say("стрижка завтра")
    assert ASKED[Step.WHICH] in texts_of(replies)
    state = await chat.dialogs.conversation_state("telegram", chat.chat_id)
    assert state.choices == ["haircut_w", "haircut_m"] and state.wish is not None


@pytest.mark.parametrize("word", ["отмена", "назад", "заново"])
async def test_navigation_words_at_the_erasure_question_keep_everything(olga: Chat, word: str):
    await reach(olga, Step.NAME)
    await olga.command("forget")
    replies = await olga.say(word)
    assert QUESTION[Step.NAME] in text(replies)
    state = await olga.state()
    assert state.step == Step.NAME and state.phone == "+79271234567"
