"""A console chat with the same scenario and database, like `rasa shell`.

Buttons are shown numbered: type the number to press one; type text or /commands
as in Telegram; `contact +79271234567` shares a phone; Ctrl-D leaves.

The terminal is the dialogue: every text comes from the business locale's catalog and
log lines go to a file (warnings and errors still reach stderr). Test bookings go to the
console's own SQLite file, never the live bot's database.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.delivery.channel import Files, Routes
from bot.delivery.outbox import Undeliverable
from bot.dialogs import DialogService
from bot.i18n import Texts
from bot.logs import LogfmtFormatter
from bot.resources import data_dir
from handlers.inbound import queued_reply, typed_command
from scenarios.types import Button, Input, InputKind, Reply

if TYPE_CHECKING:  # adapters read rows; the ORM is the core's (bot/delivery/channel_store.py)
    from bot.models import Outbox

CHANNEL = "console"
DATABASE_FILE = "console.sqlite3"
LOG_FILE = "console.log"


def console_database(live_url: str) -> str:
    """The console's own SQLite file: beside the live SQLite file, or in data/."""
    if live_url.startswith("sqlite://") and ":memory:" not in live_url:
        live = Path(live_url.removeprefix("sqlite://").split("?")[0])
        if live.name != DATABASE_FILE:
            return f"sqlite://{live.with_name(DATABASE_FILE)}"
    return f"sqlite://{data_dir() / DATABASE_FILE}"


def log_to_file(database_url: str, level: str) -> Path:
    """Send the process's log lines to console.log beside the database; WARNING+ to stderr."""
    if database_url.startswith("sqlite://") and ":memory:" not in database_url:
        path = Path(database_url.removeprefix("sqlite://").split("?")[0]).with_name(LOG_FILE)
    else:
        path = data_dir() / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(LogfmtFormatter())
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setFormatter(LogfmtFormatter())
    to_stderr.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.handlers[:] = [to_file, to_stderr]
    root.setLevel(level)
    return path


def render(replies: Sequence[Reply], texts: Texts) -> tuple[str, list[Button]]:
    """The replies as terminal text, and the buttons in the order they are numbered."""
    lines: list[str] = []
    numbered: list[Button] = []
    for reply in replies:
        lines.append(f"{texts('console.bot')}> {reply.text}")
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
            lines.append("     " + texts("console.contact_hint"))
    return "\n".join(lines), numbered


def parse_line(line: str, buttons: Sequence[Button]) -> Input:
    text = line.strip()
    if text.isdigit() and 1 <= int(text) <= len(buttons):
        return Input.button(buttons[int(text) - 1].action)
    if command := typed_command(text):
        return command
    if text.lower().startswith("contact "):
        return Input(InputKind.CONTACT, phone=text[8:].strip())
    return Input(InputKind.TEXT, text)


async def run_shell(
    dialogs: DialogService, texts: Texts, user: str = "local", start_arg: str = ""
) -> None:
    loop = asyncio.get_running_loop()
    print(texts("console.intro"))
    replies = await dialogs.handle(CHANNEL, user, Input.command("start", start_arg))
    output, buttons = render(replies, texts)
    print(output)
    while True:
        line = await loop.run_in_executor(None, _read_line, f"{texts('console.you')}> ")
        if line is None:
            print()
            return
        if not line.strip():
            continue
        replies = await dialogs.handle(CHANNEL, user, parse_line(line, buttons))
        output, new_buttons = render(replies, texts)
        buttons = new_buttons or buttons
        print(output)


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None
    except KeyboardInterrupt:
        sys.exit(0)


class ConsoleChannel:
    """The terminal as a channel (bot/delivery/channel.py): receiving is the read loop
    above, sending prints the row as the shell shows a reply."""

    name = CHANNEL
    media: frozenset[str] = frozenset()

    def __init__(self, dialogs: DialogService, user: str = "local", start_arg: str = "") -> None:
        self.dialogs, self.texts = dialogs, dialogs.texts
        self.user, self.start_arg = user, start_arg

    def mount(self, routes: Routes) -> None:
        """The terminal needs no web route."""

    async def receive(self) -> None:
        await run_shell(self.dialogs, self.texts, self.user, self.start_arg)

    async def send(self, row: Outbox, files: Files | None = None) -> int | None:
        print(render([queued_reply(row.payload)], self.texts)[0])
        return None

    async def download(self, file_id: str) -> bytes:
        raise Undeliverable("the console keeps no files")

    async def close(self) -> None:
        """Nothing to close."""
