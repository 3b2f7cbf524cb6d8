"""Start-up checks: what `run` needs, checked before anything starts.

Each problem is one line that names the setting and the reason, so a new user (or a
supervisor's log) sees what to fix instead of a traceback or a silent hang.
"""

from __future__ import annotations

import importlib.util
import re
import tempfile
from pathlib import Path

from bot.config import BusinessConfig
from bot.settings import ROOT, Settings

DEMO_CONFIG = ROOT / "examples" / "salon.toml"
DRIVERS = {"sqlite": "aiosqlite", "postgres": "asyncpg", "postgresql": "asyncpg"}
DATABASE_EXAMPLES = "sqlite://data/priyom.sqlite3 or postgres://user:password@host:5432/db"
MISSING_CHANNEL = (
    "BOT_TOKEN is not set: create a bot with @BotFather and put BOT_TOKEN=<token> into .env "
    "(see .env.example), or set up WhatsApp, MAX or VK instead (docs/channels.md). "
    "Without a token you can still try the bot: python -m bot shell"
)
TOKEN_SETTINGS = ("bot_token", "staff_bot_token")
TOKEN_SHAPE = re.compile(r"\d+:\S+")  # aiogram's own rule (TokenValidationError otherwise)


def token_problem(name: str, token: str) -> str | None:
    """A Telegram token aiogram would refuse; the token itself is never repeated."""
    if token and not TOKEN_SHAPE.fullmatch(token):
        return (
            f"{name}: not a Telegram bot token (expected <digits>:<secret>, as @BotFather gives it)"
        )
    return None


def database_problem(url: str) -> str | None:
    """Scheme, driver and (for SQLite) a folder we can write: what init_db needs."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return f"DATABASE_URL: '{url}' has no scheme; write e.g. sqlite://{url}"
    if scheme not in DRIVERS:
        return f"DATABASE_URL: '{scheme}://' is not supported; use {DATABASE_EXAMPLES}"
    driver = DRIVERS[scheme]
    if importlib.util.find_spec(driver) is None:
        return f"DATABASE_URL: {scheme}:// needs the {driver} package: pip install {driver}"
    if scheme == "sqlite":
        return _sqlite_problem(rest.split("?")[0])
    return None


def _sqlite_problem(path: str) -> str | None:
    if not path:
        return "DATABASE_URL: no file after sqlite://, e.g. sqlite://data/priyom.sqlite3"
    if path == ":memory:":
        return None
    file = Path(path)
    if file.is_dir():
        return f"DATABASE_URL: {file} is a folder, not a database file"
    folder = file.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # init_db creates the missing folders inside this one
    if not folder.is_dir():
        return f"DATABASE_URL: {folder} is not a folder"
    try:  # a real write: access() says yes to root even where nothing can be created
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return f"DATABASE_URL: cannot write in the folder {folder} ({exc.strerror or exc})"
    try:
        if file.exists():
            with file.open("r+b"):
                pass
    except OSError as exc:
        return f"DATABASE_URL: cannot write to {file} ({exc.strerror or exc})"
    return None


def staff_alerted(settings: Settings) -> bool:
    """Someone hears of a pre-booking only through the staff bot, starting with an owner."""
    return bool(settings.staff_bot_token and settings.owner_ids)


def problems(settings: Settings, command: str = "run") -> list[str]:
    """Errors that stop a command before it starts: for `run` (and `check`) no channel, a
    malformed token, the database; the shell needs only the database, a worker no channel."""
    if command == "links":
        return []
    found = [database_problem(settings.database_url)]
    if command != "shell":
        found += [token_problem(n.upper(), getattr(settings, n)) for n in TOKEN_SETTINGS]
    channel = (
        settings.bot_token
        or settings.whatsapp_token
        or settings.max_bot_token
        or settings.vk_group_token
    )
    if command in ("run", "check") and not channel:
        found.insert(0, MISSING_CHANNEL)
    return [p for p in found if p]


def warnings(settings: Settings, config: BusinessConfig) -> list[str]:
    """Not fatal, but a business would not want it: the demo salon, pre-bookings nobody sees."""
    found = []
    if Path(settings.business_config).resolve() == DEMO_CONFIG.resolve():
        found.append(
            "BUSINESS_CONFIG is the demo salon (examples/salon.toml): clients would book its "
            "services, masters and hours; copy it, edit it and set BUSINESS_CONFIG to your file"
        )
    if config.booking.mode == "prebooking" and not staff_alerted(settings):
        found.append(
            'booking.mode is "prebooking" but no staff bot with an owner is set up '
            "(STAFF_BOT_TOKEN, OWNER_TELEGRAM_IDS): nobody would confirm, so bookings are "
            'confirmed instantly; set them up, or set booking.mode = "instant"'
        )
    if bool(settings.yookassa_shop_id) != bool(settings.yookassa_secret_key):
        found.append(
            "YOOKASSA_SHOP_ID and YOOKASSA_SECRET_KEY go together: with one alone no payment "
            "link is made, so deposits are taken on site (docs/payments.md)"
        )
    if settings.yookassa_shop_id and not (settings.payment_return_url or settings.public_base_url):
        found.append(
            "YooKassa is set up but neither PAYMENT_RETURN_URL nor PUBLIC_BASE_URL is: the "
            "payment page has nowhere to send the client back (docs/payments.md)"
        )
    return found


def effective_config(settings: Settings, config: BusinessConfig) -> BusinessConfig:
    """Pre-booking only when staff can be alerted: else the client waits for nobody."""
    if config.booking.mode != "prebooking" or staff_alerted(settings):
        return config
    booking = config.booking.model_copy(update={"mode": "instant"})
    return config.model_copy(update={"booking": booking})
