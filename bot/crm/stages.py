"""The product's lead statuses ↔ a CRM's stages, from configuration (CRM_STAGE_MAP)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.crm.port import CrmConfigError
from bot.models import LeadStatus

BITRIX24_DEFAULT = {  # the stages every new Bitrix24 portal has (crm.status.list, STATUS)
    LeadStatus.NEW: "NEW",
    LeadStatus.QUALIFIED: "IN_PROCESS",
    LeadStatus.CONFIRMED: "PROCESSED",
    LeadStatus.CAME: "CONVERTED",
    LeadStatus.NO_SHOW: "JUNK",
    LeadStatus.LOST: "JUNK",
}


def default_stages(crm: str) -> dict[LeadStatus, str]:
    """Bitrix24's stages are the same on every portal; an amoCRM pipeline's ids are its own
    (only won 142 and lost 143 are fixed), so every status must be mapped there."""
    if crm == "bitrix24":
        return dict(BITRIX24_DEFAULT)
    return {LeadStatus.CAME: "142", LeadStatus.NO_SHOW: "143", LeadStatus.LOST: "143"}


def parse_stage_map(text: str, default: Mapping[LeadStatus, str]) -> dict[LeadStatus, str]:
    """«new=NEW,lost=JUNK»: overrides on top of the defaults; an unknown status is named."""
    stages = dict(default)
    for part in filter(None, (p.strip() for p in text.split(","))):
        status, sep, stage = part.partition("=")
        if not sep or not stage.strip():
            raise CrmConfigError(f"CRM_STAGE_MAP: '{part}' is not «status=STAGE_ID»")
        try:
            stages[LeadStatus(status.strip())] = stage.strip()
        except ValueError:
            known = ", ".join(s.value for s in LeadStatus)
            raise CrmConfigError(
                f"CRM_STAGE_MAP: no status '{status.strip()}' (statuses: {known})"
            ) from None
    missing = [s.value for s in LeadStatus if s not in stages]
    if missing:
        raise CrmConfigError(f"CRM_STAGE_MAP: no stage for {', '.join(missing)}")
    return stages


def check_stages(stages: Mapping[LeadStatus, str], existing: Iterable[str]) -> None:
    """Every mapped stage must exist in the CRM; the first missing one is named."""
    have = set(existing)
    for status, stage in stages.items():
        if stage not in have:
            raise CrmConfigError(
                f"CRM_STAGE_MAP: stage '{stage}' (for {status.value}) is not in the CRM; "
                f"it has: {', '.join(sorted(have))}"
            )


def status_of(stages: Mapping[LeadStatus, str], stage: str) -> list[LeadStatus]:
    """The statuses a stage may mean (JUNK: no-show or lost), in the funnel's order."""
    return [status for status, mapped in stages.items() if mapped == stage]
