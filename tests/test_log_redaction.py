"""No secret and no phone number in a log line: the filter on its own (tracebacks, extras,
other libraries' loggers), and the real `python -m bot` whose Bot API answers garbage —
aiogram then quotes the request URL, bot token included, in its error."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import sys
from collections.abc import AsyncIterator

import pytest

from bot import privacy
from bot.logs import LogfmtFormatter, Redactor
from bot.privacy import log_id, secret_values
from bot.settings import Settings
from tests.conftest import ROOT

TOKEN = "314159:AAHclientSecretHalf-xyz"
STAFF_TOKEN = "271828:AAHstaffSecretHalf-abc"
SECRETS = {
    "bot_token": TOKEN,
    "staff_bot_token": STAFF_TOKEN,
    "whatsapp_token": "EAAGwhatsappAccessToken",
    "whatsapp_app_secret": "whatsapp-app-secret",
    "whatsapp_verify_token": "verify-me-please",
    "max_bot_token": "max-bot-token-123",
    "max_webhook_secret": "max-webhook-secret",
    "openai_api_key": "sk-openai-key-456",
}


def _settings(**more: str) -> Settings:
    return Settings(_env_file=None, **(SECRETS | more))  # type: ignore[arg-type]


def test_the_pseudonym_key_outlives_a_token_rotation():
    """Erased rows are found again by their pseudonym (late receipts): a rotated
    WhatsApp token must not change it when PSEUDONYM_KEY is set."""

    def pseudonym(**settings: str) -> str:
        privacy.set_key_from(privacy.key_material(_settings(**settings)))
        return privacy.erased_id("whatsapp", "79271234567")

    kept = pseudonym(whatsapp_token="EAAG-old-token", pseudonym_key="k" * 32)
    assert pseudonym(whatsapp_token="EAAG-new-token", pseudonym_key="k" * 32) == kept
    assert pseudonym(whatsapp_token="EAAG-new-token") != pseudonym(whatsapp_token="EAAG-old")
    assert "79271234567" not in kept


def test_every_secret_setting_is_found_by_its_name_or_type():
    named = [n for n in Settings.model_fields if any(w in n for w in ("token", "secret", "key"))]
    assert set(SECRETS) <= set(named)
    values = {name: f"value-of-{name}" for name in named}
    settings = Settings(  # type: ignore[arg-type]
        _env_file=None,
        **values,
        database_url="postgres://priyom:db-password-789@db:5432/priyom",
        openai_extra_headers="Authorization: Bearer proxy-credential; X-No-Log: true",
    )
    found = set(secret_values(settings))
    assert set(values.values()) <= found
    assert {"db-password-789", "Bearer proxy-credential"} <= found
    assert "true" not in found and "" not in found
    assert "AAHclientSecretHalf-xyz" in secret_values(_settings())  # a bot token's own half


def _capture(redactor: Redactor, logger: str) -> tuple[logging.Logger, io.StringIO, io.StringIO]:
    """A logger with two handlers (ours and a plain one), as a library's would be."""
    ours, plain = io.StringIO(), io.StringIO()
    log = logging.getLogger(logger)
    log.handlers[:], log.propagate = [], False
    for stream, formatter in ((ours, LogfmtFormatter()), (plain, logging.Formatter())):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    return log, ours, plain


def test_the_filter_redacts_secrets_in_messages_extras_and_tracebacks():
    redactor = Redactor(secret_values(_settings()))
    log, ours, plain = _capture(redactor, "aiogram.dispatcher.test")
    url = f"http://api.example/bot{TOKEN}/getUpdates?key=sk-openai-key-456"
    try:
        raise RuntimeError(f"Cannot fetch {url}")
    except RuntimeError as exc:
        log.exception("Failed to fetch updates - %s: %s", type(exc).__name__, exc)
    log.warning("webhook", extra={"error": ValueError("whatsapp-app-secret"), "lead": 7})
    for out in (ours.getvalue(), plain.getvalue()):
        assert "Traceback" in out and "RuntimeError" in out and "bot***/getUpdates" in out
        for secret in (*SECRETS.values(), "AAHclientSecretHalf-xyz"):
            assert secret not in out
    assert "error=***" in ours.getvalue() and "lead=7" in ours.getvalue()


def test_phones_and_chat_ids_are_hashed_and_ordinary_numbers_kept():
    log, ours, _ = _capture(Redactor(), "priyom.test")
    log.info(
        "client +7 (927) 123-45-67 wrote at 2026-11-30 10:00, lead 12345",
        extra={"chat": "79271234567", "max_user": "8 927 123 45 67", "amount_kop": 150000},
    )
    line = ours.getvalue()
    assert "927" not in line and "4567" not in line
    assert f"chat={log_id('79271234567')}" in line  # the same hash as the number in the text
    assert line.count(log_id("79271234567")) == 2
    assert "2026-11-30 10:00" in line and "lead 12345" in line and "amount_kop=150000" in line
    log.warning("whatsapp_failed", extra={"chat": log_id("79271234567")})  # hashed once
    assert ours.getvalue().count(log_id("79271234567")) == 3
    log.warning("max 500: POST https://platform-api2.max.ru/messages?user_id=4815162")
    assert "4815162" not in ours.getvalue() and f"user_id={log_id('4815162')}" in ours.getvalue()


# --- the real process ------------------------------------------------------------------------


@pytest.fixture
async def garbage_api() -> AsyncIterator[str]:
    """A "Bot API" that answers every request with something that is not HTTP (a broken
    proxy): aiohttp's error then quotes the URL, and aiogram passes that on."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def _run_until(env: dict[str, str], cwd, marker: bytes) -> bytes:
    """Run `python -m bot` until `marker` shows in its output, then stop it; all output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    seen = b""
    try:
        async with asyncio.timeout(90):
            while marker not in seen:
                line = await proc.stdout.readline()
                if not line:
                    break
                seen += line
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            rest, _ = await asyncio.wait_for(proc.communicate(), timeout=20)
        except TimeoutError:
            proc.kill()
            rest, _ = await proc.communicate()
    return seen + rest


@pytest.mark.parametrize(
    "where, reason", [("garbage", b"Bad status line"), ("closed", b"Cannot connect to host")]
)
async def test_the_running_bot_never_prints_its_tokens(tmp_path, garbage_api, where, reason):
    url = garbage_api if where == "garbage" else "http://127.0.0.1:9"  # discard: closed
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "STAFF_BOT_TOKEN": STAFF_TOKEN,
        "TELEGRAM_API_URL": url,
        "DATABASE_URL": f"sqlite://{tmp_path / 'run.sqlite3'}",
        "OWNER_TELEGRAM_IDS": "9001",
        "REDIS_URL": "",
    }
    # aiogram's error text («HTTP Client says - …», with the request URL for a bad answer)
    # is logged at start while Telegram cannot be reached: the filter must scrub the token
    output = await _run_until(env, tmp_path, b"attempt=2")
    assert b"HTTP Client says" in output and reason in output, output.decode()[-3000:]
    for secret in (TOKEN, STAFF_TOKEN, TOKEN.partition(":")[2], STAFF_TOKEN.partition(":")[2]):
        assert secret.encode() not in output
