"""Runs the client scenario against the database: load state, run, apply effects, save.

Messages of one chat are handled one after another: an in-process lock keeps a
process's own tasks in order, the chat's turn across processes is a database lock
(bot.chat_lock), and a version column on the conversation makes a step that read a
stale copy (this process's cache) retry on fresh state instead of overwriting it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot import chat_lock, db_sqlite, dialog_store, metrics, raw_sql
from bot.ai import intel as ai_intel
from bot.booking import versions
from bot.booking.booker import Booker
from bot.booking.catalog import effective_config
from bot.clock import Clock
from bot.config import BusinessConfig
from bot.delivery.outbox import Sender, deliver_now
from bot.delivery.step_outbox import StepResult, log_redelivery, queue_replies, seen
from bot.dialog_effects import DialogEffects
from bot.dialog_ports import ClientBookings, ClientDeposits
from bot.dialog_store import LogRow, Redelivered
from bot.i18n import Texts
from bot.models import Appointment, Conversation
from bot.payments.holds import Checkout
from bot.redeliveries import Deliver, Redeliveries
from scenarios import booking_flow
from scenarios.ports import Deps, Understander
from scenarios.state import DialogState, Step
from scenarios.types import (
    Book,
    Input,
    InputKind,
    Outcome,
    Reply,
)

log = logging.getLogger("priyom.dialog")
RELAYED = (InputKind.TEXT, InputKind.MEDIA, InputKind.CONTACT)
# Steps whose free text goes to the understander: not the consent (no consent yet, so
# nothing may leave the bot), not a phone or a name (not needed by a model).
UNDERSTOOD_STEPS = (Step.SERVICE, Step.ADDON, Step.TIME, Step.PICK_DAY, Step.SLOT, Step.SUMMARY)
UNDERSTOOD_STEPS += (Step.DONE,)
MAX_FEEDBACK_ROUNDS = 4
MAX_VERSION_RETRIES = 5
CACHE_SIZE = 10_000


class _StaleState(Exception):
    """Another process saved this conversation first; run the step again."""


class DialogService:
    def __init__(
        self,
        config: BusinessConfig,
        clock: Clock,
        texts: Texts | None = None,
        owner_ids: frozenset[int] = frozenset(),
        understander: Understander | None = None,
        checkout: Checkout | None = None,
    ) -> None:
        self.config = self.toml_config = config  # `config`: with the owner's catalog changes
        self.understander = understander
        self.clock = clock
        self.texts = texts or Texts(config.business.locale)
        self.owner_ids = owner_ids | frozenset(config.business.owners)
        self.booker = Booker(config, clock)
        self.checkout = checkout or Checkout()
        self._catalog_version: int | None = None  # of the catalog in self.config
        self._cache: OrderedDict[tuple[str, str], Conversation] = OrderedDict()
        self.effects = DialogEffects(
            config,
            self.texts,
            self.owner_ids,
            self.booker,
            self.checkout,
            lambda key: self._cache.pop(key, None),
        )
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._redeliveries = Redeliveries()

    def _lock(self, channel: str, chat_id: str) -> asyncio.Lock:
        key = (channel, chat_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def handle(
        self,
        channel: str,
        chat_id: str | int,
        inp: Input,
        deliver: Deliver | None = None,
        *,
        receipt: str | None = None,
        sender: Sender | None = None,
    ) -> list[Reply]:
        """One inbound message → the replies, with all its changes committed.

        `receipt` (a webhook's message id, a Telegram update's id) is committed with the
        step: a redelivery of a processed message changes nothing and gets no replies
        (but the current question, when its answer may have been lost: bot.redeliveries). The
        insert in the commit decides; a step with effects looks first (they are dear to
        redo for nothing), a plain one does not (its commit stays one round trip). With a
        `sender`, the replies a state change caused (a booking's confirmation) — and,
        without `deliver`, all of them — go through the outbox, written in the step's
        transaction and sent by `sender` right after the commit. `deliver` sends the rest.
        Both run while this chat is still locked, so the answers to two quick messages
        keep their order. Its SQLite calls run in the loop's thread (bot.db_sqlite).
        """
        token = db_sqlite.inline_calls()
        try:
            return await self._handle(channel, str(chat_id), inp, deliver, receipt, sender)
        finally:
            db_sqlite.thread_calls(token)

    async def _handle(
        self,
        channel: str,
        chat_id: str,
        inp: Input,
        deliver: Deliver | None,
        receipt: str | None,
        sender: Sender | None,
    ) -> list[Reply]:
        lock = self._lock(channel, chat_id)
        turn = chat_lock.chat_turn(channel, chat_id, self._saved(channel, chat_id))
        async with metrics.handling(channel), lock, turn:  # turn: across processes
            queue_all = sender is not None and deliver is None
            for _ in range(MAX_VERSION_RETRIES):
                try:
                    snapshot = versions.enter(await self._read_versions())
                    try:
                        step = await self._handle_once(
                            channel, chat_id, inp, receipt, sender is not None, queue_all
                        )
                    finally:
                        versions.leave(snapshot)
                    break
                except _StaleState:
                    self.booker.forget_cached()  # it may hold what the rollback undid
                    continue
                except Redelivered:  # applied before, here or by another process
                    self._cache.pop((channel, chat_id), None)  # the step changed our copy
                    self.booker.forget_cached()
                    log_redelivery(channel, receipt or "")
                    return await self._redeliveries.answer(
                        channel, chat_id, receipt, deliver, self._deps_now
                    )
                except BaseException:
                    # The step may have changed the cached copy in memory (its state shares
                    # the copy's lists) before it failed: the next step reads the saved row.
                    self._cache.pop((channel, chat_id), None)
                    self.booker.forget_cached()
                    raise
            else:
                raise RuntimeError(f"conversation {channel}:{chat_id} kept changing under us")
            if deliver is not None:
                await deliver(step.direct)
                if receipt is not None:
                    self._redeliveries.answered(channel, chat_id, receipt)
            if sender is not None and step.queued:
                await deliver_now(step.queued, sender, self.clock)
            return step.replies

    def _saved(self, channel: str, chat_id: str) -> Callable[[Mapping[str, Any] | None], None]:
        """Takes the conversation as saved when the turn began (PostgreSQL reads it with the
        lock) in place of this process's copy, if another process has saved since."""

        def keep(row: Mapping[str, Any] | None) -> None:
            cached = self._cache.get((channel, chat_id))
            if row is None:
                self._cache.pop((channel, chat_id), None)
            elif cached is None or cached.version != row["version"]:
                self._keep(Conversation._init_from_db(**row))

        return keep

    async def _read_versions(self) -> versions.Versions:
        """The step's snapshot of the cache counters (one query), and the services as offered
        now (bot.booking.catalog), re-read only when the owner changed them: at once."""
        snapshot = await versions.read()
        catalog = snapshot.get(versions.CATALOG, 0)
        if self._catalog_version is None or catalog > self._catalog_version:
            self.config = await effective_config(self.toml_config, True)
            self.booker.config = self.effects.config = self.config
            if self.understander is not None:
                self.understander.follow(self.config)
            self._catalog_version = catalog
        return snapshot

    async def _handle_once(
        self,
        channel: str,
        chat_id: str,
        inp: Input,
        receipt: str | None = None,
        queue_caused: bool = False,
        queue_all: bool = False,
    ) -> StepResult:
        now = self.clock.now()
        conv = await self._conversation(channel, chat_id, now)
        version = conv.version
        state = DialogState.from_dict(conv.state)
        logs = [LogRow.of(conv, "in", "client", inp.kind.value, _inbound_text(inp), now)]
        relay = conv.relay_staff_id is not None and inp.kind in RELAYED
        if not relay:
            inp = await self._understand(state, inp, now)
        # The scenario only reads, so it runs outside the write transaction: on SQLite
        # that transaction serialises every chat, and it must stay short.
        decided = None if relay else await self._decide(conv, state, inp, now)
        if decided is not None and decided.effects:
            decided = await self._refused_booking(conv, state, decided, now)
        intel = None if decided is None else self._intel(state, inp)
        if decided is not None and self._alone(decided, queue_all, state, intel):
            replies, split, queued = list(decided.replies), len(decided.replies), []
            logs += self._reply_logs(conv, logs, replies, now)
            saved = state.to_dict()
            if not await dialog_store.commit_alone(conv, version, saved, now, logs, receipt):
                raise self._stale(channel, chat_id)
        else:
            if receipt is not None and await seen(channel, receipt):
                raise Redelivered  # known before the effects run: they are dear to redo
            async with in_transaction():
                if decided is None:
                    await self.effects.relay_to_staff(conv, inp, now)
                    replies, caused = [], 0
                else:
                    replies, caused = await self._apply_step(conv, state, decided, intel, now)
                split = _first_queued(len(replies), caused, queue_caused, queue_all)
                try:
                    queued = await queue_replies(conv, replies[split:], now, chat_id)
                except IntegrityError:  # this version's replies exist: another process won
                    raise self._stale(channel, chat_id) from None
                logs += self._reply_logs(conv, logs, replies, now)
                saved = state.to_dict()
                committed = await dialog_store.save_and_commit(
                    conv, version, saved, now, logs, receipt
                )
                if not committed:
                    raise self._stale(channel, chat_id)  # and every change rolls back
        self._remember(conv, saved, version + 1, now)
        if log.isEnabledFor(logging.INFO):  # the record's fields cost a dict per step
            log.info(
                "step",
                extra={
                    "channel": channel,
                    "chat": chat_id,
                    "step": state.step,
                    "lead": conv.lead_id,
                    "input": inp.kind.value,
                },
            )
        return StepResult(replies, replies[:split], queued)

    async def _refused_booking(
        self, conv: Conversation, state: DialogState, decided: Outcome, now: dt.datetime
    ) -> Outcome:
        """A step ending in a booking the snapshot refuses (the slot went to someone else a
        moment ago: most confirms under load) hears «slot_taken» before it writes: a repeat
        confirm then writes nothing but itself (no write transaction, no outbox rows)."""
        match decided.effects:
            case [*before, Book(replaces=None) as book] if not await self.effects.bookable(book):
                taken = self.effects.slot_taken(conv, book)
            case _:
                return decided
        step = await booking_flow.handle(state, taken, self._deps(conv, now, {}))
        return Outcome(list(decided.replies) + step.replies, [*before, *step.effects])

    def _stale(self, channel: str, chat_id: str) -> _StaleState:
        """Another process saved this conversation first: forget our copy, run again."""
        self._cache.pop((channel, chat_id), None)
        return _StaleState()

    async def _apply_step(
        self,
        conv: Conversation,
        state: DialogState,
        decided: Outcome,
        intel: list[str] | None,
        now: dt.datetime,
    ) -> tuple[list[Reply], int]:
        """The step's effects with the lead's intel, in the step's transaction."""
        await self._save_intel(conv.lead_id, state, intel)
        lead_before = conv.lead_id
        replies, caused = await self._apply_outcome(conv, state, decided, now)
        if conv.lead_id != lead_before:  # the step opened the lead
            await self._save_intel(conv.lead_id, state, intel)
        return replies, caused

    def _alone(
        self,
        decided: Outcome,
        queue_all: bool,
        state: DialogState,
        intel: list[str] | None,
    ) -> bool:
        """Whether the step writes nothing but its log rows, its receipt and the conversation."""
        unchanged_intel = intel is None or intel == state.intel
        return not decided.effects and not queue_all and unchanged_intel

    def _reply_logs(
        self, conv: Conversation, logs: list[LogRow], replies: list[Reply], now: dt.datetime
    ) -> list[LogRow]:
        """The replies' log rows; an erased (or never consenting) chat keeps no text at all."""
        if conv.client_id is None:
            logs[0].text, logs[0].chat_id = None, conv.chat_id  # erased: its pseudonym
        return [LogRow.of(conv, "out", "bot", "text", r.text, now) for r in replies]

    async def _understand(self, state: DialogState, inp: Input, now: dt.datetime) -> Input:
        """Free text read by the understander (maybe a model) before the scenario and
        outside any transaction; only after consent and only at steps that need it."""
        if (
            self.understander is None
            or inp.kind is not InputKind.TEXT
            or inp.understood is not None
            or not state.consented
            or state.step not in UNDERSTOOD_STEPS
        ):
            return inp
        local = now.astimezone(self.config.tz)
        understood = await self.understander.understand(inp.text, state.step, local)
        return dataclasses.replace(inp, understood=understood)

    def _intel(self, state: DialogState, inp: Input) -> list[str] | None:
        """The lead's intent, warmth and summary after this step (None: nothing to judge)."""
        if self.understander is None or inp.kind not in (InputKind.TEXT, InputKind.BUTTON):
            return None
        return ai_intel.lead_intel(state, inp.understood, self.config, self.texts)

    async def _save_intel(
        self, lead_id: int | None, state: DialogState, intel: list[str] | None
    ) -> None:
        if lead_id is None or intel is None or intel == state.intel:
            return
        await ai_intel.save(lead_id, intel)
        state.intel = intel

    async def _conversation(self, channel: str, chat_id: str, now: dt.datetime) -> Conversation:
        """The chat's conversation, from this process's cache when it has it.

        A cached copy may be stale (another process, or staff opening a relay, bumped
        the version): the versioned save then fails and the step reruns on fresh state.
        """
        cached = self._cache.get((channel, chat_id))
        if cached is not None:
            self._cache.move_to_end((channel, chat_id))
            return cached
        # Prepared SQL read as committed (no hand-off on SQLite): no transaction is open,
        # and a new chat (every client's first message) costs no queryset.
        conv = await raw_sql.get_committed(Conversation, channel=channel, chat_id=chat_id)
        if conv is not None:
            return conv
        conv = Conversation(channel=channel, chat_id=chat_id, updated_at=now, state={})
        try:
            await raw_sql.insert(conv)
        except IntegrityError:  # another process created it a moment ago
            return await Conversation.get(channel=channel, chat_id=chat_id)
        return conv

    def _remember(self, conv: Conversation, saved: dict, version: int, now: dt.datetime) -> None:
        """The conversation as just committed (`saved`: the state written), for the next step.
        Plain columns set straight in the instance: tortoise's `__setattr__` looks for
        relations and pending async defaults (a Conversation has none) on each."""
        if getattr(conv, "_await_when_save", None):
            conv.state, conv.version, conv.updated_at = saved, version, now
        else:
            vars(conv).update(state=saved, version=version, updated_at=now)
        self._keep(conv)

    def _keep(self, conv: Conversation) -> None:
        self._cache[(conv.channel, conv.chat_id)] = conv
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def _deps_now(self, conv: Conversation) -> Deps:
        return self._deps(conv, self.clock.now())

    def _deps(
        self, conv: Conversation, now: dt.datetime, booked: dict[int, Appointment] | None = None
    ) -> Deps:
        bookings = ClientBookings(conv.client_id, now, booked)
        deposits = None
        if self.checkout.provider(conv.channel) is not None:
            deposits = ClientDeposits(self.config, conv.client_id)
        return Deps(self.config, self.texts, self.clock, self.booker, bookings, deposits)

    async def _decide(
        self, conv: Conversation, state: DialogState, inp: Input, now: dt.datetime
    ) -> Outcome:
        deps = self._deps(conv, now)
        try:
            return await booking_flow.handle(state, inp, deps)
        except LookupError:  # the config changed under a stored dialogue: start afresh
            log.warning("stale_state_reset", extra={"chat": conv.chat_id})
            state.reset_booking()
            return await booking_flow.handle(state, Input.command("start"), deps)

    async def _apply_outcome(
        self, conv: Conversation, state: DialogState, outcome: Outcome, now: dt.datetime
    ) -> tuple[list[Reply], int]:
        """Apply the effects; feed their results back to the scenario until it settles.

        Returns the replies and how many of the last ones the effects' results caused."""
        replies = list(outcome.replies)
        direct = len(replies)
        booked: dict[int, Appointment] = {}  # this step's own visits, as it wrote them
        for _ in range(MAX_FEEDBACK_ROUNDS):
            feedback = [await self.effects.apply(conv, e, now, booked) for e in outcome.effects]
            events = [f for f in feedback if f is not None]
            if not events:
                break
            outcome = Outcome()
            for event in events:
                step = await booking_flow.handle(state, event, self._deps(conv, now, booked))
                outcome.replies += step.replies
                outcome.effects += step.effects
            replies += outcome.replies
        return replies, len(replies) - direct

    async def conversation_state(self, channel: str, chat_id: str | int) -> DialogState | None:
        conv = await Conversation.get_or_none(channel=channel, chat_id=str(chat_id))
        return DialogState.from_dict(conv.state) if conv else None


def _first_queued(count: int, caused: int, queue_caused: bool, queue_all: bool) -> int:
    """Where the step's replies start going through the outbox (count: none do)."""
    if queue_all:
        return 0
    return count - caused if queue_caused else count


def _inbound_text(inp: Input) -> str:
    if inp.kind is InputKind.COMMAND:
        return f"/{inp.text} {inp.arg}".strip()
    if inp.kind is InputKind.CONTACT:
        return inp.phone
    return inp.text
