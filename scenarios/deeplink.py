"""Ad links: the /start payload carries the source and campaign.

Scheme: `src-<source>` optionally followed by `_cmp-<campaign>`, e.g.
`https://t.me/<bot>?start=src-instagram_cmp-spring`. Telegram allows 64 characters of
A–Z, a–z, 0–9, `_` and `-`, so source ids are at most 20 and campaigns at most 24 chars.
"""

from __future__ import annotations

import re

MAX_PAYLOAD = 64
_ALLOWED = re.compile(r"^[A-Za-z0-9_-]{0,64}$")


def parse_start_payload(payload: str) -> tuple[str | None, str | None]:
    """(source, campaign) from a /start payload; unknown or malformed parts are ignored."""
    if not payload or not _ALLOWED.match(payload):
        return None, None
    source = campaign = None
    for part in payload.split("_"):
        key, _, value = part.partition("-")
        if key == "src" and value:
            source = value.lower()
        elif key == "cmp" and value:
            campaign = value.lower()
    return source, campaign


def start_payload(source: str, campaign: str | None = None) -> str:
    payload = f"src-{source}" + (f"_cmp-{campaign}" if campaign else "")
    if len(payload) > MAX_PAYLOAD or not _ALLOWED.match(payload):
        raise ValueError(f"'{payload}' does not fit Telegram's start parameter")
    return payload


def telegram_link(bot_username: str, source: str, campaign: str | None = None) -> str:
    return f"https://t.me/{bot_username}?start={start_payload(source, campaign)}"
