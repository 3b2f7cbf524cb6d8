"""A step that fails half-way (a database error after the scenario or the effects ran) leaves
the process's copy of the conversation as it was saved: the next step starts from the
committed state, not from what the failed step had already changed in memory."""

from __future__ import annotations

import pytest

from bot import dialog_store
from bot.clock import FakeClock
from bot.config import BusinessConfig
from bot.dialogs import DialogService
from bot.models import Appointment
from scenarios.state import DialogState, Step
from tests.dialog_chat import CHANNEL, Chat, reach


class DiskFull(Exception):
    pass


async def fail(*args, **kwargs):
    raise DiskFull


async def assert_cached_as_saved(dialogs: DialogService, chat: Chat) -> None:
    saved = await chat.conversation()
    cached = dialogs._cache.get((CHANNEL, str(chat.chat_id)))
    if cached is not None:
        assert DialogState.from_dict(cached.state) == DialogState.from_dict(saved.state)
        assert (cached.version, cached.lead_id, cached.client_id) == (
            saved.version,
            saved.lead_id,
            saved.client_id,
        )


async def test_a_failed_plain_step_leaves_the_cached_conversation_as_saved(
    db, config: BusinessConfig, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
):
    dialogs = DialogService(config, clock)
    chat = Chat(dialogs, 900)
    await reach(chat, Step.SERVICE)
    with monkeypatch.context() as patch:
        patch.setattr(dialog_store, "commit_alone", fail)
        with pytest.raises(DiskFull):
            await chat.press("svc:manicure")  # the scenario moved the state on, in memory
    await assert_cached_as_saved(dialogs, chat)
    await chat.press("svc:manicure")
    assert (await chat.state()).history == [Step.SERVICE]  # once, not twice


async def test_a_failed_booking_step_leaves_the_cached_conversation_as_saved(
    db, config: BusinessConfig, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
):
    dialogs = DialogService(config, clock)
    chat = Chat(dialogs, 901)
    await reach(chat, Step.SUMMARY)
    with monkeypatch.context() as patch:
        patch.setattr(dialog_store, "save_and_commit", fail)  # after the booking was written
        with pytest.raises(DiskFull):
            await chat.press("confirm")
    await assert_cached_as_saved(dialogs, chat)
    assert await Appointment.all().count() == 0  # the failed step's booking rolled back
    await chat.press("confirm")
    assert await Appointment.all().count() == 1
    assert (await chat.state()).step == Step.DONE
