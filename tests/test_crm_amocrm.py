"""CRM sync with amoCRM (Kommo) v4 against a local account with its limits (7 requests/s,
429 beyond) and rotating single-use refresh tokens (tests/fakes/amocrm_api.py)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from tortoise.transactions import in_transaction

from bot.crm import queue
from bot.crm.alerts import check_failing
from bot.crm.models import CrmLink, CrmTask, CrmToken, TaskStatus
from bot.crm.stages import default_stages, parse_stage_map
from bot.crm.sync import sync_due
from bot.crm.tokens import Grant, TokenStore, store_grant
from bot.erasure import erase_chat
from bot.i18n import Texts
from bot.models import Client, Lead, LeadEvent, LeadStatus, Outbox
from bot.staffwork.leads import move_lead
from handlers.amocrm import AmoCrm
from handlers.amocrm_api import AmoApi
from handlers.crm_webhook import AmoEvents
from tests.crm_helpers import drain, new_lead
from tests.fakes.amocrm_api import CLIENT_ID, CLIENT_SECRET, PIPELINE, STAGE_MAP, FakeAmo
from tests.fakes.local_server import serving

SECRET = "amo-hook-secret-42"
HALF_HOUR = dt.timedelta(minutes=30)


@pytest.fixture
def amo_on():
    queue.activate("amocrm")
    yield
    queue.activate(None)


async def connect(account: FakeAmo, clock, rate: float = 7) -> AmoCrm:
    pair = account.issue()
    grant = Grant(pair["access_token"], pair["refresh_token"], pair["expires_in"])
    await store_grant("amocrm", grant, clock.now())
    api = AmoApi(account.url, CLIENT_ID, CLIENT_SECRET, "https://salon.example/amo", clock, rate)
    return AmoCrm(api, parse_stage_map(STAGE_MAP, default_stages("amocrm")), PIPELINE)


async def test_leads_arrive_with_contact_utm_status_and_outcome_note(db, clock, amo_on):
    utm = {"utm_source": "vk", "utm_campaign": "nails"}
    first = await new_lead(clock, 1, utm=utm)
    async with FakeAmo() as account:
        port = await connect(account, clock)
        await port.check()
        await drain(port, clock)
        async with in_transaction():
            await move_lead(first, LeadStatus.CONFIRMED, actor="staff:1", now=clock.now())
        async with in_transaction():
            await move_lead(first, LeadStatus.CAME, actor="staff:1", now=clock.now())
        await drain(port, clock)
        await port.close()
    [lead] = account.leads.values()
    contact = account.contacts[lead["contact_id"]]
    assert lead["name"] == f"Priyom #{first.id}" and lead["status_id"] == 142
    assert lead["utm"] == {"UTM_SOURCE": "vk", "UTM_CAMPAIGN": "nails"}
    assert contact["first_name"] == "Client 1" and contact["phones"] == ["+79000000001"]
    assert [what for what, _ in account.journal] == ["add", "status", "status", "note"]
    assert account.notes[0]["text"].startswith("Priyom: came")


async def test_a_burst_over_7_requests_a_second_arrives_once_each(db, clock, amo_on):
    leads = [await new_lead(clock, n) for n in range(40)]
    async with FakeAmo() as account:
        port = await connect(account, clock, rate=30)  # more eager than the account allows
        await drain(port, clock)
        await port.close()
    assert account.refused > 0  # 429s were answered…
    assert sorted(int(x["name"].split("#")[1]) for x in account.leads.values()) == [
        lead.id for lead in leads
    ]  # …and retried: each lead exactly once
    assert not await CrmTask.exclude(status=TaskStatus.DONE).exists()


async def test_a_refresh_token_is_spent_once_however_many_processes_refresh(db, clock, amo_on):
    async with FakeAmo() as account:
        port = await connect(account, clock)
        old = await CrmToken.get(crm="amocrm")
        clock.advance(hours=13)  # within REFRESH_AHEAD of the expiry: time to refresh
        api = port.api
        stores = [TokenStore("amocrm", api.refresh, clock) for _ in range(5)]  # five processes
        tokens = await asyncio.gather(*(store.access_token() for store in stores))
        await port.close()
    new = await CrmToken.get(crm="amocrm")
    assert account.grants == 1  # one refresh, not five (a second would be refused)
    assert set(tokens) == {new.access_token} and new.access_token != old.access_token
    assert new.previous_refresh == old.refresh_token and new.version == old.version + 1


async def test_a_refresh_that_fails_half_way_does_not_lock_the_integration_out(db, clock, amo_on):
    """The account rotated the token but its answer was lost: the old refresh token is then
    refused. The access token still works for hours, sync goes on, owners are told once."""
    await new_lead(clock, 1)
    async with FakeAmo() as account:
        port = await connect(account, clock)
        clock.advance(hours=13)
        account.lose_next_grant = 1
        await sync_due(port, clock)  # the refresh's answer is lost: the pass backs off
        clock.advance(minutes=1)
        await drain(port, clock)  # the next refresh is refused; the access token carries on
        texts = Texts("ru")
        queued = await check_failing(texts, frozenset({111}), clock.now(), after=HALF_HOUR)
        again = await check_failing(texts, frozenset({111}), clock.now(), after=HALF_HOUR)
        await port.close()
    assert len(account.leads) == 1  # delivered all the same
    token = await CrmToken.get(crm="amocrm")
    assert token.broken and "refused" in token.broken
    assert queued == 1 and again == 0
    alert = await Outbox.get(kind="crm_failing")
    assert "заново подключите интеграцию" in alert.payload["text"]


async def test_a_status_webhook_moves_the_lead_and_a_forged_one_is_refused(db, clock, amo_on):
    lead = await new_lead(clock, 1)
    async with FakeAmo() as account:
        port = await connect(account, clock)
        await drain(port, clock)
        [remote] = account.leads
        events = AmoEvents(port, SECRET, clock)
        async with serving(events.register) as url:
            forged = await account.post_event(f"{url}/crm/amocrm/events/guess", remote, 142)
            moved = await account.set_status(remote, 7103, f"{url}/crm/amocrm/events/{SECRET}")
        await drain(port, clock)
        await port.close()
    assert forged == 403 and moved == 200
    assert (await Lead.get(id=lead.id)).status is LeadStatus.CONFIRMED
    assert (await LeadEvent.get(lead_id=lead.id, to_status=LeadStatus.CONFIRMED)).actor == "crm"
    assert [what for what, _ in account.journal] == ["add"]  # not echoed back


async def test_forget_blanks_the_amocrm_contact(db, clock, amo_on):
    lead = await new_lead(clock, 5)
    async with FakeAmo() as account:
        port = await connect(account, clock)
        await drain(port, clock)
        async with in_transaction():
            await erase_chat("telegram", "1005", lead.client_id, lead.id, clock.now())
        await drain(port, clock)
        await port.close()
    [contact] = account.contacts.values()
    assert contact["first_name"] == "—" and contact["phones"] == []


async def test_a_push_retried_after_a_lost_answer_creates_no_second_lead(db, clock, amo_on):
    lead = await new_lead(clock, 4)
    await Client.filter(id=lead.client_id).update(phone=None)  # nothing to find it by but its lead
    async with FakeAmo() as account:
        port = await connect(account, clock)
        account.lose_next_complex = 1
        await sync_due(port, clock)
        assert len(account.leads) == 1  # made, but we do not know it
        clock.advance(minutes=6)
        await drain(port, clock)
        await port.close()
    assert len(account.leads) == 1 and len(account.contacts) == 1
    [contact_id] = account.contacts
    assert (await CrmLink.get(kind="contact", local_id=lead.client_id)).remote_id == str(contact_id)
