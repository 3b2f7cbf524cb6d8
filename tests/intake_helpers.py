"""The intake adapters (forms, telephony) served on a local port, as bot/app.py mounts them,
and the requests Tilda, a website, Zadarma and Mango Office send."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator

from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.settings import load_settings
from bot.staffwork.intake import Intake
from handlers.forms import Forms
from handlers.telephony import Telephony, zadarma_signature
from tests.fakes.local_server import serving
from tests.staff_fixtures import OWNER

TILDA_KEY, ZADARMA_SECRET, MANGO_KEY, MANGO_SALT = "tilda-key", "zd-secret", "mango-key", "salt"
SITE = "https://salon.example"
VIRTUAL = "74951112233"  # a virtual number tracked as the «avito» campaign


UIS_TOKEN = "uis-token-0123456789abcdef"


def intake_settings(**overrides):
    values = dict(
        forms_tilda_api_key=TILDA_KEY,
        forms_enabled=True,
        forms_allowed_origins=SITE,
        forms_policy_version="2026-10",
        zadarma_secret=ZADARMA_SECRET,
        mango_api_key=MANGO_KEY,
        mango_api_salt=MANGO_SALT,
        uis_token=UIS_TOKEN,
        call_sources=f"+{VIRTUAL}=avito",
    )
    return load_settings(**(values | overrides))


@contextlib.asynccontextmanager
async def serving_intakes(config: BusinessConfig, clock, **overrides) -> AsyncIterator[str]:
    settings = intake_settings(**overrides)
    intake = Intake(config, clock, Texts("ru"), frozenset({OWNER.id}))
    forms, calls = Forms(settings, intake, clock), Telephony(settings, intake)

    def register(app) -> None:
        forms.register(app)
        calls.register(app)

    async with serving(register) as url:
        yield url


def zadarma_end(call_id: str, caller: str = "79271234567", disposition: str = "no answer"):
    """A NOTIFY_END form and its Signature header, as Zadarma posts them."""
    fields = {
        "event": "NOTIFY_END",
        "call_start": "2026-11-23 10:05:00",
        "pbx_call_id": call_id,
        "caller_id": caller,
        "called_did": "78462000000",
        "internal": "",
        "duration": "0",
        "disposition": disposition,
        "status_code": "16",
        "is_recorded": "0",
        "call_id_with_rec": "",
    }
    return fields, {"Signature": zadarma_signature(ZADARMA_SECRET, fields)}


def mango_summary(entry_id: str, caller: str = "79271234567", result: int = 0, direction=1):
    body = json.dumps(
        {
            "entry_id": entry_id,
            "call_direction": direction,
            "from": {"number": caller},
            "to": {"number": VIRTUAL, "line_number": VIRTUAL},
            "create_time": 1763888700,
            "forward_time": 0,
            "talk_time": 0,
            "end_time": 1763888730,
            "entry_result": result,
            "disconnect_reason": 1110,
        }
    )
    sign = hashlib.sha256((MANGO_KEY + body + MANGO_SALT).encode()).hexdigest()
    return {"vpbx_api_key": MANGO_KEY, "sign": sign, "json": body}
