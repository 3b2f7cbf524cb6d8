"""Structured logs: one line per event, `key=value` pairs (logfmt), lead ids included.

No secret and no phone number reaches a log line. A filter on the handler rewrites
each record before any formatter sees it — ours, aiogram's, aiohttp's, and the
tracebacks of exceptions (aiogram's network errors quote the request URL, which
carries the bot token): configured secrets become `***`; phone-like numbers, and the
values of id keys such as `chat`, become a keyed hash (`h:1a2b3c4d`), so one client's
lines can still be followed without the number being readable (152-FZ).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Iterable
from typing import IO

from pydantic import BaseModel

from bot import privacy

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
REDACTED = "***"
# Extra keys whose value is a chat, user or message id: hashed whatever it looks like
# (a MAX or Telegram id is not phone-like, a WhatsApp wamid encodes the phone).
HASHED_KEYS = frozenset(
    {"chat", "chat_id", "user", "user_id", "wa_id", "phone", "recipient", "message_id", "mid"}
)
# 10–15 digits, maybe with a leading + and spaces, dashes or brackets between them; not
# part of a longer word, a decimal, a date-time («2026-11-30 10:00») or a version.
PHONE = re.compile(r"(?<![\w.\-])(?:\+\s?)?\d(?:[ ()\-]{0,2}\d){9,14}(?![\w:])")
# An id in a URL's query or a `key=value` text (MAX's POST /messages?user_id=…).
ID_PARAM = re.compile(r"\b(user_id|chat_id|wa_id|recipient_id)=([\w.:-]+)")
# A master's calendar feed URL carries its token (handlers/calendar_feed.py): never logged.
FEED_TOKEN = re.compile(r"(/calendar/)[A-Za-z0-9_-]+(\.ics)")
# A Bitrix24 inbound webhook URL is /rest/<user id>/<secret>/<method>: the secret never logged.
REST_SECRET = re.compile(r"(/rest/\d+/)[A-Za-z0-9_-]+")
_HASHED = re.compile(r"h:[0-9a-f]{8}")  # privacy.log_id's output, already safe
_DONE = "_redacted"  # set on a record once rewritten, so a second handler leaves it be


class Redactor(logging.Filter):
    """Rewrites a record in place: secrets out, phones and chat ids hashed."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        values = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, values))) if values else None

    def scrub(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(REDACTED, text)
        text = FEED_TOKEN.sub(rf"\1{REDACTED}\2", text)
        text = REST_SECRET.sub(rf"\1{REDACTED}", text)
        text = ID_PARAM.sub(lambda m: f"{m.group(1)}={privacy.log_id(m.group(2))}", text)
        return PHONE.sub(lambda m: privacy.log_id(re.sub(r"\D", "", m.group())), text)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _DONE, False):
            return True
        record.msg, record.args = self.scrub(_message(record)), None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD:
                record.__dict__[key] = self._extra(key, value)
        if record.exc_info:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_info = None  # only the scrubbed text is left for any handler
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        setattr(record, _DONE, True)
        return True

    def _extra(self, key: str, value: object) -> object:
        if value is None or isinstance(value, bool):
            return value
        text = str(value)
        if key in HASHED_KEYS and text and not _HASHED.fullmatch(text):
            return privacy.log_id(text)
        scrubbed = self.scrub(text)
        return value if scrubbed == text else scrubbed


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # arguments that do not fit the format
        return f"{record.msg} {record.args!r}"


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        pairs = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        pairs.update(
            {k: v for k, v in record.__dict__.items() if k not in _STANDARD and k != _DONE}
        )
        line = " ".join(f"{k}={_quote(v)}" for k, v in pairs.items())
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if exc:
            line += " exc=" + _quote(exc)
        return line


def _quote(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def setup_logging(
    level: str = "INFO", settings: BaseModel | None = None, stream: IO[str] | None = None
) -> Redactor:
    """Log lines to stderr, scrubbed of the settings' secrets; uncaught exceptions too."""
    secrets = privacy.secret_values(settings) if settings is not None else []
    privacy.set_key_from(privacy.key_material(settings) if settings is not None else [])
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiogram.event", "tortoise", "aiosqlite", "aerich"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_uncaught
    return redactor


def _log_uncaught(kind, value, tb) -> None:
    """An exception nobody caught goes through the scrubbing handler, not raw to stderr."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger("priyom").critical("uncaught", exc_info=(kind, value, tb))


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    if not issubclass(args.exc_type, SystemExit):
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)
