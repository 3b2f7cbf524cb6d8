"""Reconciliation: `python -m bot crm sync --since DATE` pushes what the portal lacks and
reports where statuses differ; owners hear once per failing episode; a stage map that names
a stage the portal lacks stops the start with one line."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys

import pytest
from tortoise.transactions import in_transaction

from bot.crm import queue
from bot.crm.alerts import check_failing
from bot.crm.models import CrmTask, TaskStatus
from bot.crm.port import CrmConfigError
from bot.crm.reconcile import reconcile
from bot.crm.stages import BITRIX24_DEFAULT, parse_stage_map
from bot.crm.sync import sync_due
from bot.db import close_db, init_db
from bot.i18n import Texts
from bot.models import LeadStatus, Outbox
from bot.settings import ROOT
from bot.staffwork.leads import move_lead
from handlers.bitrix24 import Bitrix24Crm
from handlers.bitrix24_api import Bitrix24Api
from tests.crm_helpers import bitrix, drain, new_lead
from tests.fakes.bitrix24_api import FakeBitrix24

OWNERS = frozenset({111, 222})


async def test_reconcile_pushes_what_the_portal_lacks_and_reports_differences(db, clock, crm_on):
    pushed = [await new_lead(clock, n) for n in range(3)]
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        await drain(port, clock)
        queue.activate(None)  # a lead taken while CRM sync was off
        offline = await new_lead(clock, 9)
        queue.activate("bitrix24")
        deleted = portal.lead_by_origin(pushed[0].id)[0]["id"]
        del portal.items[1][deleted]  # a manager deleted it in the portal
        moved = portal.lead_by_origin(pushed[1].id)[0]["id"]
        portal.items[1][moved]["stageId"] = "CONVERTED"  # changed there, no event reached us
        report = await reconcile(port, clock.now() - dt.timedelta(days=1), clock.now())
        again = await reconcile(port, clock.now() - dt.timedelta(days=1), clock.now())
        await drain(port, clock)
        await port.close()
    assert sorted(report.repushed) == sorted([pushed[0].id, offline.id])
    assert report.differ == [(pushed[1].id, LeadStatus.NEW, "CONVERTED")]
    assert again.repushed == []  # the push already waits in the queue: not queued twice
    assert f"differs: lead {pushed[1].id}: bot new, CRM CONVERTED" in report.lines()
    assert len(portal.lead_by_origin(offline.id)) == 1
    assert len(portal.lead_by_origin(pushed[0].id)) == 1


async def test_owners_hear_once_per_failing_episode(db, clock, crm_on):
    texts = Texts("ru")
    after = dt.timedelta(minutes=30)
    lead = await new_lead(clock, 1)
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        portal.down = True
        for _ in range(40):  # 40 minutes of failing passes
            await sync_due(port, clock)
            await check_failing(texts, OWNERS, clock.now(), after)
            clock.advance(minutes=1)
        alerts = await Outbox.filter(kind="crm_failing").count()
        portal.down = False
        clock.advance(minutes=6)
        await drain(port, clock)
        assert await check_failing(texts, OWNERS, clock.now(), after) == 0
        portal.down = True  # a second outage later: a second alert
        async with in_transaction():
            await move_lead(lead, LeadStatus.QUALIFIED, actor="staff:1", now=clock.now())
        for _ in range(35):
            await sync_due(port, clock)
            await check_failing(texts, OWNERS, clock.now(), after)
            clock.advance(minutes=1)
        await port.close()
    assert alerts == len(OWNERS)  # one per owner, once
    assert await Outbox.filter(kind="crm_failing").count() == 2 * len(OWNERS)
    row = await Outbox.filter(kind="crm_failing").first()
    assert "Синхронизация с CRM не проходит" in row.payload["text"]


async def test_a_stage_the_portal_lacks_is_named_in_one_line(db, clock):
    stages = parse_stage_map("no_show=UC_NOSHOW", BITRIX24_DEFAULT)
    async with FakeBitrix24() as portal:
        port = Bitrix24Crm(Bitrix24Api(portal.webhook_url), stages)
        with pytest.raises(CrmConfigError) as caught:
            await port.check()
        await port.close()
    assert str(caught.value).startswith("CRM_STAGE_MAP: stage 'UC_NOSHOW' (for no_show)")
    assert "\n" not in str(caught.value)
    with pytest.raises(CrmConfigError, match="no status 'paid'"):
        parse_stage_map("paid=WON", BITRIX24_DEFAULT)


async def test_the_crm_sync_command(tmp_path, clock, crm_on):
    """The real command in a child process against the local portal."""
    url = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    await init_db(url)
    queue.activate(None)  # leads taken before CRM sync was switched on
    leads = [await new_lead(clock, n) for n in range(3)]
    await close_db()
    async with FakeBitrix24() as portal:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": url,
            "CRM": "bitrix24",
            "BITRIX24_WEBHOOK_URL": portal.webhook_url,
        }
        since = (clock.now() - dt.timedelta(days=1)).date().isoformat()
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "crm", "sync", "--since", since,
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, err.decode()[-1000:]
    text = out.decode()
    assert "leads: 3, in the CRM: 0, pushed again: 3" in text and "sent now: 3" in text
    assert sorted(int(i["originId"]) for i in portal.leads()) == [lead.id for lead in leads]
    assert portal.webhook_url.split("/rest/")[1] not in err.decode()  # no secret in the logs
    await init_db(url)
    assert await CrmTask.filter(status=TaskStatus.DONE).count() == 3
    await close_db()


def test_settings_name_what_a_crm_needs():
    from bot.settings import SettingsError, check_channels, load_settings

    with pytest.raises(SettingsError, match="BITRIX24_WEBHOOK_URL is not set"):
        check_channels(load_settings(_env_file=None, crm="bitrix24"))
    with pytest.raises(SettingsError, match="AMOCRM_BASE_URL is not set"):
        check_channels(load_settings(_env_file=None, crm="amocrm"))
    amo = {
        "crm": "amocrm",
        "amocrm_base_url": "https://salon.amocrm.ru",
        "amocrm_client_id": "id",
        "amocrm_client_secret": "secret-123456",
        "amocrm_pipeline_id": "7001",
        "crm_stage_map": "new=1,qualified=2",
    }
    with pytest.raises(SettingsError, match="CRM_STAGE_MAP: no stage for confirmed"):
        check_channels(load_settings(_env_file=None, **amo))
    check_channels(
        load_settings(_env_file=None, **amo | {"crm_stage_map": "new=1,qualified=2,confirmed=3"})
    )
    assert load_settings(_env_file=None, amocrm_pipeline_id="").amocrm_pipeline_id == 0
