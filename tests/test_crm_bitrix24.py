"""CRM sync with Bitrix24 against a local portal that enforces its limits (tests/fakes)."""

from __future__ import annotations

import datetime as dt

import pytest
from tortoise.transactions import in_transaction

from bot.crm.models import CrmLink, CrmTask, CrmToken, TaskStatus
from bot.crm.stages import BITRIX24_DEFAULT
from bot.crm.sync import sync_due
from bot.crm.tokens import Grant, store_grant
from bot.erasure import erase_chat
from bot.logs import Redactor
from bot.models import Client, Lead, LeadEvent, LeadStatus
from bot.numbers import kpi
from bot.privacy import secret_values
from bot.settings import Settings
from bot.staffwork.leads import move_lead
from handlers.bitrix24 import Bitrix24Crm
from handlers.bitrix24_api import Bitrix24Api
from handlers.crm_webhook import BITRIX24_EVENTS_PATH, Bitrix24Events
from tests import test_postgres
from tests.crm_helpers import bitrix, drain, new_lead
from tests.fakes.bitrix24_api import APP_TOKEN, FakeBitrix24
from tests.fakes.local_server import serving
from tests.test_erasure import leftovers


async def test_a_lead_arrives_with_its_contact_utm_and_status(db, clock, crm_on):
    utm = {"utm_source": "yandex", "utm_campaign": "brows", "utm_term": "брови"}
    lead = await new_lead(clock, 1, utm=utm)
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        await drain(port, clock)
        async with in_transaction():
            await move_lead(lead, LeadStatus.CONFIRMED, actor="staff:1", now=clock.now())
        await drain(port, clock)
        await port.close()
    [remote] = portal.leads()
    [contact] = portal.items[3].values()
    assert remote["utmSource"] == "yandex" and remote["utmCampaign"] == "brows"
    assert remote["contactIds"] == [contact["id"]] and contact["name"] == "Client 1"
    assert remote["stageId"] == "PROCESSED"
    assert "name" not in remote  # the person is on the contact only
    link = await CrmLink.get(kind="lead", local_id=lead.id)
    assert link.remote_id == str(remote["id"])


async def test_a_burst_of_1000_leads_arrives_once_each_under_the_limits(db, clock, crm_on):
    """The client is set more eager than the portal allows: the portal refuses with
    QUERY_LIMIT_EXCEEDED, and every refusal is retried until each lead is there once."""
    leads = [await new_lead(clock, n) for n in range(1000)]
    async with FakeBitrix24(rate=10, bucket=3) as portal:
        port = bitrix(portal, rate=200, burst=50)
        done = await drain(port, clock)
        await port.close()
    assert portal.refused > 0  # the limit was hit…
    assert done == 1000  # …and nothing was left unretried
    assert not await CrmTask.exclude(status=TaskStatus.DONE).exists()
    origins = sorted(int(item["originId"]) for item in portal.leads())
    assert origins == sorted(lead.id for lead in leads)  # each exactly once
    assert len(portal.items[3]) == 1000
    assert portal.batches == 3 * 1000 / 50  # a lookup, a contact, a lead: 50 a request


async def test_the_portal_down_for_ten_minutes_gets_everything_after_in_order(db, clock, crm_on):
    lead = await new_lead(clock, 1)
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        portal.down = True
        async with in_transaction():
            await move_lead(lead, LeadStatus.QUALIFIED, actor="staff:1", now=clock.now())
        async with in_transaction():
            await move_lead(lead, LeadStatus.CONFIRMED, actor="staff:1", now=clock.now())
        async with in_transaction():
            await move_lead(lead, LeadStatus.CAME, actor="staff:1", now=clock.now())
        for _ in range(60):  # ten minutes of passes, 10 s apart: each one fails
            await sync_due(port, clock)
            clock.advance(seconds=10)
        assert portal.items[1] == {}
        task = await CrmTask.filter(status=TaskStatus.PENDING).order_by("id").first()
        assert task.attempts > 3 and task.failing_since is not None
        portal.down = False
        clock.advance(minutes=6)  # past the longest backoff
        await drain(port, clock)
        await port.close()
    [remote] = portal.leads()
    kinds = [what for what, entity, item in portal.journal if entity == 1 and item == remote["id"]]
    assert kinds == ["add", "update", "update", "update", "comment"]  # push, 3 moves, outcome
    assert remote["stageId"] == "CONVERTED"
    assert portal.comments[0]["text"].startswith("Priyom: came")


async def test_a_push_retried_after_a_lost_answer_creates_no_second_lead(db, clock, crm_on):
    lead = await new_lead(clock, 1)
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        portal.lose_next_add = 1  # the write batch is done, its answer never comes back
        await sync_due(port, clock)
        assert len(portal.lead_by_origin(lead.id)) == 1  # it was created…
        assert await CrmTask.filter(status=TaskStatus.PENDING).count() == 1  # …unknown to us
        clock.advance(minutes=6)
        await drain(port, clock)
        await port.close()
    assert len(portal.lead_by_origin(lead.id)) == 1
    assert len(portal.items[3]) == 1  # and the contact was found by phone, not made again
    [contact_id] = portal.items[3]
    assert (await CrmLink.get(kind="contact", local_id=lead.client_id)).remote_id == str(contact_id)
    assert (await CrmLink.get(kind="lead", local_id=lead.id)).remote_id == str(
        portal.lead_by_origin(lead.id)[0]["id"]
    )


async def pushed_lead(portal, port, clock):
    lead = await new_lead(clock, 1)
    await drain(port, clock)
    return lead, portal.lead_by_origin(lead.id)[0]["id"]


async def test_a_status_changed_in_the_portal_reaches_the_lead_and_the_kpis(db, clock, crm_on):
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        lead, remote_id = await pushed_lead(portal, port, clock)
        events = Bitrix24Events(port, APP_TOKEN, clock)
        async with serving(events.register) as url:
            status = await portal.set_stage(remote_id, "PROCESSED", url + BITRIX24_EVENTS_PATH)
        await drain(port, clock)
        await port.close()
    assert status == 200
    assert (await Lead.get(id=lead.id)).status is LeadStatus.CONFIRMED
    event = await LeadEvent.get(lead_id=lead.id, to_status=LeadStatus.CONFIRMED)
    assert event.actor == "crm"
    period = kpi.Period(clock.now() - dt.timedelta(days=1), clock.now() + dt.timedelta(days=1))
    stages = {stage.name: stage.count for stage in await kpi.funnel(period)}
    assert list(stages.values())[2] == 1  # the funnel's «confirmed» stage counts it
    # …and the change is not echoed back to the portal as a new update
    assert [w for w, e, i in portal.journal if e == 1 and i == remote_id] == ["add"]


async def test_a_forged_event_is_refused_and_an_event_is_never_trusted_alone(db, clock, crm_on):
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        lead, remote_id = await pushed_lead(portal, port, clock)
        events = Bitrix24Events(port, APP_TOKEN, clock)
        async with serving(events.register) as url:
            forged = await portal.post_event(url + BITRIX24_EVENTS_PATH, remote_id, "guess")
            # the right token, but the portal's lead did not move: nothing changes
            unchanged = await portal.post_event(url + BITRIX24_EVENTS_PATH, remote_id)
            unknown = await portal.post_event(url + BITRIX24_EVENTS_PATH, 999)
            portal.down = True  # the lead cannot be read back: a clear 503, never a 500
            unread = await portal.post_event(url + BITRIX24_EVENTS_PATH, remote_id)
        await port.close()
    assert forged == 403 and unchanged == 200 and unknown == 200 and unread == 503
    assert (await Lead.get(id=lead.id)).status is LeadStatus.NEW
    assert await LeadEvent.filter(lead_id=lead.id).count() == 1


@pytest.mark.parametrize("mode", ["delete", "anonymise"])
async def test_forget_reaches_the_portal_and_the_sync_queue(db, clock, crm_on, mode):
    lead = await new_lead(clock, 7, phone="+79271234567")
    await Lead.filter(id=lead.id).update(ai_summary="Client 7 wants brows with her daughter")
    async with FakeBitrix24() as portal:
        port = Bitrix24Crm(Bitrix24Api(portal.webhook_url, 50, 50), BITRIX24_DEFAULT, mode)
        await drain(port, clock)
        portal.down = True  # the outcome waits in the queue when the client asks to be forgotten
        async with in_transaction():
            await move_lead(
                lead, LeadStatus.LOST, actor="staff:1", now=clock.now(), note="Client 7"
            )
        await sync_due(port, clock)
        async with in_transaction():
            await erase_chat("telegram", "1007", lead.client_id, lead.id, clock.now())
        assert await leftovers("Client 7", phone="79271234567") == []
        portal.down = False
        clock.advance(minutes=6)
        await drain(port, clock)
        await port.close()
    [contact_id] = [i for w, e, i in portal.journal if w == "add" and e == 3]
    if mode == "delete":
        assert contact_id not in portal.items[3]
    else:
        assert (
            portal.items[3][contact_id]["name"] == "—" and portal.items[3][contact_id]["fm"] == []
        )
    assert portal.comments == []  # the outcome comment with the summary was never sent
    [remote] = portal.leads()
    assert remote["comments"] == "" and remote["stageId"] == "JUNK"  # summary gone, status kept
    assert not await CrmTask.filter(status=TaskStatus.PENDING).exists()


def test_the_webhook_secret_and_the_application_token_never_reach_a_log_line():
    settings = Settings(  # type: ignore[arg-type]
        _env_file=None,
        crm="bitrix24",
        bitrix24_webhook_url="https://salon.bitrix24.ru/rest/1/q8x2webhooksecret/",
        bitrix24_application_token="apptoken-9f8e7d",
    )
    redactor = Redactor(secret_values(settings))
    line = redactor.scrub(
        "POST https://salon.bitrix24.ru/rest/1/q8x2webhooksecret/batch.json failed; "
        "event auth[application_token]=apptoken-9f8e7d"
    )
    assert "q8x2webhooksecret" not in line and "apptoken-9f8e7d" not in line
    assert "/rest/1/***/batch.json" in line


pg = test_postgres.pg  # the fixture: a migrated PostgreSQL schema


async def test_migration_10_and_the_sync_on_postgresql(pg, clock, crm_on):
    """The queue's tables (migration 10, PostgreSQL dialect), its per-lead ordering query
    and the links' uniqueness on a real server."""
    leads = [await new_lead(clock, n) for n in range(30)]
    for lead in leads[:10]:
        async with in_transaction():
            await move_lead(lead, LeadStatus.QUALIFIED, actor="staff:1", now=clock.now())
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        assert await drain(port, clock) == 40
        await port.close()
    assert len(portal.leads()) == 30
    assert await CrmLink.filter(kind="lead").count() == 30
    grant = Grant("access", "refresh", 86400)
    await store_grant("amocrm", grant, clock.now())
    await store_grant("amocrm", grant, clock.now())  # one row per CRM (unique)
    assert await CrmToken.filter(crm="amocrm").count() == 1
    assert sum(item["stageId"] == "IN_PROCESS" for item in portal.leads()) == 10


async def test_a_method_blocked_by_its_operating_time_waits_until_the_portal_frees_it(
    db, clock, crm_on
):
    """Over 480 s of a method's work in 10 minutes blocks it: the sync waits until the reset
    time the portal names instead of knocking every few seconds."""
    await new_lead(clock, 1)
    async with FakeBitrix24(operating_limit=1.0) as portal:
        portal.cost = 2.0  # one batch uses up the method's budget
        port = bitrix(portal)
        await sync_due(port, clock)  # the lookup batch passes; the write batch is refused
        task = await CrmTask.get(status=TaskStatus.PENDING)
        assert "OPERATION_TIME_LIMIT" in task.error
        assert (task.due_at - clock.now()).total_seconds() > 500  # ~10 minutes, not 2 s
        asked = portal.requests
        await sync_due(port, clock)
        assert portal.requests == asked  # nothing sent while blocked
        portal.operating.clear()  # ten minutes later
        portal.cost = 0.01
        clock.advance(minutes=11)
        await drain(port, clock)
        await port.close()
    assert len(portal.leads()) == 1


async def test_the_arq_job_and_the_embedded_loop_run_the_same_passes(db, clock, crm_on):
    from types import SimpleNamespace

    from workers.arq_worker import WorkerSettings
    from workers.crm_jobs import crm_sync

    assert "crm_sync" in {job.name for job in WorkerSettings.cron_jobs}
    await new_lead(clock, 1)
    await new_lead(clock, 2)
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        work = SimpleNamespace(clock=clock)
        assert await crm_sync({"crm": None, "work": work}) == 0  # CRM off: nothing
        assert await crm_sync({"crm": port, "work": work}) == 2
        await port.close()
    assert len(portal.leads()) == 2


async def test_a_retried_push_of_a_client_without_phone_keeps_the_contact_it_made(
    db, clock, crm_on
):
    """No phone to find the contact by: the lead found by its origin names its contact, so
    /forget can still reach it."""
    lead = await new_lead(clock, 3)
    await Client.filter(id=lead.client_id).update(phone=None)
    async with FakeBitrix24() as portal:
        port = bitrix(portal)
        portal.lose_next_add = 1
        await sync_due(port, clock)
        clock.advance(minutes=6)
        await drain(port, clock)
        await port.close()
    [contact_id] = portal.items[3]
    assert len(portal.lead_by_origin(lead.id)) == 1
    assert (await CrmLink.get(kind="contact", local_id=lead.client_id)).remote_id == str(contact_id)
