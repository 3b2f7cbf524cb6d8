"""Bitrix24 behind the CRM port: leads (entityTypeId 1) and contacts (3) through `crm.item.*`
(`crm.lead.*` is deprecated), outcomes on the timeline, everything in batches of 50.

A push is two batches: lookups (the contact by phone with `crm.duplicate.findbycomm`; on a
retry, the lead by our `originId` — an earlier attempt may have created it before its
answer was lost), then writes (the contact if none was found, the lead pointing at it
through `$result[…]` in the same batch). Status updates, comments and erasures go in the
second batch too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.crm.models import TaskKind
from bot.crm.port import CrmUnavailable, Job, LeadCard, Outcome, RemoteLead
from bot.crm.stages import check_stages, status_of
from bot.models import LeadStatus
from handlers.bitrix24_api import BATCH_LIMIT, TRANSIENT_ERRORS, Bitrix24Api

LEAD, CONTACT = 1, 3  # entityTypeId
ORIGINATOR = "priyom"  # originatorId: our leads and contacts, found again by originId
ERASED_NAME = "—"
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
Command = tuple[str, Mapping[str, Any]]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def lead_fields(card: LeadCard, stages: Mapping[LeadStatus, str]) -> dict[str, Any]:
    """The lead as crm.item.add takes it; no name or phone (those live on the contact)."""
    fields: dict[str, Any] = {
        "title": f"Priyom #{card.lead_id}",
        "stageId": stages[card.status],
        "sourceDescription": " / ".join(filter(None, (card.source, card.campaign))),
        "originatorId": ORIGINATOR,
        "originId": str(card.lead_id),
        "comments": card.summary or "",
    }
    fields |= {_camel(key): card.utm[key] for key in UTM if card.utm.get(key)}
    return fields


def contact_fields(card: LeadCard) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": card.name or ERASED_NAME,
        "originatorId": ORIGINATOR,
        "originId": str(card.client_id),
    }
    if card.phone:
        fields["fm"] = [{"typeId": "PHONE", "valueType": "WORK", "value": card.phone}]
    return fields


class Bitrix24Crm:
    name = "bitrix24"

    def __init__(
        self,
        api: Bitrix24Api,
        stages: Mapping[LeadStatus, str],
        forget: str = "delete",
        batch_size: int = BATCH_LIMIT,  # the bench's baseline sends one command a request
    ) -> None:
        self.api, self.stages, self.forget = api, dict(stages), forget
        self.batch_size = batch_size

    async def check(self) -> None:
        listed = await self.api.call("crm.status.list", {"filter": {"ENTITY_ID": "STATUS"}})
        check_stages(self.stages, (row["STATUS_ID"] for row in listed or []))

    async def deliver(self, jobs: Sequence[Job]) -> list[Outcome]:
        found = await self._lookups(jobs)
        groups = [(job, self._writes(job, found)) for job in jobs]
        results: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        for index, chunk in enumerate(chunks := _chunks(groups, self.batch_size)):
            try:
                got, failed = await self.api.batch(chunk)
            except CrmUnavailable as exc:
                if index == 0:
                    raise  # nothing was sent: the whole pass backs off
                later = (name for rest in chunks[index:] for name in rest)
                errors |= {
                    name: {"error": "INTERNAL_SERVER_ERROR", "error_description": str(exc)}
                    for name in later
                }
                break
            results |= got
            errors |= failed
        return [self._outcome(job, commands, found, results, errors) for job, commands in groups]

    async def read_leads(self, remote_ids: Sequence[str]) -> list[RemoteLead]:
        leads = []
        for start in range(0, len(remote_ids), BATCH_LIMIT):
            chunk = remote_ids[start : start + BATCH_LIMIT]
            commands = {
                f"g{rid}": ("crm.item.get", {"entityTypeId": LEAD, "id": rid}) for rid in chunk
            }
            results, _ = await self.api.batch(commands)
            for rid in chunk:
                item = (results.get(f"g{rid}") or {}).get("item")
                if item:
                    stage = str(item.get("stageId", ""))
                    leads.append(RemoteLead(rid, stage, tuple(status_of(self.stages, stage))))
        return leads

    async def close(self) -> None:
        await self.api.close()

    async def _lookups(self, jobs: Sequence[Job]) -> dict[str, str]:
        """Remote ids found before writing: `contact:<task>` by phone, `lead:<task>` by origin."""
        commands: dict[str, Command] = {}
        for job in jobs:
            if job.kind is not TaskKind.PUSH or job.card is None:
                continue
            if job.remote_contact is None and job.card.phone:
                query = {"entity_type": "CONTACT", "type": "PHONE", "values": [job.card.phone]}
                commands[f"contact:{job.task_id}"] = ("crm.duplicate.findbycomm", query)
            if job.remote_lead is None and job.retry:
                origin = {"originatorId": ORIGINATOR, "originId": str(job.card.lead_id)}
                query = {"entityTypeId": LEAD, "filter": origin, "select": ["id", "contactIds"]}
                commands[f"lead:{job.task_id}"] = ("crm.item.list", query)
        found: dict[str, str] = {}
        names = list(commands)
        for start in range(0, len(names), self.batch_size):
            chunk = {name: commands[name] for name in names[start : start + self.batch_size]}
            results, _ = await self.api.batch(chunk)
            for name, result in results.items():
                remote = _first_id(name, result)
                if remote:
                    found[name] = remote
                contact = _lead_contact(name, result)
                if contact:  # the lead an earlier attempt made: its contact is ours too
                    found["contact:" + name.removeprefix("lead:")] = contact
        return found

    def _writes(self, job: Job, found: Mapping[str, str]) -> dict[str, Command]:
        tid = job.task_id
        match job.kind:
            case TaskKind.PUSH:
                return self._push(job, found) if job.card is not None else {}
            case TaskKind.STATUS if job.remote_lead and job.status:
                fields = {"stageId": self.stages[job.status]}
                return {f"s{tid}": ("crm.item.update", _item(LEAD, job.remote_lead, fields))}
            case TaskKind.COMMENT if job.remote_lead and job.text:
                comment = {"ENTITY_ID": job.remote_lead, "ENTITY_TYPE": "lead", "COMMENT": job.text}
                return {f"m{tid}": ("crm.timeline.comment.add", {"fields": comment})}
            case TaskKind.FORGET if job.remote_lead:
                blank = {"comments": ""}  # the dialogue summary pushed with the lead
                return {f"e{tid}": ("crm.item.update", _item(LEAD, job.remote_lead, blank))}
            case TaskKind.FORGET if job.remote_contact:
                if self.forget == "delete":
                    return {
                        f"d{tid}": (
                            "crm.item.delete",
                            {"entityTypeId": CONTACT, "id": job.remote_contact},
                        )
                    }
                blank = {"name": ERASED_NAME, "lastName": "", "secondName": "", "fm": ""}
                return {f"e{tid}": ("crm.item.update", _item(CONTACT, job.remote_contact, blank))}
        return {}

    def _push(self, job: Job, found: Mapping[str, str]) -> dict[str, Command]:
        card, tid = job.card, job.task_id
        assert card is not None
        if job.remote_lead or found.get(f"lead:{tid}"):
            return {}  # it is there already (an earlier attempt's answer was lost)
        commands: dict[str, Command] = {}
        contact = job.remote_contact or found.get(f"contact:{tid}")
        if contact is None and card.client_id is not None and (card.name or card.phone):
            commands[f"c{tid}"] = (
                "crm.item.add",
                {"entityTypeId": CONTACT, "fields": contact_fields(card)},
            )
            contact = f"$result[c{tid}][item][id]"
        fields = lead_fields(card, self.stages)
        if contact is not None:
            fields["contactIds"] = [contact]
        commands[f"a{tid}"] = ("crm.item.add", {"entityTypeId": LEAD, "fields": fields})
        return commands

    def _outcome(
        self,
        job: Job,
        commands: Mapping[str, Command],
        found: Mapping[str, str],
        results: Mapping[str, Any],
        errors: Mapping[str, Any],
    ) -> Outcome:
        tid = job.task_id
        failed = [errors[name] for name in commands if name in errors]
        if failed:
            error = failed[0] if isinstance(failed[0], dict) else {"error": str(failed[0])}
            code = str(error.get("error", ""))
            text = f"{code}: {error.get('error_description', '')}"[:200]
            return Outcome(tid, ok=False, error=text, permanent=code not in TRANSIENT_ERRORS)
        missing = [name for name in commands if name not in results]
        if missing:
            return Outcome(tid, ok=False, error=f"no result for {missing[0]}")
        lead = job.remote_lead or found.get(f"lead:{tid}") or _item_id(results.get(f"a{tid}"))
        contact = (
            job.remote_contact or found.get(f"contact:{tid}") or _item_id(results.get(f"c{tid}"))
        )
        if job.kind is TaskKind.PUSH and job.card is not None and lead is None:
            return Outcome(tid, ok=False, error="the portal returned no lead id")
        if job.kind in (TaskKind.STATUS, TaskKind.COMMENT) and not job.remote_lead:
            return Outcome(tid, ok=False, error="the lead was never pushed", permanent=True)
        return Outcome(tid, ok=True, remote_lead=lead, remote_contact=contact)


def _item(entity: int, item_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    return {"entityTypeId": entity, "id": item_id, "fields": dict(fields)}


def _item_id(result: Any) -> str | None:
    item = result.get("item") if isinstance(result, dict) else None
    return str(item["id"]) if isinstance(item, dict) and item.get("id") else None


def _first_id(name: str, result: Any) -> str | None:
    """The first id a lookup found: findbycomm's {"CONTACT": [ids]}, crm.item.list's items."""
    if name.startswith("contact:") and isinstance(result, dict):
        ids = result.get("CONTACT") or []
        return str(min(ids)) if ids else None
    items = result.get("items") if isinstance(result, dict) else None
    return str(items[0]["id"]) if items else None


def _lead_contact(name: str, result: Any) -> str | None:
    """The contact of a lead found by its origin (crm.item.list with contactIds)."""
    items = result.get("items") if name.startswith("lead:") and isinstance(result, dict) else None
    contacts = (items[0].get("contactIds") or []) if items else []
    return str(contacts[0]) if contacts else None


def _chunks(
    groups: Sequence[tuple[Job, Mapping[str, Command]]], size: int
) -> list[dict[str, Command]]:
    """Commands packed into batches of at most BATCH_LIMIT; a job's commands stay together
    (the lead refers to its contact's `$result`)."""
    chunks: list[dict[str, Command]] = []
    for _, commands in groups:
        if not commands:
            continue
        if not chunks or len(chunks[-1]) + len(commands) > size:
            chunks.append({})
        chunks[-1].update(commands)
    return chunks


__all__ = ["Bitrix24Crm", "CrmUnavailable"]
