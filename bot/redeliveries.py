"""What a redelivered client update gets (bot.dialogs): nothing is applied twice (the
step's receipt decides), but its answer may have been lost.

A channel delivers an update again when it got no acknowledgement: the process may have
died between the step's commit and the send of its direct answer (Telegram's plain steps
answer after the commit; the replies a change caused go through the outbox and are safe).
So a redelivery of the chat's last step puts the current question again: twice at worst,
never lost. An update whose answer this process sent (its acknowledgement was what got
lost), an older one, a chat talking to a manager, and a channel whose answers all go
through the outbox get nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot import dialog_store
from bot.models import Conversation
from scenarios import booking_flow
from scenarios.ports import Deps
from scenarios.state import DialogState
from scenarios.types import Reply

ANSWERS_KEPT = 10_000  # chats whose last sent answer this process remembers
Deliver = Callable[[Sequence[Reply]], Awaitable[None]]


class Redeliveries:
    def __init__(self) -> None:
        self._answered: dict[tuple[str, str], str] = {}  # chat → receipt whose answer left

    def answered(self, channel: str, chat_id: str, receipt: str) -> None:
        """The step's direct answer left (kept for the latest chats, a bounded memo)."""
        answered = self._answered
        answered.pop((channel, chat_id), None)
        answered[(channel, chat_id)] = receipt
        if len(answered) > ANSWERS_KEPT:
            del answered[next(iter(answered))]

    async def answer(
        self,
        channel: str,
        chat_id: str,
        receipt: str | None,
        deliver: Deliver | None,
        deps: Callable[[Conversation], Deps],
    ) -> list[Reply]:
        """The replies a redelivery gets, delivered (see the module's docstring)."""
        if deliver is None or receipt is None or self._answered.get((channel, chat_id)) == receipt:
            return []
        conv = await Conversation.get_or_none(channel=channel, chat_id=chat_id)
        if conv is None or conv.relay_staff_id is not None:
            return []
        if not await dialog_store.answered_last(conv, receipt):
            return []
        state = DialogState.from_dict(conv.state)
        try:
            asked = await booking_flow.ask_again(state, deps(conv))
        except LookupError:  # the config changed under the stored dialogue
            return []
        await deliver(asked.replies)
        return asked.replies
