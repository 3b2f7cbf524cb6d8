"""The Channel port: a new channel is one module plus one registry line, and every relay to a
client goes through the outbox, Telegram included."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import aiohttp
from aiohttp import web

from bot.booking.reminders import queue_due_reminders
from bot.clock import FakeClock
from bot.delivery.channel import Channel, Files, Routes
from bot.delivery.outbox import Message, Undeliverable, deliver_due, enqueue
from bot.dialogs import DialogService
from bot.models import Appointment, Client, Lead, Outbox
from bot.settings import load_settings
from handlers.console import ConsoleChannel
from handlers.registry import REGISTRY, ChannelDeps, build_channels
from handlers.telegram import make_bot
from scenarios.types import Input, InputKind
from tests import staff_fixtures
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.fakes.local_server import serving_channel
from tests.flows import book_in_telegram, has
from tests.staff_fixtures import CLIENT, MASHA, STAFF

bots = staff_fixtures.bots  # the fixture


# --- an imaginary channel: the whole of it, as its module in handlers/ would be -----------------


class Pigeon:
    """Notes come in on POST /pigeon; replies fly to a loft, one list per chat."""

    name = "pigeon"
    media: frozenset[str] = frozenset()

    def __init__(self, dialogs: DialogService | None) -> None:
        self.dialogs = dialogs
        self.loft: dict[str, list[dict]] = defaultdict(list)

    def mount(self, routes: Routes) -> None:
        routes.add_post("/pigeon", self.on_note)

    async def on_note(self, request: web.Request) -> web.Response:
        note = await request.json()
        if "press" in note:
            inp = Input(InputKind.BUTTON, note["press"])
        elif "phone" in note:
            inp = Input(InputKind.CONTACT, phone=note["phone"], name=note.get("name", ""))
        elif note["text"].startswith("/"):
            head, _, arg = note["text"][1:].partition(" ")
            inp = Input.command(head, arg)
        else:
            inp = Input(InputKind.TEXT, note["text"])
        assert self.dialogs is not None
        await self.dialogs.handle(self.name, note["from"], inp, receipt=note["id"], sender=self)
        return web.Response(text="ok")

    async def receive(self) -> None:
        """Notes arrive on the webhook."""

    async def send(self, row: Outbox, files: Files | None = None) -> int | None:
        self.loft[row.chat_id].append(row.payload)
        return None

    async def download(self, file_id: str) -> bytes:
        raise Undeliverable("pigeons carry no files")

    async def close(self) -> None:
        pass


REGISTRY_WITH_PIGEON = {**REGISTRY, "pigeon": lambda settings, deps: Pigeon(deps.dialogs)}


class Coop:
    """A client writing to the pigeon webhook over HTTP, pressing buttons by their label."""

    def __init__(self, pigeon: Pigeon, url: str, http: aiohttp.ClientSession) -> None:
        self.pigeon, self.url, self.http, self.sent = pigeon, url, http, 0

    async def note(self, **note: str) -> list[dict]:
        self.sent += 1
        before = len(self.pigeon.loft["dove"])
        body = {"from": "dove", "id": f"n{self.sent}", **note}
        async with self.http.post(self.url + "/pigeon", json=body) as resp:
            assert resp.status == 200
        return self.pigeon.loft["dove"][before:]

    async def press(self, replies: list[dict], label: str) -> list[dict]:
        for reply in reversed(replies):
            for button in (b for row in reply.get("buttons") or [] for b in row):
                if button[0].startswith(label):
                    return await self.note(press=button[1])
        raise AssertionError(f"no button {label!r}")


async def test_a_new_channel_is_one_module_and_one_registry_line(db, config, clock: FakeClock):
    dialogs = DialogService(config, clock)
    settings = load_settings(bot_token="", staff_bot_token="")
    channels = build_channels(
        settings, ChannelDeps(dialogs.texts, clock, dialogs), REGISTRY_WITH_PIGEON
    )
    pigeon = channels["pigeon"]
    assert isinstance(pigeon, Channel) and list(channels) == ["pigeon"]
    async with (
        serving_channel(channels) as url,
        aiohttp.ClientSession() as http,
    ):
        coop = Coop(pigeon, url, http)
        replies = await coop.note(text="/start src-instagram_cmp-spring")
        replies = await coop.press(replies, "✅ Согласен")
        replies = await coop.press(replies, "Маникюр")
        replies = await coop.press(replies, "Нет, спасибо")
        replies = await coop.press(replies, "Завтра")
        replies = await coop.press(replies, "вт 24.11 10:00")
        replies = await coop.note(phone="+79271112233", name="Голубка")
        replies = await coop.press(replies, "Голубка")
        done = await coop.press(replies, "✅ Подтвердить")
    assert "Заявка принята" in done[0]["text"]
    client = await Client.get(channel="pigeon", channel_user_id="dove")
    appointment = await Appointment.get(client_id=client.id)
    lead = await Lead.get(id=appointment.lead_id)
    assert (lead.channel, lead.source, client.phone) == ("pigeon", "instagram", "+79271112233")
    # every reply went through the outbox, sent right after its step's commit
    replies_sent = await Outbox.filter(channel="pigeon", status="sent").count()
    assert replies_sent == sum(len(v) for v in pigeon.loft.values())

    # the timed delivery routes a reminder by the row's channel: registry["pigeon"].send
    clock.set(appointment.start - dt.timedelta(hours=2))
    await queue_due_reminders(config, dialogs.texts, clock.now())
    before = len(pigeon.loft["dove"])
    await deliver_due(channels, clock)
    reminders = pigeon.loft["dove"][before:]
    assert reminders and any(b for r in reminders for b in r.get("buttons") or [])


# --- relays: through the outbox on every channel ---------------------------------------------


async def test_a_relay_to_a_telegram_client_goes_through_the_outbox(bots: FakeBotApi):
    api, olga = bots, FakeUser(501, "Ольга")
    await book_in_telegram(api, CLIENT, olga)
    await api.wait_for_message(STAFF, MASHA.id, has("Заявка #1"))
    api.press_button(STAFF, MASHA, text="✋ Взять")
    await api.wait_for_message(CLIENT, olga.id, has("подключился"))

    api.send_text(STAFF, MASHA, "Здравствуйте! Удобно ли в 10:00?")
    got = await api.wait_for_message(CLIENT, olga.id, has("Удобно ли в 10:00"))
    row = await Outbox.get(kind="relay")
    assert (row.bot, row.channel, row.chat_id) == ("client", "telegram", str(olga.id))
    assert (row.status, row.message_id) == ("sent", got["message_id"])

    api.send_photo(STAFF, MASHA, caption="пример работы")
    await api.wait_for_call(CLIENT, "sendPhoto", lambda c: c.chat_id == olga.id)
    photo = await Outbox.filter(kind="relay").order_by("-id").first()
    assert photo.payload["photo"].startswith("staff/photo:") and photo.status == "sent"


async def test_the_console_is_a_channel_too(db, config, clock: FakeClock, capsys):
    """Its outbox rows print as the shell shows a reply, buttons numbered."""
    console = ConsoleChannel(DialogService(config, clock))
    assert isinstance(console, Channel)
    settings = load_settings(bot_token="", staff_bot_token="")
    registry = {**REGISTRY, "console": lambda settings, deps: console}
    channels = build_channels(settings, ChannelDeps(console.texts, clock), registry)
    await enqueue(
        bot="client",
        channel="console",
        chat_id="local",
        kind="relay",
        message=Message("Добрый день!", [[("Да", "yes"), ("Нет", "no")]]),
        dedup_key="k",
        now=clock.now(),
    )
    assert await deliver_due(channels, clock) == 1
    assert "Добрый день!" in capsys.readouterr().out.replace("\n", " ")


async def test_the_registry_builds_each_configured_channel_as_the_port(config, clock: FakeClock):
    """Settings alone decide which channels exist; each one built implements the port."""
    settings = load_settings(
        bot_token="1:client",
        staff_bot_token="2:staff",
        whatsapp_token="wa",
        whatsapp_phone_number_id="1",
        whatsapp_app_secret="s",
        whatsapp_verify_token="v",
        max_bot_token="mx",
        max_mode="polling",
    )
    texts = DialogService(config, clock).texts
    bots = {"client": make_bot("1:client"), "staff": make_bot("2:staff")}
    channels = build_channels(settings, ChannelDeps(texts, clock, bots=bots))
    try:
        assert list(channels) == ["telegram", "staff", "whatsapp", "max"]
        assert all(isinstance(c, Channel) and c.name == name for name, c in channels.items())
        assert list(build_channels(load_settings(bot_token=""), ChannelDeps(texts, clock))) == []
    finally:
        await channels.close()
