"""The fake Bot API delivers a webhook update as Telegram does: a POST that fails
(connection refused, a non-2xx answer, no answer in time) is posted again, same update_id,
to a live instance behind the balancer; and the scale rig's waits end (a client left
without an answer is reported stuck, a cancelled wait is cancelled)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.fakes.webhook_delivery import Redelivery
from tests.instances_rig import CLIENT, Inbox, Journey, book, free_port

SECRET = "s3cret"
ANNA = FakeUser(1001, "Анна")
QUICK = Redelivery(first_pause=0.01, max_pause=0.05, timeout=0.5, down_for=30)


@dataclass
class Instance:
    """A webhook endpoint that records the update ids it got; `answers` are its statuses
    in turn (the last one repeats), `slow` the seconds its first answer takes."""

    answers: list[int] = field(default_factory=lambda: [200])
    slow: float = 0.0
    got: list[int] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((await request.json())["update_id"])
        if self.slow and len(self.got) == 1:
            await asyncio.sleep(self.slow)
        status = self.answers[min(len(self.got), len(self.answers)) - 1]
        return web.json_response({}, status=status)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        fake.redelivery = QUICK
        bot = fake.make_bot(CLIENT)
        await bot.set_webhook("http://127.0.0.1:1/unused", secret_token=SECRET)
        await bot.session.close()
        yield fake


@pytest.fixture
async def serve() -> AsyncIterator:
    runners: list[web.AppRunner] = []

    async def start(instance: Instance) -> Instance:
        app = web.Application()
        app.router.add_post("/hook", instance.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        instance.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        return instance

    yield start
    for runner in runners:
        await runner.cleanup()


async def _delivered(api: FakeBotApi, instance: Instance, count: int) -> None:
    found = await api.wait_until(lambda: len(instance.got) >= count or None, 5)
    assert found, (instance.got, api.webhook_failures(CLIENT))


async def test_an_update_refused_by_a_dead_instance_goes_to_the_live_one(api, serve):
    live = await serve(Instance())
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: connection refused
    api.balance(CLIENT, [dead, live.url])
    first = api.send_text(CLIENT, ANNA, "раз")["update_id"]
    await _delivered(api, live, 1)
    second = api.send_text(CLIENT, ANNA, "два")["update_id"]  # its turn: the dead one
    await _delivered(api, live, 2)
    assert live.got == [first, second]  # each once, the same update_id
    failures = [(f.update_id, f.url, f.reason) for f in api.webhook_failures(CLIENT)]
    assert failures == [(first, dead, "ClientConnectorError")]  # then passed over


async def test_a_non_2xx_answer_or_none_in_time_is_delivered_again(api, serve):
    failing = await serve(Instance(answers=[503, 500, 200]))
    slow = await serve(Instance(slow=QUICK.timeout * 3))
    api.balance(CLIENT, [failing.url])
    update = api.send_text(CLIENT, ANNA, "раз")["update_id"]
    await _delivered(api, failing, 3)
    api.balance(CLIENT, [slow.url])
    late = api.send_text(CLIENT, ANNA, "два")["update_id"]
    await _delivered(api, slow, 2)
    assert failing.got == [update] * 3 and slow.got == [late] * 2
    reasons = [f.reason for f in api.webhook_failures(CLIENT)]
    assert reasons == ["HTTP 503", "HTTP 500", "TimeoutError"]
    await asyncio.sleep(QUICK.max_pause * 2)
    assert len(failing.got) == 3 and len(slow.got) == 2  # delivered: nothing more


async def test_the_fake_stops_though_a_delivery_keeps_failing():
    api = FakeBotApi()
    await api.start()
    api.redelivery = Redelivery(first_pause=5, give_up_after=600)
    bot = api.make_bot(CLIENT)
    await bot.set_webhook(f"http://127.0.0.1:{free_port()}/hook", secret_token=SECRET)
    await bot.session.close()
    api.send_text(CLIENT, ANNA, "раз")
    await api.wait_until(lambda: api.webhook_failures(CLIENT) or None, 5)
    stopping = asyncio.create_task(api.stop())
    done, _ = await asyncio.wait({stopping}, timeout=2)  # not after the 5 s pause
    assert stopping in done


async def test_a_wait_cancelled_as_the_fake_changes_ends():
    """Python 3.11's wait_for swallowed such a cancellation: the Inbox's reader never
    ended and the scale bench hung after its last client."""
    async with FakeBotApi() as api:
        waiting = asyncio.create_task(api.wait_until(lambda: None, 60))
        inbox = await Inbox(api).__aenter__()
        await asyncio.sleep(0)  # both wait for the fake's next change
        api.send_text(CLIENT, ANNA, "раз")  # a change (polling mode: queued)...
        waiting.cancel()  # ...and the cancellations in the same turn of the loop
        leaving = asyncio.create_task(inbox.__aexit__(None, None, None))
        done, _ = await asyncio.wait({waiting, leaving}, timeout=2)
        assert done == {waiting, leaving} and waiting.cancelled()


async def test_a_client_left_without_an_answer_is_reported_stuck():
    async with FakeBotApi() as api, Inbox(api) as inbox:
        journey = Journey(ANNA)
        outcome = await book(inbox, ANNA, random.Random(1), 0.1, journey=journey)
    assert outcome == (
        f"client {ANNA.id}: stuck: no answer in 0.1s at step 1; "
        "last sent '/start src-scale'; last received 'nothing yet'"
    )
    assert journey.outcome == "stuck: no answer in 0.1s"
