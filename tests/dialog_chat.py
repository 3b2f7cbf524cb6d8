"""A client's chat with the dialogue runner (against a real database), and the way to
each step of the booking: shared by the scenario tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.dialogs import DialogService
from bot.models import Client, Conversation, Lead, LeadEvent
from scenarios.state import DialogState, Step
from scenarios.types import Input, InputKind, Reply
from tests.conftest import SAMARA

CHANNEL = "telegram"
TUESDAY = dt.date(2026, 11, 24)
TUE_10 = dt.datetime(2026, 11, 24, 10, 0, tzinfo=SAMARA).astimezone(dt.UTC)
# the first manicure slot of tomorrow: Anna at 10:00 Samara time (06:00 UTC)
ANNA_TUE_10 = f"slot:anna:{int(TUE_10.timestamp()) // 60}"
OLGA_TUE_10 = f"slot:olga:{int(TUE_10.timestamp()) // 60}"


# --- a client in a chat, and what the bot answered -------------------------------------------


@dataclass
class Chat:
    """One client's chat: sends inputs as the Telegram adapter does (with the first name)."""

    dialogs: DialogService
    chat_id: int
    first_name: str = "Ольга"

    async def send(self, inp: Input) -> list[Reply]:
        return await self.dialogs.handle(CHANNEL, self.chat_id, inp)

    async def say(self, text: str) -> list[Reply]:
        return await self.send(Input(InputKind.TEXT, text, name=self.first_name))

    async def press(self, action: str) -> list[Reply]:
        return await self.send(Input(InputKind.BUTTON, action, name=self.first_name))

    async def command(self, name: str, arg: str = "") -> list[Reply]:
        return await self.send(Input(InputKind.COMMAND, name, arg, name=self.first_name))

    async def share_contact(self, phone: str) -> list[Reply]:
        return await self.send(Input(InputKind.CONTACT, phone=phone, name=self.first_name))

    async def sticker(self) -> list[Reply]:
        return await self.send(Input(InputKind.MEDIA, "sticker", name=self.first_name))

    async def state(self) -> DialogState:
        state = await self.dialogs.conversation_state(CHANNEL, self.chat_id)
        assert state is not None
        return state

    async def conversation(self) -> Conversation:
        return await Conversation.get(channel=CHANNEL, chat_id=str(self.chat_id))

    async def lead(self) -> Lead:
        conv = await self.conversation()
        assert conv.lead_id is not None
        return await Lead.get(id=conv.lead_id)

    async def client(self) -> Client:
        conv = await self.conversation()
        assert conv.client_id is not None
        return await Client.get(id=conv.client_id)


def text(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


def actions(replies: list[Reply]) -> list[str]:
    return [b.action for r in replies for row in r.buttons for b in row if b.action]


def labels(replies: list[Reply]) -> list[str]:
    return [b.text for r in replies for row in r.buttons for b in row]


def slot_labels(replies: list[Reply]) -> list[str]:
    return [
        b.text for r in replies for row in r.buttons for b in row if b.action.startswith("slot:")
    ]


async def status_events(lead: Lead) -> list[tuple[str | None, str]]:
    rows = (
        await LeadEvent.filter(lead=lead, kind="status")
        .order_by("id")
        .values_list("from_status", "to_status")
    )
    return [(a and str(a), str(b)) for a, b in rows]


# --- the happy path, and how to reach each step ----------------------------------------------

QUESTION = {
    Step.CONSENT: "152-ФЗ",
    Step.SERVICE: "Какая услуга",
    Step.ADDON: "Добавить к услуге «Маникюр»",
    Step.TIME: "Когда вам удобно",
    Step.PICK_DAY: "Выберите день",
    Step.SLOT: "Свободные окна",
    Step.CONTACT: "номер телефона",
    Step.NAME: "Как к вам обращаться",
    Step.SUMMARY: "Проверьте",
}

PATH = [  # (step reached, the input that answers it)
    (Step.CONSENT, ("press", "consent:yes")),
    (Step.SERVICE, ("press", "svc:manicure")),
    (Step.ADDON, ("press", "addon:none")),
    (Step.TIME, ("press", "when:tomorrow")),
    (Step.SLOT, ("press", ANNA_TUE_10)),
    (Step.CONTACT, ("share_contact", "+79271234567")),
    (Step.NAME, ("press", "name:me")),
    (Step.SUMMARY, ("press", "confirm")),
]


async def reach(chat: Chat, step: str) -> list[Reply]:
    """Start a chat and answer every question before `step`; the replies asking it."""
    if step == Step.PICK_DAY:
        await reach(chat, Step.TIME)
        return await chat.press("when:pick")
    replies = await chat.command("start")
    for at, (how, value) in PATH:
        if at == step:
            break
        replies = await getattr(chat, how)(value)
    assert (await chat.state()).step == step
    return replies


async def book(chat: Chat) -> list[Reply]:
    """Book Anna's manicure tomorrow at 10:00 in a fresh chat; the replies to «Подтвердить»."""
    await reach(chat, Step.SUMMARY)
    return await chat.press("confirm")
