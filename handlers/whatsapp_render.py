"""Scenario replies as WhatsApp Cloud API message bodies, within the platform's limits.

Up to 3 options with titles of at most 20 characters → reply buttons; up to 10 → a list
message (row titles cut to 24 characters, the whole title in the 72-character description);
anything else → numbered text, and the adapter maps a typed number back to its option.
Pure: no network, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.i18n import Texts
from scenarios.types import Button, Reply

MAX_REPLY_BUTTONS, MAX_BUTTON_TITLE = 3, 20
MAX_LIST_ROWS, MAX_ROW_TITLE, MAX_ROW_DESCRIPTION = 10, 24, 72
MAX_INTERACTIVE_BODY, MAX_TEXT_BODY = 1024, 4096
MAX_ID = 200  # list row ids; reply button ids allow 256


@dataclass(frozen=True)
class Rendered:
    body: dict  # the message fields after "to" and "messaging_product"
    actions: tuple[str, ...]  # the options offered, in the order a typed number picks them


def render(reply: Reply, t: Texts) -> Rendered:
    options = [b for row in reply.buttons for b in row if not b.url]
    text = _text_with_links(reply, t)
    actions = tuple(b.action for b in options)
    if not options:
        return Rendered(_text(text), ())
    if len(text) <= MAX_INTERACTIVE_BODY and all(len(b.action) <= MAX_ID for b in options):
        if len(options) <= MAX_REPLY_BUTTONS and all(
            len(b.text) <= MAX_BUTTON_TITLE for b in options
        ):
            return Rendered(_buttons(text, options), actions)
        if len(options) <= MAX_LIST_ROWS:
            return Rendered(_list(text, options, t), actions)
    return Rendered(_text(_numbered(text, options, t)), actions)


def template(name: str, language: str, params: Sequence[str], actions: Sequence[str]) -> dict:
    """An approved template: body variables {{1}}… and one quick-reply payload per button."""
    components: list[dict] = []
    if params:
        components.append(
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}
        )
    components += [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(index),
            "parameters": [{"type": "payload", "payload": action}],
        }
        for index, action in enumerate(actions)
    ]
    return {
        "type": "template",
        "template": {"name": name, "language": {"code": language}, "components": components},
    }


def _text_with_links(reply: Reply, t: Texts) -> str:
    lines = [reply.text]
    lines += [f"{b.text}: {b.url}" for row in reply.buttons for b in row if b.url]
    if reply.ask_contact:
        lines.append(t("wa.type_phone"))
    return "\n".join(lines)


def _text(body: str) -> dict:
    return {"type": "text", "text": {"body": body[:MAX_TEXT_BODY], "preview_url": "http" in body}}


def _buttons(body: str, options: Sequence[Button]) -> dict:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": b.action, "title": b.text}} for b in options
                ]
            },
        },
    }


def _list(body: str, options: Sequence[Button], t: Texts) -> dict:
    rows = []
    for b in options:
        row = {"id": b.action, "title": b.text[:MAX_ROW_TITLE]}
        if len(b.text) > MAX_ROW_TITLE:
            row["description"] = b.text[:MAX_ROW_DESCRIPTION]
        rows.append(row)
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": t("wa.choose")[:MAX_BUTTON_TITLE],
                "sections": [{"title": t("wa.options")[:MAX_ROW_TITLE], "rows": rows}],
            },
        },
    }


def _numbered(body: str, options: Sequence[Button], t: Texts) -> str:
    lines = [body, ""]
    lines += [f"{n}. {b.text}" for n, b in enumerate(options, start=1)]
    lines.append(t("wa.type_number"))
    return "\n".join(lines)
