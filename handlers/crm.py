"""Which CRM the settings switch on, built once for the bot process and the arq worker."""

from __future__ import annotations

from bot.crm import queue
from bot.crm.port import CrmPort
from bot.crm.stages import BITRIX24_DEFAULT, parse_stage_map
from bot.settings import Settings
from handlers.bitrix24 import Bitrix24Crm
from handlers.bitrix24_api import Bitrix24Api


def build_crm(settings: Settings) -> CrmPort | None:
    """The CRM port (None: CRM is off), and the sync queue switched on for it."""
    queue.activate(settings.crm or None)
    if settings.crm != "bitrix24":
        return None
    api = Bitrix24Api(
        settings.bitrix24_webhook_url, settings.crm_rate_per_second, settings.crm_burst
    )
    stages = parse_stage_map(settings.crm_stage_map, BITRIX24_DEFAULT)
    return Bitrix24Crm(api, stages, settings.crm_forget)
