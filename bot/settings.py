"""Process settings from the environment and `.env` (the business itself is in the config file)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str = ""
    staff_bot_token: str = ""
    telegram_api_url: str = ""
    database_url: str = f"sqlite://{ROOT / 'data' / 'priyom.sqlite3'}"
    business_config: Path = ROOT / "examples" / "salon.toml"
    owner_telegram_ids: str = ""
    redis_url: str = ""  # set: timed work runs in arq workers; empty: inside `python -m bot`
    outbox_rate_per_second: float = Field(default=25, gt=0, le=30)  # per bot; Telegram ~30
    outbox_chat_interval: float = Field(default=1.0, ge=0)  # seconds between two to one chat
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. http://127.0.0.1:8081)")
        return value.rstrip("/")

    @property
    def owner_ids(self) -> list[int]:
        try:
            return [int(x) for x in self.owner_telegram_ids.replace(" ", "").split(",") if x]
        except ValueError:
            raise SettingsError(
                "OWNER_TELEGRAM_IDS must be comma-separated numeric Telegram ids"
            ) from None


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise SettingsError(f"{name}: {err['msg'].removeprefix('Value error, ')}") from None
