"""Personal reminder texts: the model writes one greeting sentence, the database the rest.

The model gets the service and the master and writes «[имя]» where the name goes (it never
sees the client's name); the greeting must be short, one line, without digits or links, so
dates, times, prices and the address can only come from the fixed template below it.
At most `BATCH` greetings per scan, all at once within one timeout; the rest, and any
failure, get the fixed template.
"""

from __future__ import annotations

import asyncio
import re

from bot.ai.client import AiClient, Tool

BATCH = 20
PLACEHOLDER = "[имя]"
_BAD = re.compile(r"\d|https?:|www\.|[{}\[\]<>@#]")
TOOL = Tool(
    "greeting",
    "One warm greeting sentence for a visit reminder.",
    {
        "type": "object",
        "properties": {"text": {"type": "string", "maxLength": 140}},
        "required": ["text"],
    },
)
PROMPT = (
    "Напиши одно короткое тёплое приветствие (до 120 знаков) для напоминания о визите в "
    "салон: услуга «{service}», мастер {master}. Вместо имени клиента напиши [имя]. "
    "Без дат, времени, цифр, цен, адреса и ссылок — их добавят отдельно."
)


def valid_greeting(text: object, name: str) -> str | None:
    """The greeting with the name put in, or None when it breaks a rule."""
    if not isinstance(text, str):
        return None
    text = " ".join(text.split())
    if not 5 <= len(text) <= 140 or text.count(PLACEHOLDER) > 1:
        return None
    if _BAD.search(text.replace(PLACEHOLDER, "")):
        return None
    if PLACEHOLDER in text and not name:
        return None
    return text.replace(PLACEHOLDER, name)


class Greeter:
    def __init__(self, client: AiClient) -> None:
        self.client = client

    async def one(self, name: str, service: str, master: str) -> str | None:
        messages = [{"role": "user", "content": PROMPT.format(service=service, master=master)}]
        args = await self.client.call("reminder", messages, TOOL, max_tokens=80)
        return valid_greeting(args.get("text") if args else None, name)

    async def many(self, items: list[tuple[int, str, str, str]]) -> dict[int, str]:
        """{appointment id: greeting} for (id, name, service, master), BATCH at most."""
        batch = items[:BATCH]
        results = await asyncio.gather(*(self.one(n, s, m) for _, n, s, m in batch))
        return {item[0]: text for item, text in zip(batch, results, strict=True) if text}
