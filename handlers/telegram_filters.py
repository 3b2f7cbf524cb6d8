"""Message filters as coroutines, for both Telegram bots.

aiogram awaits a coroutine filter but sends any other callable — a magic filter such as
`F.chat.type == "private"` too — through `asyncio.to_thread`: a round trip to a worker
thread for every message and every such filter it is checked against.
"""

from __future__ import annotations

from aiogram.types import Message


async def private_chat(message: Message) -> bool:
    """`F.chat.type == "private"`: in a group the bots stay silent."""
    return message.chat.type == "private"


async def not_a_command(message: Message) -> bool:
    """`~F.text.startswith("/")`: anything but a command (media too)."""
    return not (message.text or "").startswith("/")


async def typed_text(message: Message) -> bool:
    """`F.text, ~F.text.startswith("/")`: a typed text that is not a command."""
    return bool(message.text) and not message.text.startswith("/")
