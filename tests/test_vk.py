"""VK end to end: VK's Callback API posting over real HTTP into /vk (and Bots Long Poll),
replies over real HTTP to a fake VK API that enforces random_id dedup and keyboard limits."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging

import aiohttp
import pytest

from bot.delivery.outbox import Message, RetryLater, Undeliverable, deliver_due, enqueue
from bot.models import Appointment, Client, Conversation, InboundMessage, Lead, Outbox
from bot.privacy import secret_values
from bot.settings import Settings, load_settings
from handlers.vk import PATH, Vk, render, vk_channel
from handlers.vk_api import VkApi, verdict
from scenarios.types import Button, Reply
from tests.fakes.local_server import serving
from tests.fakes.vk_api import GROUP_ID, TOKEN, CallbackSender, FakeVkApi, callback_buttons
from tests.flows import has
from tests.staff_fixtures import MASHA, STAFF, add_team, running_bots
from tests.test_cli import run_cli

SECRET = "vk-callback-secret"
CONFIRMATION = "a1b2c3d4"
ANNA = "51234567"
_seq = itertools.count(1)


def event(kind: str, obj: dict, secret: str | None = SECRET) -> dict:
    body = {"type": kind, "object": obj, "group_id": GROUP_ID, "event_id": f"ev{next(_seq)}"}
    body["v"] = "5.199"
    if secret is not None:
        body["secret"] = secret
    return body


def message(peer: str, text: str = "", secret: str | None = SECRET, **extra) -> dict:
    msg = {"id": next(_seq), "date": 1764000000, "from_id": int(peer), "peer_id": int(peer)}
    obj = {"message": {**msg, "text": text, **extra}, "client_info": {}}
    return event("message_new", obj, secret)


def pressed(peer: str, payload: str) -> dict:
    obj = {"user_id": int(peer), "peer_id": int(peer), "event_id": f"btn{next(_seq)}"}
    return event("message_event", {**obj, "payload": {"a": payload}})


class VkRig:
    def __init__(self, api: FakeVkApi, adapter: Vk, vk: CallbackSender) -> None:
        self.api, self.adapter, self.vk = api, adapter, vk

    async def say(self, update: dict, peer: str = ANNA) -> list[dict]:
        before = len(self.api.to(peer))
        assert await self.vk.deliver(update) == (200, "ok")
        return self.api.to(peer)[before:]

    async def press(self, replies: list[dict], label: str, peer: str = ANNA) -> list[dict]:
        for body in reversed(replies):
            for button in callback_buttons(body):
                if button["label"].startswith(label):
                    return await self.say(pressed(peer, json.loads(button["payload"])["a"]))
        raise AssertionError(f"no button {label!r} in {[b.get('text') for b in replies]}")

    async def pick(self, replies: list[dict], label: str, peer: str = ANNA) -> list[dict]:
        """Type the number of a numbered option, as a client does."""
        for line in replies[-1]["text"].splitlines():
            number, dot, rest = line.partition(". ")
            if dot and number.isdecimal() and rest.startswith(label):
                return await self.say(message(peer, number))
        raise AssertionError(f"no option {label!r} in {replies[-1]['text']!r}")


@contextlib.asynccontextmanager
async def vk_rig(dialogs, **api_args):
    async with FakeVkApi(**api_args) as api, aiohttp.ClientSession() as http:
        adapter = Vk(
            VkApi(api.url + "/method", TOKEN, GROUP_ID),
            dialogs.texts,
            dialogs.clock,
            secret=SECRET,
            confirmation=CONFIRMATION,
            dialogs=dialogs,
        )
        try:
            async with serving(lambda app: adapter.mount(app.router)) as url:
                yield VkRig(api, adapter, CallbackSender(url + PATH, http))
        finally:
            await adapter.api.close()


@pytest.fixture
async def vk(dialogs):
    async with vk_rig(dialogs) as rig:
        yield rig


async def book(vk) -> list[dict]:
    """A vk.me link → consent → service (numbered: eleven do not fit) → no add-on →
    tomorrow → first slot → the typed phone → the typed name → confirm."""
    replies = await vk.say(message(ANNA, "Начать", ref="src-instagram_cmp-spring"))
    replies = await vk.press(replies, "✅ Согласен")
    assert replies[-1]["keyboard"] is None and "1. Маникюр" in replies[-1]["text"]
    replies = await vk.pick(replies, "Маникюр")
    replies = await vk.press(replies, "Нет, спасибо")
    replies = await vk.press(replies, "Завтра")
    replies = await vk.press(replies, "вт 24.11 10:00")
    assert "номер телефона сообщением" in replies[-1]["text"]  # VK has no contact button
    replies = await vk.say(message(ANNA, "+7 927 111-22-33"))
    assert "Как к вам обращаться?" in replies[-1]["text"]  # VK gives no name: it is typed
    replies = await vk.say(message(ANNA, "Анна"))
    return await vk.press(replies, "✅ Подтвердить")


async def test_a_vk_client_books_end_to_end(vk):
    done = await book(vk)
    assert "Заявка принята" in done[0]["text"]
    client = await Client.get(channel="vk", channel_user_id=ANNA)
    assert (client.name, client.phone) == ("Анна", "+79271112233")
    appointment = await Appointment.get(client_id=client.id)
    lead = await Lead.get(id=appointment.lead_id)
    assert (lead.channel, lead.source, lead.campaign) == ("vk", "instagram", "spring")
    assert len(vk.api.answered) >= 5  # every button press was answered
    assert vk.api.calls.count("messages.sendMessageEventAnswer") == len(vk.api.answered)


async def test_a_plain_ref_and_ref_source_set_source_and_campaign(vk):
    await vk.say(message(ANNA, "Здравствуйте", ref="VKads", ref_source="winter"))
    await vk.press(vk.api.to(ANNA), "✅ Согласен")
    lead = await Lead.get()
    assert (lead.source, lead.campaign) == ("vkads", "winter")


async def test_the_confirmation_is_answered_for_our_group_only(vk):
    confirm = {"type": "confirmation", "group_id": GROUP_ID}
    assert await vk.vk.post(confirm) == (200, CONFIRMATION)
    assert (await vk.vk.post({**confirm, "group_id": 1}))[0] == 403


@pytest.mark.parametrize("secret", [None, "", "guess", SECRET + "x"])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_stored(vk, secret):
    status, _ = await vk.vk.deliver(message(ANNA, "Привет", secret=secret))
    assert status == 403 and vk.vk.attempts == 3  # VK keeps retrying; nothing gets in
    assert await InboundMessage.all().count() == 0
    assert await Conversation.all().count() == 0
    assert vk.api.sent == []


async def test_a_redelivered_event_is_processed_once(vk):
    first = message(ANNA, "Здравствуйте")
    replies = await vk.say(first)
    assert replies and await vk.say(first) == []
    assert await InboundMessage.filter(channel="vk").count() == 1


async def test_a_malformed_event_is_acknowledged_and_logged_once(vk, caplog):
    broken = event("message_new", {"message": {"peer_id": "not a number"}})
    with caplog.at_level(logging.WARNING, logger="priyom.inbound"):
        assert await vk.vk.deliver(broken) == (200, "ok")
    assert vk.vk.attempts == 1
    assert [r.message for r in caplog.records] == ["malformed_update"]


async def test_a_retried_send_with_the_same_random_id_is_shown_once(vk, clock):
    """The send reached VK but its answer was lost: the row is retried with the same
    random_id, and VK shows the message once."""
    await vk.say(message(ANNA, "Здравствуйте"))
    row = await Outbox.filter(chat_id=ANNA).order_by("id").first()
    shown = len(vk.api.to(ANNA))
    await Outbox.filter(id=row.id).update(status="pending", due_at=clock.now())
    assert await deliver_due(vk.adapter, clock) == 1
    assert len(vk.api.to(ANNA)) == shown


async def test_a_keyboard_over_the_limits_is_a_numbered_list_and_a_number_picks(vk):
    await vk.say(message(ANNA, "Здравствуйте"))
    services = await vk.press(vk.api.to(ANNA), "✅ Согласен")
    assert services[-1]["keyboard"] is None  # VK would refuse 11 buttons (error 911)
    replies = await vk.pick(services, "Женская стрижка")
    assert "Женская стрижка" in replies[-1]["text"] and "Маникюр" not in replies[-1]["text"]


def test_render_keeps_within_vks_inline_limits(dialogs):
    t = dialogs.texts
    ten = Reply("?", tuple((Button(f"B{i}", f"b:{i}"),) for i in range(6)))
    _, keyboard, numbered = render(ten, t)
    assert keyboard and len(keyboard["buttons"]) == 6 and numbered == ()
    seven_rows = Reply("?", tuple((Button(f"B{i}", f"b:{i}"),) for i in range(7)))
    text, keyboard, numbered = render(seven_rows, t)
    assert keyboard is None and "7. B6" in text and numbered[6] == "b:6"
    long_label = Reply("?", ((Button("Я" * 60, "x"),),))
    assert len(render(long_label, t)[1]["buttons"][0][0]["action"]["label"]) == 40
    big_payload = Reply("?", ((Button("ok", "p" * 300),),))
    assert render(big_payload, t)[1] is None


@pytest.mark.parametrize(
    ("code", "kind"),
    [(6, RetryLater), (9, RetryLater), (29, RetryLater), (901, Undeliverable),
     (902, Undeliverable), (7, Undeliverable), (15, Undeliverable), (5, RetryLater),
     (10, RetryLater), (100, Undeliverable)],
)  # fmt: skip
def test_vk_errors_are_mapped(code, kind):
    assert isinstance(verdict(code, "x"), kind)


async def test_sends_are_paced_under_the_per_second_limit(dialogs, clock):
    """20 outbox rows due at once: the fake refuses the 21st call in a second (error 6),
    the adapter's limiter keeps every send inside the limit."""
    async with vk_rig(dialogs) as vk:
        await vk.say(message(ANNA, "Здравствуйте"))
        before = len(vk.api.to(ANNA))
        for n in range(25):
            await enqueue(
                bot="client", channel="vk", chat_id=ANNA, kind="reminder",
                message=Message(f"n{n}"), dedup_key=f"pace:{n}", now=clock.now(),
            )  # fmt: skip
        assert await deliver_due(vk.adapter, clock, limit=50) == 25
        assert len(vk.api.to(ANNA)) == before + 25


async def test_polling_mode_receives_a_message(dialogs):
    async with vk_rig(dialogs) as vk:
        vk.api.fail_next_poll(2)  # the key expired: a new one is fetched first
        vk.api.queue_update(message(ANNA, "Здравствуйте", secret=None))
        polling = asyncio.create_task(vk.adapter.poll_forever(wait=1))
        try:
            replies = await vk.api.wait_for(ANNA, 2)
        finally:
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
    assert "Лиса" in replies[0]["text"] and "152-ФЗ" in replies[1]["text"]
    assert vk.api.calls.count("groups.getLongPollServer") == 2


async def test_a_manager_relays_to_a_vk_client_from_the_staff_bot(vk, config, clock):
    await add_team(clock)
    async with running_bots(config, clock, channels={"vk": vk.adapter}) as api:
        await vk.say(message(ANNA, "Здравствуйте"))
        await vk.press(vk.api.to(ANNA), "✅ Согласен")
        await vk.say(message(ANNA, "/human"))
        card = await api.wait_for_message(STAFF, MASHA.id, has("(ВКонтакте)"))
        api.press_button(STAFF, MASHA, text="✋ Взять", message_id=card["message_id"])
        await api.wait_for_message(STAFF, MASHA.id, has("ваша"))
        api.send_text(STAFF, MASHA, "Анна, чем помочь?")
        relayed = await vk.api.wait_for(ANNA, len(vk.api.to(ANNA)) + 2)
        assert any(body["text"] == "Анна, чем помочь?" for body in relayed)
        photo = vk.api.file_url(b"\xff\xd8vk-photo")
        sizes = [{"type": "x", "url": photo, "width": 604, "height": 604}]
        attachment = {"type": "photo", "photo": {"sizes": sizes}}
        await vk.say(message(ANNA, "вот такой дизайн", attachments=[attachment]))
        sent = await api.wait_for_call(STAFF, "sendPhoto", lambda c: c.chat_id == MASHA.id)
        assert "вот такой дизайн" in sent.params["caption"]
        assert sent.files["photo"].content == b"\xff\xd8vk-photo"


def test_vk_settings_are_built_checked_and_their_secrets_redacted(tmp_path):
    settings = Settings(vk_group_token="vk1.a.tok", vk_group_id=GROUP_ID, vk_secret="s3cr3t")
    assert vk_channel(settings, None, None) is not None  # type: ignore[arg-type]
    assert {"vk1.a.tok", "s3cr3t"} <= set(secret_values(settings))
    assert load_settings(vk_group_id="").vk_group_id == 0  # `VK_GROUP_ID=` as in .env.example
    result = run_cli("check", tmp_path=tmp_path, VK_GROUP_TOKEN="t", VK_GROUP_ID="1")
    assert result.returncode == 2 and result.stderr.startswith("error: VK_SECRET is not set")
    polling = run_cli(
        "check", tmp_path=tmp_path, VK_GROUP_TOKEN="t", VK_GROUP_ID="1", VK_MODE="polling"
    )
    assert polling.returncode == 0, polling.stderr
