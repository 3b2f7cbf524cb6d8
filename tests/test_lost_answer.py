"""Found by the scale rig (bench/scale_bench.py --kill-bot-after): a Telegram step's direct
answer (sent after the commit; only the replies a state change caused go through the
outbox on Telegram) was lost when its instance died between the commit and the send. The
update's receipt is committed with the step, so Telegram's redelivery of the unacknowledged
update was taken for a duplicate and answered with nothing: the client never heard the next
question. Now a redelivery of the chat's last step puts the current question again (twice
at worst, never lost); anything older still gets nothing (bot.redeliveries)."""

from __future__ import annotations

from bot.dialogs import DialogService
from bot.models import Conversation, InboundMessage, MessageLog
from scenarios.state import DialogState, Step
from scenarios.types import Input, Reply
from tests.test_step_receipt import CHANNEL, begin


class Died(Exception):
    """The process is gone: nothing after the commit happens."""


class Dying(list):
    """The step's answer as it was about to leave when the process was killed."""

    async def __call__(self, replies: list[Reply]) -> None:
        self.extend(replies)
        raise Died


class Delivered(list):
    async def __call__(self, replies: list[Reply]) -> None:
        self.extend(replies)


async def died_after_commit(
    dialogs: DialogService, chat: str, press: str, receipt: str
) -> list[Reply]:
    lost = Dying()
    try:
        await dialogs.handle(CHANNEL, chat, Input.button(press), lost, receipt=receipt)
    except Died:
        return list(lost)
    raise AssertionError("the step sent nothing directly")


async def state_of(chat: str) -> DialogState:
    return DialogState.from_dict((await Conversation.get(channel=CHANNEL, chat_id=chat)).state)


async def test_a_step_whose_instance_died_before_answering_is_answered_on_redelivery(
    db, config, clock
):
    here, there = DialogService(config, clock), DialogService(config, clock)
    await begin(here, "c1")
    lost = await died_after_commit(here, "c1", "svc:brows", "c1:3")
    step = (await state_of("c1")).step
    logged = await MessageLog.filter(chat_id="c1").count()
    sent = Delivered()
    # Telegram got no 200: it delivers the update again, to the other instance
    replies = await there.handle(CHANNEL, "c1", Input.button("svc:brows"), sent, receipt="c1:3")
    assert sent and replies == list(sent), "the client never hears the next question"
    assert (await state_of("c1")).step == step  # put again, not applied again
    assert await MessageLog.filter(chat_id="c1").count() == logged
    assert await InboundMessage.filter(chat_id="c1").count() == 3
    assert (sent[-1].text, sent[-1].buttons) == (lost[-1].text, lost[-1].buttons)


async def test_a_redelivery_of_an_older_step_still_gets_nothing(db, config, clock):
    dialogs = DialogService(config, clock)
    await begin(dialogs, "c2")
    await dialogs.handle(CHANNEL, "c2", Input.button("svc:brows"), Delivered(), receipt="c2:3")
    await dialogs.handle(CHANNEL, "c2", Input.button("back"), Delivered(), receipt="c2:4")
    version = (await Conversation.get(chat_id="c2")).version
    sent = Delivered()
    press = Input.button("svc:brows")
    assert await dialogs.handle(CHANNEL, "c2", press, sent, receipt="c2:3") == []
    assert sent == [] and (await Conversation.get(chat_id="c2")).version == version


async def test_a_chat_talking_to_a_manager_is_not_asked_again(db, config, clock):
    dialogs = DialogService(config, clock)
    await begin(dialogs, "c3")
    await died_after_commit(dialogs, "c3", "svc:brows", "c3:3")
    await Conversation.filter(chat_id="c3").update(relay_staff_id=1)
    sent = Delivered()
    press = Input.button("svc:brows")
    assert await dialogs.handle(CHANNEL, "c3", press, sent, receipt="c3:3") == []
    assert sent == []


async def test_a_channel_answering_through_the_outbox_is_not_asked_again(db, config, clock):
    """Without `deliver` every answer is an outbox row of the step's commit: none is lost."""
    dialogs = DialogService(config, clock)
    await begin(dialogs, "c4")
    await dialogs.handle(CHANNEL, "c4", Input.button("svc:brows"), receipt="c4:3")
    assert await dialogs.handle(CHANNEL, "c4", Input.button("svc:brows"), receipt="c4:3") == []
    assert (await state_of("c4")).step is not Step.CONSENT
