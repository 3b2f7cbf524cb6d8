"""The CRM port: what the core asks of any CRM (Bitrix24, amoCRM), in batches.

A sync pass hands the port the head task of each lead (`Job`); the port sends them in as
few requests as the CRM allows and answers one `Outcome` per job. Remote ids travel both
ways: a job carries what is already known (so a retry updates, never creates twice), an
outcome brings back what was created (stored before the task counts as done).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.crm.models import TaskKind
from bot.models import LeadStatus
from bot.settings import SettingsError

CRM_ACTOR = "crm"
"""The actor of a lead event that came from the CRM (it is not sent back there)."""


class CrmConfigError(SettingsError):
    """The configuration does not fit the CRM (a stage that is not there); one line."""


class CrmUnavailable(Exception):
    """A transient failure (down, timeout, limits exhausted): the whole pass retries later."""

    def __init__(self, reason: str, seconds: float = 0) -> None:
        super().__init__(reason)
        self.seconds = seconds


@dataclass(frozen=True)
class LeadCard:
    """A lead as the CRM gets it, read from the database when it is sent (not when queued),
    so an erased client's name and phone are never sent afterwards."""

    lead_id: int
    client_id: int | None
    name: str | None
    phone: str | None
    source: str | None
    campaign: str | None
    utm: Mapping[str, str]
    status: LeadStatus
    summary: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Job:
    task_id: int
    kind: TaskKind
    retry: bool  # an earlier attempt may have reached the CRM: look before creating
    remote_lead: str | None = None
    remote_contact: str | None = None
    card: LeadCard | None = None  # PUSH
    status: LeadStatus | None = None  # STATUS
    text: str | None = None  # COMMENT


@dataclass(frozen=True)
class Outcome:
    task_id: int
    ok: bool
    remote_lead: str | None = None
    remote_contact: str | None = None
    error: str | None = None
    permanent: bool = False  # the CRM refused it for good: the task is dead


@dataclass(frozen=True)
class RemoteLead:
    remote_id: str
    stage: str
    statuses: tuple[LeadStatus, ...]  # what the stage may mean (empty: a stage not mapped)


class CrmPort(Protocol):
    name: str

    async def check(self) -> None:
        """Compare the configuration with the CRM at start (stages); raise CrmConfigError."""
        ...

    async def deliver(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Send the jobs (pushes, status updates, comments, erasures), batched; one outcome
        per job. Raise CrmUnavailable when nothing could be sent now."""
        ...

    async def read_leads(self, remote_ids: Sequence[str]) -> list[RemoteLead]:
        """The leads as the CRM has them now (an event is never trusted by itself)."""
        ...

    async def close(self) -> None: ...
