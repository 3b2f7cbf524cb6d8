"""A console chat with the same scenario and database, like `rasa shell`.

Buttons are shown numbered: type the number to press one; type text or /commands
as in Telegram; `contact +79271234567` shares a phone; Ctrl-D leaves.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from bot.dialogs import DialogService
from scenarios.types import Button, Input, InputKind, Reply

CHANNEL = "console"


def render(replies: Sequence[Reply]) -> tuple[str, list[Button]]:
    """The replies as terminal text, and the buttons in the order they are numbered."""
    lines: list[str] = []
    numbered: list[Button] = []
    for reply in replies:
        lines.append(f"bot> {reply.text}")
        for row in reply.buttons:
            cells = []
            for button in row:
                if button.url:
                    cells.append(f"{button.text}: {button.url}")
                    continue
                numbered.append(button)
                cells.append(f"[{len(numbered)}] {button.text}")
            lines.append("     " + "   ".join(cells))
        if reply.ask_contact:
            lines.append("     (share a phone: contact +79271234567)")
    return "\n".join(lines), numbered


def parse_line(line: str, buttons: Sequence[Button]) -> Input:
    text = line.strip()
    if text.isdigit() and 1 <= int(text) <= len(buttons):
        return Input.button(buttons[int(text) - 1].action)
    if text.startswith("/"):
        head, _, arg = text[1:].partition(" ")
        return Input.command(head.lower(), arg.strip())
    if text.lower().startswith("contact "):
        return Input(InputKind.CONTACT, phone=text[8:].strip())
    return Input(InputKind.TEXT, text)


async def run_shell(dialogs: DialogService, user: str = "local", start_arg: str = "") -> None:
    loop = asyncio.get_running_loop()
    print("Priyom console chat — type a number to press a button, Ctrl-D to quit.")
    replies = await dialogs.handle(CHANNEL, user, Input.command("start", start_arg))
    output, buttons = render(replies)
    print(output)
    while True:
        line = await loop.run_in_executor(None, _read_line)
        if line is None:
            print()
            return
        if not line.strip():
            continue
        replies = await dialogs.handle(CHANNEL, user, parse_line(line, buttons))
        output, new_buttons = render(replies)
        buttons = new_buttons or buttons
        print(output)


def _read_line() -> str | None:
    try:
        return input("you> ")
    except EOFError:
        return None
    except KeyboardInterrupt:
        sys.exit(0)
