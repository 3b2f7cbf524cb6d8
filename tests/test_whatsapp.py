"""WhatsApp Cloud API end to end: real HTTP into the webhook, real HTTP out to a fake Graph."""

from __future__ import annotations

import datetime as dt
import json

import aiohttp
import pytest

from bot.booking.reminders import queue_due_reminders
from bot.delivery.channel_store import ChannelStore
from bot.delivery.outbox import Message, deliver_due, enqueue
from bot.delivery.step_outbox import prune_receipts
from bot.models import (
    Appointment,
    Client,
    Conversation,
    DeliveryStatus,
    InboundMessage,
    Lead,
    MessageLog,
    Outbox,
    OutboxStatus,
)
from handlers.whatsapp_render import render
from scenarios.types import Button, Reply
from tests.fakes.graph_api import options, text_of
from tests.flows import has
from tests.staff_fixtures import MASHA, STAFF, add_team, running_bots
from tests.test_cli import run_cli
from tests.whatsapp_helpers import VERIFY, message, pressed, sign, text, webhook, whatsapp_rig

OLGA = "79271234567"


@pytest.fixture
async def wa(dialogs):
    async with whatsapp_rig(dialogs) as rig:
        yield rig


async def book(wa, wa_id: str = OLGA) -> list[dict]:
    """Greeting → consent → service → no add-on → tomorrow → first slot → phone → name →
    confirm, pressing what WhatsApp shows (buttons, list rows, numbered text)."""
    replies = await wa.say(wa_id, text(wa_id, "Здравствуйте"))
    replies = await wa.choose(wa_id, replies, "✅ Согласен")
    replies = await wa.choose(wa_id, replies, "Маникюр")
    replies = await wa.choose(wa_id, replies, "Нет, спасибо")
    replies = await wa.choose(wa_id, replies, "Завтра")
    replies = await wa.say(wa_id, text(wa_id, "1"))  # the first slot, by its number
    replies = await wa.say(wa_id, text(wa_id, "+7 927 123-45-67"))
    replies = await wa.choose(wa_id, replies, "Ольга")
    return await wa.choose(wa_id, replies, "✅ Подтвердить")


async def test_a_whole_booking_with_buttons_a_list_and_numbered_text(wa):
    replies = await wa.say(OLGA, text(OLGA, "Здравствуйте"))
    consent = replies[-1]
    assert consent["interactive"]["type"] == "button"  # two short choices: reply buttons
    assert options(consent) == [("✅ Согласен", "consent:yes"), ("Не согласен", "consent:no")]
    replies = await wa.choose(OLGA, replies, "✅ Согласен")
    services = text_of(replies[-1])  # eleven choices fit nothing: numbered text
    assert replies[-1]["type"] == "text" and "1. Маникюр" in services
    replies = await wa.say(OLGA, text(OLGA, "1"))
    assert "Добавить к услуге «Маникюр»" in text_of(replies[-1])
    replies = await wa.choose(OLGA, replies, "Нет, спасибо")
    replies = await wa.choose(OLGA, replies, "Завтра")
    slots = replies[-1]
    assert slots["interactive"]["type"] == "list"
    first_title, first_id = options(slots)[0]
    assert first_title == "вт 24.11 10:00 · Анна" and first_id.startswith("slot:anna:")
    replies = await wa.say(OLGA, pressed(OLGA, first_id, "list_reply"))
    assert "напишите" in text_of(replies[-1]).lower()  # no share-contact button here
    replies = await wa.say(OLGA, text(OLGA, "8 927 123-45-67"))
    replies = await wa.choose(OLGA, replies, "Ольга")
    replies = await wa.choose(OLGA, replies, "✅ Подтвердить")
    assert "Заявка принята" in text_of(replies[0])

    client = await Client.get(channel="whatsapp", channel_user_id=OLGA)
    assert (client.name, client.phone) == ("Ольга", "+79271234567")
    appointment = await Appointment.get(client_id=client.id)
    assert (appointment.master_id, appointment.service_id) == ("anna", "manicure")
    assert (await Lead.get(id=appointment.lead_id)).channel == "whatsapp"


async def test_the_verification_handshake(wa):
    good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    async with wa.http.get(wa.url, params=good) as resp:
        assert (resp.status, await resp.text()) == (200, "1158201444")
    for bad in ({**good, "hub.verify_token": "guess"}, {**good, "hub.mode": "unsubscribe"}):
        async with wa.http.get(wa.url, params=bad) as resp:
            assert resp.status == 403


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "forged", "sign-other"])
async def test_a_forged_or_missing_signature_is_refused_and_nothing_stored(wa, signature):
    payload = text(OLGA, "Здравствуйте")
    if signature == "sign-other":  # signed, but with another app's secret
        signature = sign(json.dumps(payload).encode(), "someone-elses-secret")
    assert await wa.post(payload, signature=signature) == 403
    assert await InboundMessage.all().count() == 0
    assert await Conversation.all().count() == 0
    assert wa.graph.sent == []


async def test_a_body_that_is_not_a_webhook_is_a_clear_400(wa):
    body = b"not json"
    headers = {"X-Hub-Signature-256": sign(body)}
    async with aiohttp.ClientSession() as http, http.post(wa.url, data=body, headers=headers) as r:
        assert r.status == 400


async def test_the_same_message_id_twice_is_handled_once(wa):
    first = await wa.say(OLGA, text(OLGA, "Здравствуйте", mid="wamid.same"))
    again = await wa.say(OLGA, text(OLGA, "Здравствуйте", mid="wamid.same"))
    assert len(first) == 2 and again == []
    assert await InboundMessage.filter(message_id="wamid.same").count() == 1
    assert await MessageLog.filter(direction="in").count() == 1


async def test_delivery_statuses_are_recorded(wa):
    def status(state: str, **extra) -> dict:
        return webhook(
            {"statuses": [{"id": "wamid.out1", "status": state, "recipient_id": OLGA} | extra]}
        )

    assert await wa.post(status("sent")) == 200
    assert await wa.post(status("delivered")) == 200
    assert await wa.post(status("read")) == 200
    row = await DeliveryStatus.get(channel="whatsapp", external_id="wamid.out1")
    assert (row.status, row.chat_id) == ("read", OLGA)
    failed = status("failed", errors=[{"code": 131026, "title": "Message undeliverable"}])
    assert await wa.post(failed) == 200
    row = await DeliveryStatus.get(channel="whatsapp", external_id="wamid.out1")
    assert (row.status, row.error) == ("failed", "Message undeliverable")


async def _reminder_rows(wa, config, dialogs, clock) -> list[Outbox]:
    await book(wa)
    appointment = await Appointment.get()
    clock.set(appointment.start - dt.timedelta(hours=2))
    await queue_due_reminders(config, dialogs.texts, clock.now())
    return await Outbox.filter(kind="reminder").order_by("id")


async def test_a_reminder_inside_the_window_is_an_interactive_message(wa, config, dialogs, clock):
    # Booked Monday 09:00 for Tuesday 10:00; now Tuesday 08:00: both reminders are due,
    # and she wrote 23 h ago, still inside the 24-hour window.
    rows = await _reminder_rows(wa, config, dialogs, clock)
    assert await deliver_due(wa.adapter, clock) == len(rows) == 2
    for sent in wa.graph.sent[-2:]:
        assert sent["type"] == "interactive" and "напоминаем о визите" in text_of(sent)
        assert options(sent)[0][0].startswith("✅")
    for row in await Outbox.filter(kind="reminder"):
        assert row.status == OutboxStatus.SENT and row.external_id.startswith("wamid.")


async def test_a_reminder_outside_the_window_goes_as_the_template(wa, config, dialogs, clock):
    rows = await _reminder_rows(wa, config, dialogs, clock)
    clock.advance(hours=1, minutes=5)  # Tuesday 09:05: 24 h 5 min since she wrote
    assert await deliver_due(wa.adapter, clock) == len(rows)
    sent = wa.graph.sent[-1]
    assert sent["type"] == "template"
    tpl = sent["template"]
    assert (tpl["name"], tpl["language"]) == ("priyom_reminder", {"code": "ru"})
    body, *buttons = tpl["components"]
    params = [p["text"] for p in body["parameters"]]  # name, when, service, master, address
    assert params[:4] == ["Ольга", "вт, 24 ноября, 10:00", "Маникюр", "Анна"]
    payloads = [b["parameters"][0]["payload"] for b in buttons]
    appointment = await Appointment.get()
    assert payloads == [
        f"rconfirm:{appointment.id}",
        f"rmove:{appointment.id}",
        f"cancel:{appointment.id}",
    ]
    # Her quick reply «Подтверждаю» comes back as the template button's payload.
    quick = {"type": "button", "button": {"payload": payloads[0], "text": "Подтверждаю"}}
    replies = await wa.say(OLGA, message(OLGA, quick))
    assert [text_of(r) for r in replies] == ["Спасибо, ждём вас!"]
    assert (await Appointment.get()).client_confirmed_at is not None


async def notice(text: str, key: str, clock, lead_id: int | None = None) -> None:
    """A free-form message to Ольга from the outbox (not a reminder)."""
    await enqueue(
        bot="client",
        channel="whatsapp",
        chat_id=OLGA,
        kind="notice",
        message=Message(text),
        dedup_key=key,
        now=clock.now(),
        lead_id=lead_id,
    )


async def test_a_failed_status_after_sending_flags_the_lead(wa, config, dialogs, clock):
    await _reminder_rows(wa, config, dialogs, clock)
    assert await deliver_due(wa.adapter, clock) == 2
    row = await Outbox.filter(kind="reminder").order_by("-id").first()
    failed = webhook(
        {
            "statuses": [
                {
                    "id": row.external_id,
                    "status": "failed",
                    "recipient_id": OLGA,
                    "errors": [{"code": 131026, "title": "Message undeliverable"}],
                }
            ]
        }
    )
    assert await wa.post(failed) == 200
    row = await Outbox.get(id=row.id)
    assert row.status == OutboxStatus.DEAD and "Message undeliverable" in row.error
    lead = await Lead.get()
    assert (lead.needs_human, lead.handoff_reason) == (True, "undeliverable")


async def test_free_text_outside_the_window_is_not_sent_and_staff_are_told(wa, clock):
    await book(wa)
    lead = await Lead.get()
    clock.advance(hours=25)
    await notice("Мастер заболела, давайте перенесём?", "late-notice", clock, lead.id)
    before = len(wa.graph.sent)
    assert await deliver_due(wa.adapter, clock) == 0
    row = await Outbox.get(dedup_key="late-notice")
    assert row.status == OutboxStatus.DEAD and "24-hour window" in row.error
    assert len(wa.graph.sent) == before
    lead = await Lead.get()
    assert (lead.needs_human, lead.handoff_reason) == (True, "undeliverable")


async def test_graph_throttling_is_retried_not_counted(wa, clock):
    await wa.say(OLGA, text(OLGA, "Здравствуйте"))
    await notice("Ждём вас!", "throttled", clock)
    wa.graph.fail_next(400, 130429)
    assert await deliver_due(wa.adapter, clock) == 0
    row = await Outbox.get(dedup_key="throttled")
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)
    assert row.due_at == clock.now() + dt.timedelta(seconds=30)
    clock.advance(seconds=30)
    assert await deliver_due(wa.adapter, clock) == 1
    assert text_of(wa.graph.sent[-1]) == "Ждём вас!"


async def test_a_manager_relays_to_a_whatsapp_client_from_the_staff_bot(wa, config, clock):
    await add_team(clock)
    async with running_bots(config, clock, channels={"whatsapp": wa.adapter}) as api:
        await book(wa)
        card = await api.wait_for_message(STAFF, MASHA.id, has("Заявка #1"))
        assert "(WhatsApp)" in card["text"]  # the card says where the client is
        api.press_button(STAFF, MASHA, text="✋ Взять", message_id=card["message_id"])
        await api.wait_for_message(STAFF, MASHA.id, has("ваша"))
        joined = await wa.graph.wait_for(OLGA, len(wa.graph.to(OLGA)) + 1)
        assert "подключился" in text_of(joined[-1])
        api.send_text(STAFF, MASHA, "Ольга, здравствуйте! Удобно ли в 10:00?")
        relayed = await wa.graph.wait_for(OLGA, len(joined) + 1)
        assert text_of(relayed[-1]) == "Ольга, здравствуйте! Удобно ли в 10:00?"
        api.send_photo(STAFF, MASHA, caption="пример работы")  # a photo, re-uploaded
        photo = (await wa.graph.wait_for(OLGA, len(relayed) + 1))[-1]
        assert photo["type"] == "image" and photo["image"]["caption"] == "пример работы"
        mime, data = wa.graph.media[photo["image"]["id"]]
        assert mime == "image/jpeg" and data.startswith(b"\xff\xd8fake-jpeg")  # the manager's
        # Her answer and her photo go back to the manager in the staff bot.
        await wa.say(OLGA, text(OLGA, "Да, удобно"))
        await api.wait_for_message(STAFF, MASHA.id, has("Да, удобно"))
        image = {"id": wa.graph.client_sent(b"\xff\xd8design"), "caption": "вот такой дизайн"}
        await wa.say(OLGA, message(OLGA, {"type": "image", "image": image}))
        sent = await api.wait_for_call(STAFF, "sendPhoto", lambda c: c.chat_id == MASHA.id)
        assert "вот такой дизайн" in sent.params["caption"]
        assert sent.files["photo"].content == b"\xff\xd8design"  # her bytes, from Graph
    assert await MessageLog.filter(author=f"staff:{MASHA.id}", channel="whatsapp").count() == 2


# --- rendering and settings -------------------------------------------------------------


def _reply(count: int, title: str = "Вариант", body: str = "Выберите:") -> Reply:
    return Reply(body, ((Button(f"{title} {n}", f"opt:{n}"),) for n in range(count)))


def test_choices_become_buttons_a_list_or_numbered_text(dialogs):
    t = dialogs.texts
    assert render(_reply(3), t).body["interactive"]["type"] == "button"
    long_titles = render(_reply(3, "Очень-очень длинное название"), t).body  # > 20 characters
    assert long_titles["interactive"]["type"] == "list"
    row = long_titles["interactive"]["action"]["sections"][0]["rows"][0]
    assert len(row["title"]) == 24 and row["description"] == "Очень-очень длинное название 0"
    assert render(_reply(10), t).body["interactive"]["type"] == "list"
    numbered = render(_reply(11), t)
    assert numbered.body["type"] == "text" and "11. Вариант 10" in numbered.body["text"]["body"]
    assert numbered.actions[10] == "opt:10"  # «11» typed back selects it
    too_long = render(_reply(2, body="х" * 1100), t).body  # interactive bodies stop at 1024
    assert too_long["type"] == "text"
    link = render(Reply("Политика", ((Button("Открыть", url="https://x.example"),),)), t).body
    assert link == {
        "type": "text",
        "text": {"body": "Политика\nОткрыть: https://x.example", "preview_url": True},
    }


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({"WHATSAPP_TOKEN": "t"}, "WHATSAPP_PHONE_NUMBER_ID"),
        ({"WHATSAPP_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "1"}, "WHATSAPP_APP_SECRET"),
        (
            {"WHATSAPP_TOKEN": "t", "WHATSAPP_PHONE_NUMBER_ID": "1", "WHATSAPP_APP_SECRET": "s"},
            "WHATSAPP_VERIFY_TOKEN",
        ),
    ],
)
def test_a_half_configured_whatsapp_is_refused_with_the_missing_setting(tmp_path, env, missing):
    result = run_cli("check", tmp_path=tmp_path, **env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {missing} is not set")
    assert len(result.stderr.strip().splitlines()) == 1


async def test_a_prune_leaves_first_contact_and_the_window_as_they_were(wa, clock):
    """Old receipts go (bot.delivery.step_outbox.prune_receipts), a chat's newest stays:
    Ольга, who wrote days ago, is no first contact (a typed «src-…» is text, not a new
    start with a source), and the 24-hour window reads the same last message."""
    await wa.say(OLGA, text(OLGA, "Здравствуйте"))
    clock.advance(minutes=5)
    await wa.say(OLGA, text(OLGA, "Добрый день"))
    store = ChannelStore("whatsapp")
    last = await store.last_inbound(OLGA)
    clock.advance(days=4)
    assert await prune_receipts(clock.now()) == 1
    assert await store.has_written(OLGA)
    assert await store.last_inbound(OLGA) == last
    replies = await wa.say(OLGA, text(OLGA, "src-vk"))
    assert [text_of(r) for r in replies] == [
        "Чтобы продолжить, нажмите «Согласен» — или «Не согласен», если не хотите."
    ]
    assert (await Conversation.get()).state["source"] is None
