"""Dialogue reviews by the rules, stored once, with tips to the manager who talked (only).

The dialogues are written into the message log as a relay leaves them (tests/coach_data.py);
the timed work finds the finished ones, reviews them and queues the tips in one transaction.
"""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest

from bot.clock import FakeClock
from bot.coach.dialogue import finished_dialogues
from bot.coach.model_review import Reviewer
from bot.coach.models import DialogueReview
from bot.config import ConfigError, parse_config
from bot.i18n import Texts
from bot.models import AppointmentStatus, Conversation, Lead, LeadStatus, Outbox
from tests.builders import appointment
from tests.coach_data import (
    GOOD,
    MASHA_ID,
    PETYA_ID,
    PRICE_FIRST,
    START,
    add_managers,
    dialogue_lead,
)
from tests.conftest import ROOT
from workers.timed import TimedWork

T = Texts("ru")


def work(config, clock) -> TimedWork:
    return TimedWork(config, T, clock, frozenset({9001}))


async def test_a_lost_dialogue_is_reviewed_and_only_its_manager_gets_the_tips(db, config):
    await add_managers()
    lead = await dialogue_lead(1, PETYA_ID, PRICE_FIRST, LeadStatus.LOST)
    await appointment(
        START + dt.timedelta(days=2),
        AppointmentStatus.CANCELLED,
        START,
        lead=lead,
        price_kop=180_000,
    )
    clock = FakeClock(START + dt.timedelta(minutes=30))
    assert (await work(config, clock).run())["coach"] == 1
    review = await DialogueReview.get(lead_id=lead.id)
    assert review.manager_id == PETYA_ID and review.outcome == "lost" and not review.by_model
    assert review.price_before_need and review.tone == "negative"
    assert review.steps_done == ["slot"]
    assert review.steps_missed == ["greeting", "need", "close"]
    assert review.first_response_s == 12 * 60 and review.slowest_response_s == 12 * 60
    assert review.lost_check_kop == 180000
    tips = await Outbox.filter(kind="coach_tip")
    assert [t.chat_id for t in tips] == [str(PETYA_ID)]  # Петя's own chat, nobody else's
    text = tips[0].payload["text"]
    assert f"#{lead.id}" in text and "Сначала спросите, что нужно клиенту" in text
    assert "Отвечайте на первое сообщение быстрее" in text or "Приветствие" in text
    assert text.count("• ") == 2  # one or two tips, never more


async def test_each_dialogue_is_reviewed_once_however_often_the_scan_runs(db, config):
    await dialogue_lead(1, MASHA_ID, GOOD, LeadStatus.CAME)
    clock = FakeClock(START + dt.timedelta(minutes=30))
    assert (await work(config, clock).run())["coach"] == 1
    clock.advance(minutes=1)
    assert (await work(config, clock).run())["coach"] == 0  # another process, a restart
    assert await DialogueReview.all().count() == 1
    review = await DialogueReview.get()
    assert review.steps_missed == [] and not review.price_before_need
    assert review.score == 10 and review.tips == [] and review.tone == "positive"
    assert await Outbox.filter(kind="coach_tip").count() == 0  # nothing to advise


async def test_an_open_dialogue_waits_until_it_finishes(db, config):
    lead = await dialogue_lead(1, MASHA_ID, GOOD[:4], LeadStatus.QUALIFIED)
    await Conversation.filter(lead_id=lead.id).update(relay_staff_id=MASHA_ID)
    clock = FakeClock(START + dt.timedelta(hours=1))
    assert (await work(config, clock).run())["coach"] == 0  # still talking
    clock.advance(hours=config.coach.quiet_hours)  # silence ends it
    assert (await work(config, clock).run())["coach"] == 1
    assert (await DialogueReview.get()).outcome == "qualified"


async def test_a_booking_with_the_relay_closed_is_finished_at_once(db, config):
    await dialogue_lead(1, MASHA_ID, GOOD, LeadStatus.CONFIRMED)
    clock = FakeClock(START + dt.timedelta(minutes=10))
    assert (await work(config, clock).run())["coach"] == 1


async def test_the_bots_own_messages_are_not_the_managers(db, config):
    """The dialogue starts at the client's message that waited for the first answer."""
    await dialogue_lead(1, MASHA_ID, PRICE_FIRST, LeadStatus.LOST)
    [d] = await finished_dialogues(config, START + dt.timedelta(hours=1))
    assert [t.manager for t in d.turns] == [False, True, False, True, False]
    assert d.manager_id == MASHA_ID


# --- the same on PostgreSQL (migration 11 in its dialect) ---------------------------------

from tests.test_postgres import pg  # noqa: E402  (the fixture: a migrated schema)

__all__ = ["pg"]


async def test_reviews_on_postgresql(pg, config):
    """Migration 11's table on a real server: JSON lists, booleans, the unique lead."""
    await add_managers()
    lead = await dialogue_lead(1, PETYA_ID, PRICE_FIRST, LeadStatus.LOST)
    clock = FakeClock(START + dt.timedelta(minutes=30))
    assert (await work(config, clock).run())["coach"] == 1
    clock.advance(seconds=31)
    assert (await work(config, clock).run())["coach"] == 0  # stored once
    review = await DialogueReview.get(lead_id=lead.id)
    assert review.steps_missed == ["greeting", "need", "close"] and review.price_before_need
    assert await Outbox.filter(kind="coach_tip", chat_id=str(PETYA_ID)).count() == 1


def test_the_script_is_config_with_russian_defaults_and_clear_refusals(config):
    assert [s.title for s in config.coach.steps][:2] == ["Приветствие", "Выявление потребности"]
    data = tomllib.loads((ROOT / "examples" / "salon.toml").read_text(encoding="utf-8"))
    own = {"steps": [{"id": "greeting", "title": "Привет"}, {"id": "upsell", "title": "Допродажа"}]}
    assert parse_config({**data, "coach": own}).coach.step_ids == ("greeting", "upsell")
    twice = {"steps": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]}
    with pytest.raises(ConfigError, match=r"coach: .*an id is used twice"):
        parse_config({**data, "coach": twice})
    with pytest.raises(ConfigError, match=r"coach.steps\[0\].id"):
        parse_config({**data, "coach": {"steps": [{"id": "Bad id", "title": "x"}]}})


async def test_the_first_wait_counts_from_when_the_lead_began_waiting(db, config):
    """As /staff's first response: the hand-off (attention_at), not the bot's last word."""
    turns = [("M", "Здравствуйте! Какую стрижку хотите?", 9), ("C", "Каре", 10)]
    lead = await dialogue_lead(1, MASHA_ID, turns, LeadStatus.LOST)
    await Lead.filter(id=lead.id).update(attention_at=START + dt.timedelta(minutes=1))
    [d] = await finished_dialogues(config, START + dt.timedelta(hours=1))
    assert [t.manager for t in d.turns] == [True, False]  # the bot's words are not a turn
    review = await Reviewer(config, T).review(d)
    assert review.first_response_s == 8 * 60


async def test_a_removed_manager_is_reviewed_but_told_nothing(db, config):
    await add_managers(active=False)
    await dialogue_lead(1, PETYA_ID, PRICE_FIRST, LeadStatus.LOST)
    assert (await work(config, FakeClock(START + dt.timedelta(hours=1))).run())["coach"] == 1
    assert await DialogueReview.all().count() == 1
    assert await Outbox.filter(kind="coach_tip").count() == 0
