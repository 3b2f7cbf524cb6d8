"""amoCRM (Kommo) v4 behind the CRM port: a lead with its contact in one `leads/complex`
call (up to 50 a request), status moves as one PATCH of up to 50 leads, outcomes as notes.

Lookups before writing: the contact by phone (`GET /contacts?query=`), and on a retry the
lead by its name `Priyom #<id>` (an earlier attempt may have created it before its answer
was lost). The product's statuses map to the pipeline's status ids (CRM_STAGE_MAP), checked
at start against the pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.crm.models import TaskKind
from bot.crm.port import CrmUnavailable, Job, LeadCard, Outcome, RemoteLead
from bot.crm.stages import check_stages, status_of
from bot.models import LeadStatus
from handlers.amocrm_api import BATCH_LIMIT, AmoApi, AmoError

ERASED_NAME = "—"
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


def lead_title(lead_id: int) -> str:
    return f"Priyom #{lead_id}"


class AmoCrm:
    name = "amocrm"

    def __init__(self, api: AmoApi, stages: Mapping[LeadStatus, str], pipeline_id: int) -> None:
        self.api, self.stages, self.pipeline = api, dict(stages), pipeline_id

    async def check(self) -> None:
        pipeline = await self.api.request("GET", f"/api/v4/leads/pipelines/{self.pipeline}")
        statuses = ((pipeline or {}).get("_embedded") or {}).get("statuses") or []
        check_stages(self.stages, (str(s["id"]) for s in statuses))

    async def deliver(self, jobs: Sequence[Job]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        contacts, leads = await self._lookups(jobs)
        sent_any = False
        steps = (
            (TaskKind.PUSH, self._push),
            (TaskKind.STATUS, self._status),
            (TaskKind.COMMENT, self._notes),
            (TaskKind.FORGET, self._forget),
        )
        for kind, send in steps:
            mine = [j for j in jobs if j.kind is kind]
            for start in range(0, len(mine), BATCH_LIMIT):
                chunk = mine[start : start + BATCH_LIMIT]
                try:
                    outcomes |= await send(chunk, contacts, leads)
                    sent_any = True
                except CrmUnavailable as exc:
                    if not sent_any:
                        raise
                    outcomes |= {
                        j.task_id: Outcome(j.task_id, ok=False, error=str(exc)) for j in chunk
                    }
                except AmoError as exc:
                    outcomes |= {
                        j.task_id: Outcome(j.task_id, ok=False, error=str(exc), permanent=True)
                        for j in chunk
                    }
        return [
            outcomes.get(j.task_id) or Outcome(j.task_id, ok=False, error="not sent") for j in jobs
        ]

    async def read_leads(self, remote_ids: Sequence[str]) -> list[RemoteLead]:
        found = []
        for start in range(0, len(remote_ids), BATCH_LIMIT):
            params = [("filter[id][]", rid) for rid in remote_ids[start : start + BATCH_LIMIT]]
            data = await self.api.request(
                "GET", "/api/v4/leads", params=[*params, ("limit", "250")]
            )
            for lead in ((data or {}).get("_embedded") or {}).get("leads") or []:
                stage = str(lead.get("status_id"))
                found.append(
                    RemoteLead(str(lead["id"]), stage, tuple(status_of(self.stages, stage)))
                )
        return found

    async def close(self) -> None:
        await self.api.close()

    async def _lookups(self, jobs: Sequence[Job]) -> tuple[dict[int, str], dict[int, str]]:
        contacts: dict[int, str] = {}
        leads: dict[int, str] = {}
        for job in jobs:
            if job.kind is not TaskKind.PUSH or job.card is None:
                continue
            if job.remote_contact is None and job.card.phone:
                found = await self._search("contacts", job.card.phone)
                if found:
                    contacts[job.task_id] = found
            if job.remote_lead is None and job.retry:
                lead = await self._lead_named(lead_title(job.card.lead_id))
                if lead is not None:  # an earlier attempt made it: its contact is ours too
                    leads[job.task_id] = str(lead["id"])
                    embedded = (lead.get("_embedded") or {}).get("contacts") or []
                    if embedded and job.task_id not in contacts:
                        contacts[job.task_id] = str(embedded[0]["id"])
        return contacts, leads

    async def _lead_named(self, name: str) -> dict | None:
        params = {"query": name, "with": "contacts"}
        data = await self.api.request("GET", "/api/v4/leads", params=params)
        items = ((data or {}).get("_embedded") or {}).get("leads") or []
        return next((i for i in items if i.get("name") == name), None)

    async def _search(self, entity: str, query: str) -> str | None:
        data = await self.api.request("GET", f"/api/v4/{entity}", params={"query": query})
        items = ((data or {}).get("_embedded") or {}).get(entity) or []
        return str(min(int(i["id"]) for i in items)) if items else None

    async def _push(self, jobs, contacts, leads) -> dict[int, Outcome]:
        done: dict[int, Outcome] = {}
        new = []
        for job in jobs:
            known = job.remote_lead or leads.get(job.task_id)
            if job.card is None or known:
                done[job.task_id] = Outcome(
                    job.task_id,
                    ok=True,
                    remote_lead=known,
                    remote_contact=job.remote_contact or contacts.get(job.task_id),
                )
            else:
                new.append(job)
        if not new:
            return done
        body = [self._complex(j, contacts.get(j.task_id)) for j in new]
        answer = await self.api.request("POST", "/api/v4/leads/complex", body)
        for job, created in zip(new, answer or [], strict=False):
            contact = job.remote_contact or contacts.get(job.task_id) or created.get("contact_id")
            done[job.task_id] = Outcome(
                job.task_id,
                ok=True,
                remote_lead=str(created["id"]),
                remote_contact=str(contact) if contact else None,
            )
        return done

    def _complex(self, job: Job, found_contact: str | None) -> dict[str, Any]:
        card: LeadCard = job.card  # type: ignore[assignment]
        lead: dict[str, Any] = {
            "name": lead_title(card.lead_id),
            "pipeline_id": self.pipeline,
            "status_id": int(self.stages[card.status]),
            "request_id": str(job.task_id),
            "_embedded": {
                "tags": [{"name": "priyom"}] + ([{"name": card.source}] if card.source else [])
            },
        }
        fields = [
            {"field_code": key.upper(), "values": [{"value": card.utm[key]}]}
            for key in UTM
            if card.utm.get(key)
        ]
        if fields:
            lead["custom_fields_values"] = fields
        contact = job.remote_contact or found_contact
        if contact:
            lead["_embedded"]["contacts"] = [{"id": int(contact)}]
        elif card.client_id is not None and (card.name or card.phone):
            person: dict[str, Any] = {"first_name": card.name or ERASED_NAME}
            if card.phone:
                person["custom_fields_values"] = [
                    {"field_code": "PHONE", "values": [{"value": card.phone, "enum_code": "WORK"}]}
                ]
            lead["_embedded"]["contacts"] = [person]
        return lead

    async def _status(self, jobs, contacts, leads) -> dict[int, Outcome]:
        done = {j.task_id: _never_pushed(j) for j in jobs if not j.remote_lead or not j.status}
        body = [
            {
                "id": int(j.remote_lead),
                "status_id": int(self.stages[j.status]),
                "pipeline_id": self.pipeline,
            }
            for j in jobs
            if j.remote_lead and j.status
        ]
        return await self._send(jobs, done, "PATCH", "/api/v4/leads", body)

    async def _notes(self, jobs, contacts, leads) -> dict[int, Outcome]:
        done = {j.task_id: _never_pushed(j) for j in jobs if not j.remote_lead}
        body = [
            {"entity_id": int(j.remote_lead), "note_type": "common", "params": {"text": j.text}}
            for j in jobs
            if j.remote_lead and j.text
        ]
        return await self._send(jobs, done, "POST", "/api/v4/leads/notes", body)

    async def _send(
        self, jobs, done: dict[int, Outcome], method: str, path: str, body: list[dict]
    ) -> dict[int, Outcome]:
        """One request for the jobs that can go; every job not answered already is done."""
        if body:
            await self.api.request(method, path, body)
        return done | {
            j.task_id: Outcome(j.task_id, ok=True) for j in jobs if j.task_id not in done
        }

    async def _forget(self, jobs, contacts, leads) -> dict[int, Outcome]:
        """amoCRM's API deletes no contacts: the contact is blanked (name, phones)."""
        body = [
            {
                "id": int(j.remote_contact),
                "first_name": ERASED_NAME,
                "last_name": "",
                "custom_fields_values": [{"field_code": "PHONE", "values": None}],
            }
            for j in jobs
            if j.remote_contact
        ]
        if body:
            await self.api.request("PATCH", "/api/v4/contacts", body)
        return {j.task_id: Outcome(j.task_id, ok=True) for j in jobs}


def _never_pushed(job: Job) -> Outcome:
    if job.remote_lead and job.kind is TaskKind.STATUS:
        return Outcome(job.task_id, ok=True)  # nothing to move
    return Outcome(job.task_id, ok=False, error="the lead was never pushed", permanent=True)
