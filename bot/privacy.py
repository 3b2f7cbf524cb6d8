"""Keyed pseudonyms and the list of secrets: what the logs and the erasure share.

A chat id may be a phone number (WhatsApp), so neither a log line nor an erased row
may keep it in clear. Both replace it with an HMAC under one key: the same chat maps
to the same pseudonym (log lines stay followable, erased rows still join), and without
the key nobody can test a phone number against it. The key is PSEUDONYM_KEY, or
derived from the process's configured secrets, so every process of one deployment
agrees on it; with no secret configured (the terminal shell, tests) it is random per
process.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, SecretStr

SECRET_NAME = re.compile(r"token|secret|key|password|salt|auth_code", re.IGNORECASE)
SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie", re.IGNORECASE)
MIN_SECRET = 6  # shorter values would blank out ordinary words in every line

_key = os.urandom(32)


def set_key_from(secrets: Iterable[str]) -> None:
    """Key the pseudonyms by the deployment's secrets (random when there are none)."""
    global _key
    values = sorted(set(secrets))
    material = "\0".join(values).encode()
    _key = hashlib.sha256(b"priyom-pseudonym\0" + material).digest() if values else os.urandom(32)


def key_material(settings: BaseModel) -> list[str]:
    """PSEUDONYM_KEY when set (stable across token rotations), else every secret."""
    own = getattr(settings, "pseudonym_key", "")
    return [own] if own else secret_values(settings)


ERASED = "erased:"


def _digest(value: str) -> str:
    return hmac.new(_key, value.encode(), hashlib.sha256).hexdigest()


def log_id(value: object) -> str:
    """A short stable stand-in for an id or phone in a log line: `h:1a2b3c4d`."""
    return "h:" + _digest(str(value))[:8]


def erased_id(channel: str, value: str) -> str:
    """What replaces a chat or message id of an erased client in the database."""
    return ERASED + _digest(f"{channel}\0{value}")[:24]


def is_erased(value: str) -> bool:
    """Whether an id is an erased client's stand-in (`erased_id`)."""
    return value.startswith(ERASED)


def secret_values(settings: BaseModel) -> list[str]:
    """Every configured secret: SecretStr fields and fields named like one (tokens,
    secrets, keys), passwords inside URLs, secret-looking extra headers; for a bot
    token (`id:secret`) its secret half and URL-quoted forms too."""
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, str) and SECRET_NAME.search(name):
            found.append(value)
        elif isinstance(value, str) and "://" in value:
            found.append(_url_password(value))
    headers = getattr(settings, "openai_headers", {})
    found += [v for k, v in headers.items() if SECRET_HEADER.search(k)]
    more = [v.partition(":")[2] for v in found if ":" in v and "://" not in v]
    found += more + [quote(v, safe="") for v in found]
    return sorted({v for v in found if len(v) >= MIN_SECRET}, key=len, reverse=True)


def _url_password(url: str) -> str:
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""
