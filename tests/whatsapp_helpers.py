"""The WhatsApp adapter serving its webhook on a local port, talking to the fake Graph API."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from bot.dialogs import DialogService
from handlers.whatsapp import PATH, WhatsApp
from handlers.whatsapp_api import GraphClient
from tests.fakes.graph_api import PHONE_ID, TOKEN, FakeGraphApi, options, text_of
from tests.fakes.local_server import serving_channel

SECRET, VERIFY = "app-secret", "verify-me"
_ids = itertools.count(1)


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook(value: dict) -> dict:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PHONE_ID}} | value
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }


def message(wa_id: str, body: dict, name: str = "Ольга", mid: str | None = None) -> dict:
    mid = mid or f"wamid.in{next(_ids)}"
    return webhook(
        {
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": mid, "timestamp": "1763900000"} | body],
        }
    )


def text(wa_id: str, body: str, mid: str | None = None) -> dict:
    return message(wa_id, {"type": "text", "text": {"body": body}}, mid=mid)


def pressed(wa_id: str, option_id: str, kind: str = "button_reply") -> dict:
    return message(
        wa_id, {"type": "interactive", "interactive": {"type": kind, kind: {"id": option_id}}}
    )


@dataclass
class WaRig:
    graph: FakeGraphApi
    adapter: WhatsApp
    url: str
    http: aiohttp.ClientSession

    async def post(self, payload: dict, signature: str | None = "sign") -> int:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            signature = sign(body)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with self.http.post(self.url, data=body, headers=headers) as resp:
            return resp.status

    async def say(self, wa_id: str, payload: dict) -> list[dict]:
        """Post a message; the replies it got (the webhook answers after replying)."""
        before = len(self.graph.to(wa_id))
        assert await self.post(payload) == 200
        return self.graph.to(wa_id)[before:]

    async def choose(self, wa_id: str, last: list[dict], title: str) -> list[dict]:
        """Press the option titled `title` (a reply button or a list row) of the last replies."""
        for reply in reversed(last):
            for option_title, option_id in options(reply):
                if option_title.startswith(title):
                    kind = (
                        "list_reply" if reply["interactive"]["type"] == "list" else "button_reply"
                    )
                    return await self.say(wa_id, pressed(wa_id, option_id, kind))
            for line in text_of(reply).splitlines():  # numbered text: type the number
                number, dot, option_title = line.partition(". ")
                if dot and number.isdigit() and option_title.startswith(title):
                    return await self.say(wa_id, text(wa_id, number))
        raise AssertionError(f"no option {title!r} in {[text_of(r) for r in last]}")


@contextlib.asynccontextmanager
async def whatsapp_rig(
    dialogs: DialogService, template: str = "priyom_reminder"
) -> AsyncIterator[WaRig]:
    async with FakeGraphApi() as graph, aiohttp.ClientSession() as http:
        adapter = WhatsApp(
            GraphClient(graph.base_url, PHONE_ID, TOKEN),
            dialogs.texts,
            dialogs.clock,
            app_secret=SECRET,
            verify_token=VERIFY,
            reminder_template=template,
            dialogs=dialogs,
        )
        async with serving_channel(adapter) as url:
            yield WaRig(graph, adapter, url + PATH, http)
