"""Helpers of the CRM sync tests: a lead with its client, draining the queue, a port on
the local portal."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from bot.crm.models import CrmTask, TaskStatus
from bot.crm.stages import BITRIX24_DEFAULT
from bot.crm.sync import sync_due
from bot.models import Client, IntakeReceipt
from bot.staffwork.leads import open_lead
from handlers.bitrix24 import Bitrix24Crm
from handlers.bitrix24_api import Bitrix24Api
from tests.fakes.bitrix24_api import FakeBitrix24


async def new_lead(clock, n: int, phone: str | None = None, utm: dict | None = None):
    async with in_transaction():
        client = await Client.create(
            channel="telegram",
            channel_user_id=str(1000 + n),
            name=f"Client {n}",
            phone=phone or f"+7900{n:07d}",
            consent_at=clock.now(),
            created_at=clock.now(),
        )
        lead = await open_lead(
            channel="telegram",
            client_id=client.id,
            source="avito",
            campaign="spring",
            now=clock.now(),
        )
        if utm:
            await IntakeReceipt.create(
                key=f"form:{n}", kind="form", lead_id=lead.id, details={"utm": utm}, at=clock.now()
            )
    return lead


async def drain(port, clock, passes: int = 200) -> int:
    done = 0
    for _ in range(passes):
        if not await CrmTask.filter(status=TaskStatus.PENDING).exists():
            break
        done += await sync_due(port, clock)
    return done


def bitrix(portal: FakeBitrix24, rate: float = 50, burst: int = 50) -> Bitrix24Crm:
    return Bitrix24Crm(Bitrix24Api(portal.webhook_url, rate, burst), BITRIX24_DEFAULT)
