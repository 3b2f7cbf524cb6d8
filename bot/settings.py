"""Process settings from the environment and `.env` (the business itself is in the config file)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.resources import EXAMPLES, data_dir

ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: str = ""
    staff_bot_token: str = ""
    telegram_api_url: str = ""
    database_url: str = f"sqlite://{data_dir() / 'priyom.sqlite3'}"
    business_config: Path = EXAMPLES / "salon.toml"
    owner_telegram_ids: str = ""
    redis_url: str = ""  # set: timed work runs in arq workers; empty: inside `python -m bot`
    outbox_rate_per_second: float = Field(default=25, gt=0, le=30)  # per bot; Telegram ~30
    outbox_chat_interval: float = Field(default=1.0, ge=0)  # seconds between two to one chat
    # How long a worker's claim on a row lasts: a worker killed mid-send leaves the row to
    # another after this; keep it above the Bot API request timeout (a late answer → a copy).
    outbox_claim_seconds: float = Field(default=90, gt=0)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    # Secret: keys the hashes of erased chat ids and of ids in logs (bot/privacy.py); empty:
    # derived from the other secrets, so it changes when a token is rotated.
    pseudonym_key: str = ""

    # --- WhatsApp Cloud API (docs/channels.md): on when WHATSAPP_TOKEN is set ---
    whatsapp_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_app_secret: str = ""  # signs every webhook POST (X-Hub-Signature-256)
    whatsapp_verify_token: str = ""  # the handshake's hub.verify_token
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_reminder_template: str = ""  # approved template for reminders outside 24 h
    whatsapp_template_lang: str = "ru"
    # --- MAX (docs/channels.md): on when MAX_BOT_TOKEN is set ---
    max_bot_token: str = ""
    max_webhook_secret: str = ""  # sent back by MAX in X-Max-Bot-Api-Secret
    max_api_url: str = "https://platform-api2.max.ru"
    max_mode: str = Field(default="webhook", pattern=r"^(webhook|polling)$")
    max_ca_bundle: str = ""  # a PEM file MAX requests trust too (the Russian root CA)
    # --- VK community messages (docs/channels.md): on when VK_GROUP_TOKEN is set ---
    vk_group_token: str = ""
    vk_group_id: int = Field(default=0, ge=0)
    vk_secret: str = ""  # the Callback API's secret key, in every event's `secret`
    vk_confirmation: str = ""  # the string the Callback API's confirmation must get back
    vk_mode: str = Field(default="webhook", pattern=r"^(webhook|polling)$")
    vk_api_url: str = "https://api.vk.com/method"

    # --- intakes: website forms and missed calls (docs/channels.md) ---
    forms_tilda_api_key: str = ""  # set: /forms/tilda is on; Tilda sends it in a header or field
    forms_enabled: bool = False  # true: the generic /forms/lead and /forms/embed.js are on
    forms_allowed_origins: str = ""  # comma-separated site origins for CORS (https://salon.ru)
    forms_rate_per_ip: int = Field(default=5, ge=1)  # posts per IP per FORMS_RATE_WINDOW
    forms_rate_window: int = Field(default=600, ge=1)  # seconds
    forms_max_body_bytes: int = Field(default=16384, ge=1024, le=1048576)
    forms_client_ip_header: str = ""  # behind a proxy: X-Forwarded-For (its last entry counts)
    forms_policy_version: str = ""  # the privacy policy a form's consent refers to
    zadarma_secret: str = ""  # set: /calls/zadarma is on (API secret; signs notifications)
    mango_api_key: str = ""  # set with MANGO_API_SALT: /calls/mango/events/summary is on
    mango_api_salt: str = ""
    uis_token: str = ""  # set: /calls/uis?token=… is on (UIS/CoMagic lost-call notifications)
    call_sources: str = ""  # "74951234567=yandex,74957654321=avito": source per virtual number

    # --- CRM sync (docs/crm.md): off while CRM is empty ---
    crm: str = Field(default="", pattern=r"^(|bitrix24|amocrm)$")
    # https://<portal>.bitrix24.ru/rest/<user>/<secret>/ (an inbound webhook; its path is a secret)
    bitrix24_webhook_url: str = ""
    bitrix24_application_token: str = ""  # outbound events carry it in auth[application_token]
    # amoCRM (Kommo): an integration's OAuth (docs/crm.md); the first code is spent at start
    amocrm_base_url: str = ""  # https://<subdomain>.amocrm.ru
    amocrm_client_id: str = ""
    amocrm_client_secret: str = ""
    amocrm_redirect_uri: str = ""
    amocrm_auth_code: str = ""  # the authorisation code (20 min): exchanged once for tokens
    amocrm_pipeline_id: int = Field(default=0, ge=0)
    amocrm_webhook_secret: str = ""  # the last part of <PUBLIC_BASE_URL>/crm/amocrm/events/<it>
    crm_stage_map: str = ""  # "new=NEW,qualified=IN_PROCESS,…": the product's statuses → stages
    crm_rate_per_second: float = Field(default=2.0, gt=0, le=50)  # Bitrix24: 2 req/s
    crm_burst: int = Field(default=50, ge=1, le=500)  # Bitrix24: a bucket of 50
    crm_forget: str = Field(default="delete", pattern=r"^(anonymise|delete)$")
    crm_alert_minutes: int = Field(default=30, ge=1)  # failing this long: owners hear, once
    # --- deposits (docs/payments.md) ---
    payment_provider_token: str = ""  # BotFather's provider token: Telegram clients pay invoices
    yookassa_shop_id: str = ""  # set with YOOKASSA_SECRET_KEY: other channels pay by a link
    yookassa_secret_key: str = ""
    yookassa_api_url: str = "https://api.yookassa.ru/v3"
    # comma-separated; empty: YooKassa's published notification ranges (handlers/yookassa_webhook)
    yookassa_allowed_ips: str = ""
    yookassa_ip_header: str = ""  # behind our own proxy only: the header naming the sender
    payment_return_url: str = ""  # where YooKassa's page sends the client back (the bot's link)

    # --- the webhook server (WhatsApp, MAX webhook mode) ---
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)

    # --- Telegram webhooks and operations (docs/deploy.md) ---
    telegram_mode: str = Field(default="polling", pattern=r"^(polling|webhook)$")
    public_base_url: str = ""  # https://bot.example.com: Telegram posts to <it>/telegram/<bot>
    # Telegram echoes it in X-Telegram-Bot-Api-Secret-Token: 1–256 of A-Z a-z 0-9 _ -
    telegram_webhook_secret: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,256}$")
    staff_webhook_secret: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,256}$")
    run_migrations: bool = True  # false on instances; `python -m bot migrate` runs them once
    sentry_dsn: str = ""  # errors to Sentry (pip install 'priyom[sentry]'); empty: off

    # --- AI assistant (docs/ai.md): empty key = rules only ---
    openai_api_key: str = ""
    openai_base_url: str = ""  # any OpenAI-compatible endpoint; empty: api.openai.com
    openai_model: str = "gpt-4o-mini"
    openai_timeout: float = Field(default=2.5, gt=0, le=30)  # seconds per model call
    openai_extra_headers: str = ""  # JSON object or "K: V; K2: V2" (e.g. a no-logging header)
    ai_knowledge_file: Path | None = None  # free-text FAQ (markdown), e.g. examples/salon_faq.md

    @field_validator("vk_group_id", "amocrm_pipeline_id", mode="before")
    @classmethod
    def _unset_id(cls, value: object) -> object:
        return 0 if value == "" else value  # `VK_GROUP_ID=` as .env.example has it: unset

    @field_validator("openai_extra_headers")
    @classmethod
    def _headers(cls, value: str) -> str:
        parse_headers(value)  # raises with the reason
        return value

    @field_validator("openai_base_url")
    @classmethod
    def _openai_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. http://127.0.0.1:8000/v1)")
        return value.rstrip("/")

    @property
    def openai_headers(self) -> dict[str, str]:
        return parse_headers(self.openai_extra_headers)

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (e.g. http://127.0.0.1:8081)")
        return value.rstrip("/")

    @property
    def form_origins(self) -> frozenset[str]:
        origins = (o.strip().rstrip("/") for o in self.forms_allowed_origins.split(","))
        return frozenset(o for o in origins if o)

    @property
    def call_source_map(self) -> dict[str, str]:
        """Virtual number (digits only) → lead source: call tracking per ad campaign."""
        pairs = (p.partition("=") for p in self.call_sources.split(",") if p.strip())
        return {"".join(c for c in k if c.isdigit()): v.strip() for k, _, v in pairs}

    @property
    def owner_ids(self) -> list[int]:
        try:
            return [int(x) for x in self.owner_telegram_ids.replace(" ", "").split(",") if x]
        except ValueError:
            raise SettingsError(
                "OWNER_TELEGRAM_IDS must be comma-separated numeric Telegram ids"
            ) from None


def parse_headers(raw: str) -> dict[str, str]:
    """Extra HTTP headers for the model provider: a JSON object or «K: V; K2: V2»."""
    raw = raw.strip()
    if not raw:
        return {}
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON ({exc.msg} at {exc.pos})") from None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError('the JSON must map header names to strings, e.g. {"X-A": "1"}')
        return data
    headers = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        name, sep, value = part.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9-]+", name.strip()):
            raise ValueError(f"'{part}' is not «Header-Name: value»")
        headers[name.strip()] = value.strip()
    return headers


WHATSAPP_REQUIRED = ("whatsapp_phone_number_id", "whatsapp_app_secret", "whatsapp_verify_token")


def check_channels(settings: Settings) -> None:
    """A channel is on when its token is set, and then all it needs must be set too."""
    if settings.whatsapp_token:
        for name in WHATSAPP_REQUIRED:
            if not getattr(settings, name):
                raise SettingsError(
                    f"{name.upper()} is not set: WhatsApp is on (WHATSAPP_TOKEN is set) "
                    "and needs it; see docs/channels.md"
                )
    if (
        settings.max_bot_token
        and settings.max_mode == "webhook"
        and not settings.max_webhook_secret
    ):
        raise SettingsError(
            "MAX_WEBHOOK_SECRET is not set: MAX is on in webhook mode (MAX_BOT_TOKEN is set) and "
            "needs the subscription's secret; or set MAX_MODE=polling for development"
        )
    check_vk(settings)
    check_crm(settings)
    if settings.max_ca_bundle and not Path(settings.max_ca_bundle).is_file():
        raise SettingsError(
            f"MAX_CA_BUNDLE: no such file {settings.max_ca_bundle!r} (a PEM file with the "
            "Russian Ministry of Digital Development's root CA; docs/channels.md «MAX»)"
        )
    if bool(settings.mango_api_key) != bool(settings.mango_api_salt):
        raise SettingsError(
            "MANGO_API_KEY and MANGO_API_SALT go together: Mango Office signs every "
            "notification with both (docs/channels.md «Missed calls»)"
        )
    check_telegram_webhook(settings)


def check_vk(settings: Settings) -> None:
    """VK needs its community id always (long polling asks for it), and in webhook mode the
    secret that proves an event is VK's and the confirmation string."""
    if not settings.vk_group_token:
        return
    needed = ["vk_group_id"]
    if settings.vk_mode == "webhook":
        needed += ["vk_secret", "vk_confirmation"]
    for name in needed:
        if not getattr(settings, name):
            raise SettingsError(
                f"{name.upper()} is not set: VK is on (VK_GROUP_TOKEN is set) and needs it; "
                "see docs/channels.md «VK»"
            )


def check_crm(settings: Settings) -> None:
    """Bitrix24 sync needs the inbound webhook URL (docs/crm.md)."""
    if settings.crm == "bitrix24" and not settings.bitrix24_webhook_url.startswith("http"):
        raise SettingsError(
            "BITRIX24_WEBHOOK_URL is not set: CRM=bitrix24 needs the portal's inbound webhook "
            "(https://<portal>.bitrix24.ru/rest/<user>/<secret>/); see docs/crm.md"
        )
    if settings.crm == "amocrm":
        for name in ("amocrm_base_url", "amocrm_client_id", "amocrm_client_secret",
                     "amocrm_pipeline_id", "crm_stage_map"):  # fmt: skip
            if not getattr(settings, name):
                raise SettingsError(
                    f"{name.upper()} is not set: CRM=amocrm needs it; see docs/crm.md"
                )
    if settings.crm:
        from bot.crm.stages import default_stages, parse_stage_map

        parse_stage_map(settings.crm_stage_map, default_stages(settings.crm))  # one line


def check_telegram_webhook(settings: Settings) -> None:
    """Webhook mode needs the public URL and a secret per bot: without one, anyone who
    guesses the path could post updates as Telegram."""
    if settings.telegram_mode != "webhook":
        return
    if not settings.public_base_url.startswith(("https://", "http://")):
        raise SettingsError(
            "PUBLIC_BASE_URL is not set: TELEGRAM_MODE=webhook needs the public HTTPS address "
            "Telegram posts to (e.g. https://bot.example.com); see docs/deploy.md"
        )
    for token, secret in (
        ("bot_token", "telegram_webhook_secret"),
        ("staff_bot_token", "staff_webhook_secret"),
    ):
        if getattr(settings, token) and not getattr(settings, secret):
            raise SettingsError(
                f"{secret.upper()} is not set: TELEGRAM_MODE=webhook needs one per bot "
                "(1–256 characters of A-Z a-z 0-9 _ -)"
            )


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "settings"
        raise SettingsError(f"{name}: {err['msg'].removeprefix('Value error, ')}") from None
