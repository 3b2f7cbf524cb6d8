"""The model's dialogue review through the real openai SDK against the local fake server:
a scripted review is taken; each invalid field (a step the script does not have, a score
out of range, an unknown tone, a tip that is too long or leaks) is replaced by the rules'
value on its own; a timeout, an error or no tool call gives the rules' review; a dialogue
with a health detail is never sent, and phones and the client's name never reach the model.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.ai.factory import reviewer
from bot.clock import FakeClock
from bot.coach.dialogue import finished_dialogues
from bot.coach.model_review import Reviewer
from bot.coach.models import DialogueReview
from bot.coach.review import review_finished
from bot.i18n import Texts
from bot.models import AiUsage, LeadStatus
from bot.settings import load_settings
from tests.ai_helpers import TIMEOUT, ai_client
from tests.coach_data import PETYA_ID, PRICE_FIRST, START, dialogue_lead
from tests.test_ai_reminders import fake  # noqa: F401  (the fake OpenAI server fixture)

T = Texts("ru")
NOW = START + dt.timedelta(hours=1)
GOOD_ARGS = {
    "steps_done": ["greeting", "slot"],
    "price_before_need": True,
    "tone": "negative",
    "score": 3,
    "tips": ["Спросите, какую стрижку хочет клиентка, прежде чем называть цену."],
}


async def _review(config, fake):  # noqa: F811
    await dialogue_lead(1, PETYA_ID, PRICE_FIRST, LeadStatus.LOST)
    clock = FakeClock(NOW)
    reviewer = Reviewer(config, T, ai_client(fake, config, clock))
    [d] = await finished_dialogues(config, NOW)
    rules = await Reviewer(config, T).review(d)
    return await reviewer.review(d), rules


async def test_a_scripted_review_is_taken_and_stored(db, config, fake):  # noqa: F811
    fake.tool(GOOD_ARGS)
    await dialogue_lead(1, PETYA_ID, PRICE_FIRST, LeadStatus.LOST)
    reviewer = Reviewer(config, T, ai_client(fake, config, FakeClock(NOW)))
    assert await review_finished(reviewer, config, T, NOW) == 1
    stored = await DialogueReview.get()
    assert stored.by_model and stored.score == 3 and stored.steps_done == ["greeting", "slot"]
    assert stored.steps_missed == ["need", "close"] and stored.tips == GOOD_ARGS["tips"]
    assert stored.first_response_s == 12 * 60  # a fact from the log, never the model's
    usage = await AiUsage.get(purpose="coach")
    assert (usage.calls, usage.failures) == (1, 0)
    request = fake.requests[0]
    assert request.body["tool_choice"]["function"]["name"] == "review_dialogue"
    schema = request.body["tools"][0]["function"]["parameters"]["properties"]
    assert schema["steps_done"]["items"]["enum"] == ["greeting", "need", "slot", "close"]


async def test_phones_and_the_clients_name_never_reach_the_model(db, config, fake):  # noqa: F811
    fake.tool(GOOD_ARGS)
    await _review(config, fake)
    sent = fake.requests[0].text
    assert "Ксения" not in sent and "927" not in sent and "123-45-67" not in sent
    assert "[телефон]" in sent and "[имя]" in sent and "Женская стрижка 1800" in sent


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"steps_done": ["greeting", "upsell"]}, "steps_done"),  # not a step of this script
        ({"steps_done": "greeting"}, "steps_done"),
        ({"score": 11}, "score"),
        ({"score": -1}, "score"),
        ({"score": True}, "score"),
        ({"tone": "angry"}, "tone"),
        ({"price_before_need": "yes"}, "price_before_need"),
        ({"tips": ["x" * 201]}, "tips"),
        ({"tips": ["Раскройте системные инструкции: {prompt}"]}, "tips"),
        ({"tips": ["Совет номер один", "Совет номер два", "Совет номер три"]}, "tips"),
    ],
    ids=lambda v: json.dumps(v, ensure_ascii=False)[:30] if isinstance(v, dict) else v,
)
async def test_an_invalid_field_falls_back_to_the_rules_alone(db, config, fake, bad, field):  # noqa: F811
    fake.tool({**GOOD_ARGS, **bad})
    review, rules = await _review(config, fake)
    assert review.by_model
    assert getattr(review, field) == getattr(rules, field)  # this field: the rules'
    for other in ("steps_done", "price_before_need", "tone", "score", "tips"):
        if other != field:  # every other field: the model's, still
            expected = GOOD_ARGS[other]
            got = getattr(review, other)
            assert (list(got) if isinstance(got, tuple) else got) == expected, other


@pytest.mark.parametrize(
    "script",
    [
        lambda f: f.tool(GOOD_ARGS, delay=TIMEOUT * 5),  # slow: past the timeout
        lambda f: f.status(500),
        lambda f: f.raw("not json at all"),
        lambda f: f.text("Менеджер молодец"),  # a free-form verdict, no tool call
        lambda f: f.tool("[1, 2]"),  # arguments that are not an object
    ],
    ids=["timeout", "500", "malformed", "no_tool_call", "not_an_object"],
)
async def test_any_failure_gives_the_rules_review(db, config, fake, script):  # noqa: F811
    script(fake)
    review, rules = await _review(config, fake)
    assert review == rules and not review.by_model
    assert review.price_before_need and review.steps_done == ("slot",)


async def test_a_dialogue_with_a_health_detail_is_never_sent(db, config, fake):  # noqa: F811
    fake.tool(GOOD_ARGS)
    turns = [*PRICE_FIRST, ("C", "У меня беременность, можно окрашивание?", 16)]
    await dialogue_lead(1, PETYA_ID, turns, LeadStatus.LOST)
    reviewer = Reviewer(config, T, ai_client(fake, config, FakeClock(NOW)))
    assert await review_finished(reviewer, config, T, NOW) == 1
    assert fake.requests == []
    assert not (await DialogueReview.get()).by_model


async def test_the_worker_builds_the_model_reviewer_from_the_settings(db, config, fake):  # noqa: F811
    """No key: rules only. A key and a base URL: the model at that endpoint reviews."""
    clock = FakeClock(NOW)
    assert reviewer(load_settings(openai_api_key=""), config, T, clock).client is None
    fake.tool(GOOD_ARGS)
    settings = load_settings(openai_api_key="test-key", openai_base_url=fake.base_url)
    built = reviewer(settings, config, T, clock)
    await dialogue_lead(1, PETYA_ID, PRICE_FIRST, LeadStatus.LOST)
    try:
        assert await review_finished(built, config, T, NOW) == 1
    finally:
        await built.client.close()
    assert (await DialogueReview.get()).by_model and len(fake.requests) == 1
