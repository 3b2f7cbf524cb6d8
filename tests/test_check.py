"""`python -m bot check` checks what `run` needs and warns loudly; with no staff to alert,
pre-booking is off (the client is not told «Администратор подтвердит» for nobody)."""

from __future__ import annotations

import os
import signal

import pytest

from bot.config import BusinessConfig
from bot.models import Appointment, AppointmentStatus
from bot.settings import Settings
from bot.startup import effective_config
from tests.conftest import ROOT
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.fakes.graph_api import text_of
from tests.flows import has
from tests.test_cli import run_cli
from tests.test_startup import TOKEN, _bot, finish
from tests.test_whatsapp import OLGA, book
from tests.whatsapp_helpers import whatsapp_rig

STAFF = {"STAFF_BOT_TOKEN": "271828:staff", "OWNER_TELEGRAM_IDS": "9001"}
DEMO = "BUSINESS_CONFIG is the demo salon (examples/salon.toml)"
NOBODY = 'booking.mode is "prebooking" but no staff bot with an owner is set up'


def _own_config(tmp_path) -> str:
    path = tmp_path / "my-salon.toml"
    path.write_text((ROOT / "examples" / "salon.toml").read_text("utf-8"), "utf-8")
    return str(path)


def test_check_needs_a_channel(tmp_path):
    result = run_cli("check", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "error: BOT_TOKEN is not set" in result.stderr
    assert "ok:" not in result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"BOT_TOKEN": "12345"}, "error: BOT_TOKEN: not a Telegram bot token"),
        ({"STAFF_BOT_TOKEN": "nope"}, "error: STAFF_BOT_TOKEN: not a Telegram bot token"),
        ({"DATABASE_URL": "data/x.sqlite3"}, "error: DATABASE_URL: 'data/x.sqlite3' has no scheme"),
        ({"DATABASE_URL": "mysql://u:p@h/db"}, "error: DATABASE_URL: 'mysql://' is not supported"),
        ({"DATABASE_URL": "sqlite:///proc/sys/p.sqlite3"}, "error: DATABASE_URL: cannot write"),
    ],
)
def test_check_refuses_what_run_would_fail_on(tmp_path, env, expected):
    result = run_cli("check", tmp_path=tmp_path, **({"BOT_TOKEN": TOKEN} | env))
    assert result.returncode == 2
    assert expected in result.stderr
    assert "ok:" not in result.stdout


def test_check_names_a_missing_database_driver(tmp_path):
    # The dev install has asyncpg: the child process hides it (a None in sys.modules makes
    # importlib's find_spec answer None, as for a package that is not installed).
    hide = tmp_path / "no_asyncpg"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['asyncpg'] = None\n")
    url = "postgres://priyom:secret@127.0.0.1:5432/priyom"
    path = f"{hide}{os.pathsep}{ROOT}"
    result = run_cli("check", tmp_path=tmp_path, BOT_TOKEN=TOKEN, DATABASE_URL=url, PYTHONPATH=path)
    assert result.returncode == 2
    assert "error: DATABASE_URL: postgres:// needs the asyncpg package" in result.stderr
    assert "secret" not in result.stderr


def test_check_warns_loudly_about_the_demo_salon_and_prebookings_nobody_sees(tmp_path):
    result = run_cli("check", tmp_path=tmp_path, BOT_TOKEN=TOKEN)
    assert result.returncode == 0, result.stderr
    assert f"WARNING: {DEMO}" in result.stderr
    assert f"WARNING: {NOBODY}" in result.stderr
    assert "booking mode instant" in result.stdout


def test_check_with_an_own_config_and_staff_is_quiet(tmp_path):
    own = _own_config(tmp_path)
    result = run_cli("check", tmp_path=tmp_path, BOT_TOKEN=TOKEN, BUSINESS_CONFIG=own, **STAFF)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "booking mode prebooking" in result.stdout


async def test_the_start_up_log_warns_and_books_instantly_without_staff(tmp_path):
    async with FakeBotApi() as api:
        proc = await _bot(tmp_path, TELEGRAM_API_URL=api.base_url)
        try:
            olga = FakeUser(501, "Ольга")
            api.send_command(TOKEN, olga, "/start")
            await api.wait_for_message(TOKEN, olga.id, has("152-ФЗ"), timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await finish(proc, 20)
    log = stderr.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "event=check_warning" in log and NOBODY.replace('"', '\\"') in log
    assert "booking_mode=instant" in log


def _settings(**values: str) -> Settings:
    return Settings(_env_file=None, bot_token=TOKEN, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("staff", "status", "said"),
    [
        ({}, AppointmentStatus.CONFIRMED, "Готово, вы записаны"),
        ({"staff_bot_token": "2:s"}, AppointmentStatus.CONFIRMED, "Готово, вы записаны"),
        (
            {"staff_bot_token": "2:s", "owner_telegram_ids": "9001"},
            AppointmentStatus.PENDING,
            "Администратор подтвердит",
        ),
    ],
)
async def test_without_staff_to_alert_the_booking_is_confirmed_at_once(
    db, config: BusinessConfig, clock, staff, status, said
):
    from bot.dialogs import DialogService

    dialogs = DialogService(effective_config(_settings(**staff), config), clock)
    async with whatsapp_rig(dialogs) as wa:
        replies = await book(wa, OLGA)
    assert said in text_of(replies[0])
    assert (await Appointment.get()).status == status
