"""Building the AI layer for tests: the real SDK pointed at the fake server, short timeouts."""

from __future__ import annotations

from bot.ai.client import AiClient
from bot.ai.knowledge import Knowledge
from bot.ai.understand import Assistant
from bot.clock import Clock
from bot.config import BusinessConfig
from bot.dialogs import DialogService
from bot.i18n import Texts
from scenarios.types import Input, InputKind, Reply
from tests.conftest import ROOT
from tests.fakes.openai_api import FakeOpenAI

# seconds: room for a cold SDK client on a loaded 2-core machine; slow answers wait longer
TIMEOUT = 1.5
FAQ = (ROOT / "examples" / "salon_faq.md").read_text(encoding="utf-8")


def ai_client(
    fake: FakeOpenAI, config: BusinessConfig, clock: Clock, headers: dict[str, str] | None = None
) -> AiClient:
    return AiClient(
        "test-key", "fake-model", clock, config.tz, fake.base_url, TIMEOUT, headers=headers
    )


def make_assistant(config: BusinessConfig, client: AiClient | None) -> Assistant:
    return Assistant(config, Knowledge(config, Texts("ru"), FAQ), client)


def ai_dialogs(config: BusinessConfig, clock: Clock, client: AiClient | None) -> DialogService:
    return DialogService(config, clock, understander=make_assistant(config, client))


class AiChat:
    def __init__(self, dialogs: DialogService, chat_id: int = 1) -> None:
        self.dialogs, self.chat_id = dialogs, chat_id

    async def send(self, inp: Input) -> list[Reply]:
        return await self.dialogs.handle("telegram", self.chat_id, inp)

    async def say(self, text: str) -> list[Reply]:
        return await self.send(Input(InputKind.TEXT, text, name="Оля"))

    async def consented(self) -> AiChat:
        await self.send(Input.command("start"))
        await self.send(Input.button("consent:yes"))
        return self


def texts_of(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)
