"""Which CRM the settings switch on, built once for the bot process and the arq worker."""

from __future__ import annotations

import logging

from bot.clock import Clock, SystemClock
from bot.crm import queue
from bot.crm.models import CrmToken
from bot.crm.port import CrmPort, CrmUnavailable
from bot.crm.stages import default_stages, parse_stage_map
from bot.crm.tokens import TokenRefused, store_grant
from bot.settings import Settings, SettingsError
from handlers.amocrm import AmoCrm
from handlers.amocrm_api import AmoApi
from handlers.bitrix24 import Bitrix24Crm
from handlers.bitrix24_api import Bitrix24Api

log = logging.getLogger("priyom.crm")


def build_crm(settings: Settings, clock: Clock | None = None) -> CrmPort | None:
    """The CRM port (None: CRM is off), and the sync queue switched on for it."""
    queue.activate(settings.crm or None)
    if not settings.crm:
        return None
    stages = parse_stage_map(settings.crm_stage_map, default_stages(settings.crm))
    if settings.crm == "amocrm":
        api = AmoApi(
            settings.amocrm_base_url,
            settings.amocrm_client_id,
            settings.amocrm_client_secret,
            settings.amocrm_redirect_uri,
            clock or SystemClock(),
        )
        return AmoCrm(api, stages, settings.amocrm_pipeline_id)
    bitrix = Bitrix24Api(
        settings.bitrix24_webhook_url, settings.crm_rate_per_second, settings.crm_burst
    )
    return Bitrix24Crm(bitrix, stages, settings.crm_forget)


async def authorise(crm: CrmPort, settings: Settings, clock: Clock) -> None:
    """amoCRM: spend AMOCRM_AUTH_CODE for the first token pair when none is stored yet."""
    if not isinstance(crm, AmoCrm) or await CrmToken.exists(crm="amocrm"):
        return
    if not settings.amocrm_auth_code:
        raise SettingsError("AMOCRM_AUTH_CODE is not set: no amoCRM tokens are stored yet")
    code = {"grant_type": "authorization_code", "code": settings.amocrm_auth_code}
    await store_grant("amocrm", await crm.api.grant(code), clock.now())


async def start_crm(settings: Settings, clock: Clock | None = None) -> CrmPort | None:
    """The port, its configuration checked against the CRM (a missing stage stops the start
    with one line); an unreachable CRM only delays the check (the sync retries anyway)."""
    clock = clock or SystemClock()
    crm = build_crm(settings, clock)
    if crm is None:
        return None
    try:
        await authorise(crm, settings, clock)
        await crm.check()
    except CrmUnavailable as exc:
        log.warning("crm_check_skipped", extra={"reason": str(exc)})
    except TokenRefused as exc:
        await crm.close()
        raise SettingsError(f"{exc} (AMOCRM_AUTH_CODE: a fresh code; docs/crm.md)") from None
    except BaseException:
        await crm.close()
        raise
    return crm
