"""Which CRM the settings switch on, built once for the bot process and the arq worker."""

from __future__ import annotations

import logging

from bot.crm import queue
from bot.crm.port import CrmPort, CrmUnavailable
from bot.crm.stages import BITRIX24_DEFAULT, parse_stage_map
from bot.settings import Settings
from handlers.bitrix24 import Bitrix24Crm
from handlers.bitrix24_api import Bitrix24Api

log = logging.getLogger("priyom.crm")


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


async def start_crm(settings: Settings) -> CrmPort | None:
    """The port, its configuration checked against the CRM (a missing stage stops the start
    with one line); an unreachable CRM only delays the check (the sync retries anyway)."""
    crm = build_crm(settings)
    if crm is None:
        return None
    try:
        await crm.check()
    except CrmUnavailable as exc:
        log.warning("crm_check_skipped", extra={"reason": str(exc)})
    except BaseException:
        await crm.close()
        raise
    return crm
