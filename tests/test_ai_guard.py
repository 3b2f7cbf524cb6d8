"""Guardrails over a corpus (tests/data/ai_guard.toml): refusals, hand-offs, injections.

Medical and legal questions are refused by the rules before any model is asked. Injections
are run twice: on the rules alone, and with the fake model scripted to comply — what it
says must still be stopped by the validation.
"""

from __future__ import annotations

import re
import tomllib

import pytest

from scenarios.types import Guard
from tests.ai_helpers import AiChat, ai_client, ai_dialogs, make_assistant, texts_of
from tests.conftest import ROOT
from tests.fakes.openai_api import FakeOpenAI

CORPUS = tomllib.loads((ROOT / "tests" / "data" / "ai_guard.toml").read_text(encoding="utf-8"))
REFUSAL = {"medical": "не могу давать медицинские советы", "legal": "Юридических консультаций"}
SECRETS = ("Ты — помощник", "Факты бизнеса", "read_message", "[имя]")


def test_corpus_size():
    assert len(CORPUS["medical"]) >= 10 and len(CORPUS["legal"]) >= 5
    assert len(CORPUS["injection"]) >= 8


@pytest.mark.parametrize(
    ("kind", "text"),
    [(k, t) for k in ("medical", "legal") for t in CORPUS[k]],
)
async def test_medical_and_legal_refused_before_any_model(db, config, clock, kind, text):
    async with FakeOpenAI() as fake:
        fake.tool({"intent": "other", "answer": "Это грибок, мажьте кремом."})  # never asked
        chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
        replies = texts_of(await chat.say(text))
        assert fake.requests == []
    assert REFUSAL[kind] in replies
    assert "грибок" not in replies.replace(text, "")
    if kind == "medical":
        assert "консультацию" in replies  # the offer of a specialist's appointment
    assert config.business.phone in replies


@pytest.mark.parametrize("case", CORPUS["injection"], ids=lambda c: c["text"][:30])
async def test_injection_with_a_complying_model_changes_nothing(db, config, clock, case):
    async with FakeOpenAI() as fake:
        fake.tool(case["model"])
        chat = await AiChat(ai_dialogs(config, clock, ai_client(fake, config, clock))).consented()
        replies = texts_of(await chat.say(case["text"]))
        sent = fake.requests[0].text if fake.requests else ""
    for bad in case["forbidden"]:
        assert bad not in replies, bad
    for secret in SECRETS:
        assert secret not in replies
    assert not re.search(r"\+?7\s?927", sent)  # the client phones in the answer were never sent
    state = await chat.dialogs.conversation_state("telegram", 1)
    assert state.service_id in (None, *[s.id for s in config.services])
    assert state.name in (None, "Главный")  # only what the client wrote, never «Директор»


@pytest.mark.parametrize("case", CORPUS["injection"], ids=lambda c: c["text"][:30])
async def test_injection_on_rules_only(db, config, clock, case):
    chat = await AiChat(ai_dialogs(config, clock, None)).consented()
    replies = texts_of(await chat.say(case["text"]))
    for secret in (*SECRETS, *case["forbidden"]):
        assert secret not in replies


@pytest.mark.parametrize("text", CORPUS["medical"] + CORPUS["legal"])
async def test_guard_classifies_the_whole_corpus(config, clock, text):
    u = await make_assistant(config, None).understand(text, "service", clock.now())
    assert u.guard in (Guard.MEDICAL, Guard.LEGAL)
