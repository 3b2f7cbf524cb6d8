"""The rules reading of free text (scenarios/understanding.py) and typed add-on answers."""

from __future__ import annotations

import logging

import pytest

from bot.ai import guard
from scenarios.state import Step
from scenarios.understanding import extract_name, extract_phone, match_addons
from tests.ai_helpers import AiChat, ai_client, ai_dialogs, make_assistant, texts_of
from tests.conftest import ROOT
from tests.fakes.openai_api import FakeOpenAI
from tests.test_cli import run_cli


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("хочу маникюр, я Ольга", "Ольга"),
        ("меня зовут анна", "Анна"),
        ("Моё имя Светлана, запишите", "Светлана"),
        ("я хочу на маникюр", None),  # lower case after «я»: not a name
        ("это Дмитрий", "Дмитрий"),
        ("маникюр завтра", None),
    ],
)
def test_extract_name(text, name):
    assert extract_name(text) == name


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("маникюр, телефон 8 927 123-45-67", "+79271234567"),
        ("маникюр 28.11 в 13:00", None),
        ("перезвоните +7 (927) 123 45 67 вечером", "+79271234567"),
    ],
)
def test_extract_phone(text, phone):
    assert extract_phone(text) == phone


@pytest.mark.parametrize(
    ("text", "addons"),
    [
        ("маникюр с покрытием", ("gel",)),
        ("маникюр без покрытия", ()),
        ("маникюр, но у меня аллергия на гель-лак", ()),
        ("маникюр, дизайн не надо", ()),
        ("маникюр с дизайном и гель-лаком", ("gel", "design")),
        ("просто маникюр", ()),
    ],
)
def test_match_addons(config, text, addons):
    assert match_addons(text, config.service("manicure")) == addons


def test_mask():
    assert guard.mask("Ольга, 8 927 123-45-67, olga@mail.ru", ("Ольга",)) == (
        "[имя], [телефон], [email]"
    )


@pytest.mark.parametrize(
    ("typed", "addons"),
    [("с дизайном", ["design"]), ("без покрытия", []), ("нет, не надо", [])],
)
async def test_addon_typed_instead_of_pressed(db, config, clock, typed, addons):
    chat = await AiChat(ai_dialogs(config, clock, None)).consented()
    assert "Добавить к услуге" in texts_of(await chat.say("маникюр"))
    replies = texts_of(await chat.say(typed))
    state = await chat.dialogs.conversation_state("telegram", 1)
    assert (state.step, state.addon_ids) == (Step.TIME, addons)
    assert "Когда вам удобно" in replies


def test_check_reports_the_ai_settings(tmp_path):
    faq = str(ROOT / "examples" / "salon_faq.md")
    ok = run_cli(
        "check", tmp_path=tmp_path, AI_KNOWLEDGE_FILE=faq, OPENAI_API_KEY="", BOT_TOKEN="1:a"
    )
    assert ok.returncode == 0, ok.stderr
    assert "ai: model none (rules only), 11 FAQ entries" in ok.stdout  # 3 facts + 8 sections
    bad = run_cli("check", tmp_path=tmp_path, AI_KNOWLEDGE_FILE=str(tmp_path / "nope.md"))
    assert bad.returncode == 2 and "AI_KNOWLEDGE_FILE: cannot read" in bad.stderr
    headers = run_cli("check", tmp_path=tmp_path, OPENAI_EXTRA_HEADERS="no colon")
    assert headers.returncode == 2
    assert "OPENAI_EXTRA_HEADERS: 'no colon' is not «Header-Name: value»" in headers.stderr


async def test_each_call_is_logged_with_latency_and_tokens(db, config, clock, caplog):
    async with FakeOpenAI() as fake:
        fake.tool({"intent": "booking", "service_id": "manicure"})
        assistant = make_assistant(config, ai_client(fake, config, clock))
        with caplog.at_level(logging.INFO, logger="priyom.ai"):
            await assistant.understand("маникюр", "service", clock.now())
    (record,) = [r for r in caplog.records if r.getMessage() == "ai_call"]
    assert (record.purpose, record.prompt_tokens, record.completion_tokens) == (
        "understand",
        120,
        30,
    )
    assert record.outcome == "ok" and isinstance(record.ms, int)
