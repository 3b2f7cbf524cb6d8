"""Staff and roles: invites, /team, removal, refusals — the real aiogram bot over HTTP."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re

import pytest
from aiogram import Dispatcher

from admin_bot.access import refusal_router
from admin_bot.context import StaffContext
from admin_bot.team import RemoveStaff, team_router
from bot.models import Conversation, Invite, Lead, StaffMember, StaffRefusal, StaffRole
from bot.staffwork.staff import (
    InviteError,
    create_invite,
    find_master,
    redeem_invite,
    refuse_once,
    remove_member,
    role_of,
)
from tests.fakes.bot_api import FakeBotApi, FakeUser
from tests.flows import has
from tests.staff_fixtures import polling

TOKEN = "654321:staff"
ENV_OWNER, CFG_OWNER = FakeUser(9001, "Ирина"), FakeUser(9002, "Олег")
MARIA = FakeUser(7001, "Мария", last_name="Кузнецова")
ANYA = FakeUser(7101, "Аня", last_name="Смирнова")
PAVEL = FakeUser(7201, "Павел")  # a manager the owner already removed
STRANGER = FakeUser(666, "Незнакомец")
STAFF_NAMES = ("Мария", "Кузнецова", "Аня", "Смирнова", "Павел", "Ирина", "Олег")
TOKEN_RE = re.compile(r"https://t\.me/bot654321\?start=([A-Za-z0-9_-]{1,64})")
TTL = dt.timedelta(hours=72)


class Staff:
    """The staff bot polling the fake, with helpers for the steps every test repeats."""

    def __init__(self, api: FakeBotApi, ctx: StaffContext) -> None:
        self.api, self.ctx = api, ctx

    async def say(self, user: FakeUser, text: str, expect: str | None = None) -> dict | None:
        head, _, args = text.partition(" ")
        if head.startswith("/"):
            self.api.send_command(TOKEN, user, head, args or None)
        else:
            self.api.send_text(TOKEN, user, text)
        if expect is None:
            return None
        return await self.api.wait_for_message(TOKEN, user.id, has(expect))

    async def invite(self, args: str, owner: FakeUser = ENV_OWNER) -> str:
        reply = await self.say(owner, f"/invite {args}", "t.me/")
        match = TOKEN_RE.search(reply["text"])
        assert match, reply["text"]
        return match.group(1)

    async def settle(self) -> None:
        """Updates are handled in order: once an owner's /help is answered, all before it are."""
        await self.say(ENV_OWNER, "/help", "Вы владелец")

    def texts_to(self, user: FakeUser) -> list[str]:
        return [m.get("text") or "" for m in self.api.sent(TOKEN, user.id)]


@pytest.fixture
async def staff(db, config, clock):
    business = config.business.model_copy(update={"owners": [CFG_OWNER.id]})
    config = config.model_copy(update={"business": business})
    ctx = StaffContext.create(config, clock, env_owner_ids=[ENV_OWNER.id])
    dispatcher = Dispatcher()
    dispatcher["staff"] = ctx
    dispatcher.include_routers(team_router(), refusal_router())
    async with FakeBotApi() as api, polling(api, TOKEN, dispatcher):
        yield Staff(api, ctx)


async def add_member(
    user: FakeUser, role: StaffRole, now: dt.datetime, master: str | None = None
) -> StaffMember:
    return await StaffMember.create(
        telegram_id=user.id, role=role, master_id=master, name=user.first_name, created_at=now
    )


async def db_state() -> tuple[list[dict], list[dict]]:
    members = await StaffMember.all().order_by("id").values()
    invites = await Invite.all().order_by("id").values()
    return members, invites


SCHEDULE = ["book", "block", "dayoff", "sick", "vacation", "shift", "overrides"]  # i13


def commands_for(api: FakeBotApi, chat_id: int) -> list[str]:
    """The commands of the last setMyCommands for this chat's scope."""
    calls = [
        c
        for c in api.calls(TOKEN, "setMyCommands")
        if c.params.get("scope") == {"type": "chat", "chat_id": chat_id}
    ]
    assert calls, f"no setMyCommands for chat {chat_id}"
    return [c["command"] for c in calls[-1].params["commands"]]


# --- end to end ------------------------------------------------------------------------------


async def test_owners_from_the_environment_and_the_config(staff: Staff):
    for owner in (ENV_OWNER, CFG_OWNER):
        reply = await staff.say(owner, "/help", "Вы владелец")
        assert "/invite" in reply["text"] and "/team" in reply["text"]
        await staff.say(owner, "/start", "Вы владелец")
    default = await staff.api.wait_for_call(
        TOKEN, "setMyCommands", lambda c: c.params.get("scope") == {"type": "default"}
    )
    assert [c["command"] for c in default.params["commands"]] == ["start", "help"]
    for owner in (ENV_OWNER, CFG_OWNER):
        assert commands_for(staff.api, owner.id) == [
            "invite",
            "team",
            "leads",
            "today",
            "kpi",
            "staff",
            "sources",
            "funnel",
            "lost",
            "ai",
            "coach",  # help_extra.coach (ru.coach.toml)
            "forget",
            "spend",
            "payroll",
            "roi",
            "roi_setup",
            "export",
            "deposits",
            "week",
            "services",
            *SCHEDULE,
            "calls",
            "help",
        ]


async def test_invites_join_once_with_role_help_and_menus(staff: Staff):
    manager_token = await staff.invite("manager")
    master_token = await staff.invite("master анна", owner=CFG_OWNER)
    assert len(manager_token) <= 32 and manager_token != master_token

    welcome = await staff.say(MARIA, f"/start {manager_token}", "Добро пожаловать")
    assert "менеджер" in welcome["text"] and "/leads" in welcome["text"]
    assert "/invite" not in welcome["text"]
    welcome = await staff.say(ANYA, f"/start {master_token}", "Добро пожаловать")
    assert "мастер (Анна)" in welcome["text"] and "/today" in welcome["text"]
    assert "/leads" not in welcome["text"]

    maria = await StaffMember.get(telegram_id=MARIA.id)
    anya = await StaffMember.get(telegram_id=ANYA.id)
    assert (maria.role, maria.master_id, maria.name) == ("manager", None, "Мария Кузнецова")
    assert (anya.role, anya.master_id) == ("master", "anna")

    await staff.say(STRANGER, f"/start {manager_token}", "уже использована")
    await staff.settle()
    assert await role_of(STRANGER.id, staff.ctx.owner_ids) is None
    assert await StaffMember.all().count() == 2
    await staff.say(STRANGER, "можно мне?")
    await staff.settle()
    assert len(staff.texts_to(STRANGER)) == 1  # the invite refusal was their one «no»

    assert commands_for(staff.api, MARIA.id) == [
        "leads",
        "lead",
        "today",
        "close",
        "kpi",
        "staff",
        "sources",
        "funnel",
        "lost",
        "payroll",
        "week",
        *SCHEDULE,
        "calls",
        "help",
    ]
    assert commands_for(staff.api, ANYA.id) == [
        "today",
        "staff",
        "week",
        "calendar",
        *SCHEDULE,
        "help",
    ]
    for user, role in ((MARIA, "менеджер"), (ANYA, "мастер")):
        assert f"Вы {role}" in (await staff.say(user, "/help", "Команды"))["text"]


async def test_an_expired_or_unknown_invite_is_refused(staff: Staff, clock):
    token = await staff.invite("master olga")
    clock.advance(hours=staff.ctx.invite_ttl_hours, seconds=1)
    await staff.say(MARIA, f"/start {token}", "Срок действия")
    await staff.say(ANYA, "/start not-a-real-token", "недействительна")
    await staff.settle()
    assert await StaffMember.all().count() == 0
    assert (await Invite.get(token=token)).used_at is None


async def test_invite_needs_a_configured_master(staff: Staff):
    reply = await staff.say(ENV_OWNER, "/invite master Зинаида", "нет в настройках")
    for name in ("Анна", "Ольга", "Марина", "Дмитрий"):
        assert name in reply["text"]
    await staff.say(ENV_OWNER, "/invite master", "Кого пригласить")
    await staff.say(ENV_OWNER, "/invite", "Кого пригласить")
    await staff.say(ENV_OWNER, "/invite boss", "Кого пригласить")
    await staff.settle()
    assert await Invite.all().count() == 0
    reply = await staff.say(ENV_OWNER, "/invite мастер ДМИТРИЙ", "t.me/")
    assert "Дмитрий" in reply["text"] and "ноября" in reply["text"]  # the expiry, local
    assert (await Invite.get()).master_id == "dmitry"


async def test_staff_list_and_removal(staff: Staff, clock):
    now = clock.now()
    maria = await add_member(MARIA, StaffRole.MANAGER, now)
    anya = await add_member(ANYA, StaffRole.MASTER, now, master="anna")
    listing = await staff.say(ENV_OWNER, "/team", "Сотрудники")
    assert "Мария — менеджер, с 23.11.2026" in listing["text"]
    assert "Аня — мастер (Анна), с 23.11.2026" in listing["text"]

    staff.api.press_button(TOKEN, ENV_OWNER, text="✖ Удалить: Мария")
    edited = await staff.api.wait_for_message(
        TOKEN, ENV_OWNER.id, lambda m: "Сотрудники" in m["text"] and "Мария" not in m["text"]
    )
    assert "Аня" in edited["text"]
    await staff.api.wait_for_call(
        TOKEN,
        "deleteMyCommands",
        lambda c: c.params.get("scope") == {"type": "chat", "chat_id": MARIA.id},
    )
    await maria.refresh_from_db()
    assert not maria.active and maria.removed_at is not None

    # Her old buttons and commands stop working at once; a second press changes nothing.
    removal_of_anya = RemoveStaff(member_id=anya.id).pack()
    press = staff.api.press_button(TOKEN, MARIA, removal_of_anya, strict=False)
    await assert_no_access(staff.api, press)
    await staff.say(MARIA, "/help", "служебный бот")
    stale = staff.api.press_button(  # a second owner's copy of the old list
        TOKEN, ENV_OWNER, RemoveStaff(member_id=maria.id).pack(), strict=False
    )
    answer = await answer_of(staff.api, stale)
    assert "уже удалён" in answer.params["text"]
    await staff.settle()
    assert (await StaffMember.get(id=anya.id)).active


async def test_reinvited_person_is_active_again(staff: Staff, clock):
    maria = await add_member(MARIA, StaffRole.MANAGER, clock.now())
    await remove_member(maria.id, clock.now())
    token = await staff.invite("master Марина")
    await staff.say(MARIA, f"/start {token}", "Добро пожаловать")
    await maria.refresh_from_db()
    assert (maria.active, maria.role, maria.master_id) == (True, "master", "marina")
    assert maria.removed_at is None


async def test_a_stranger_gets_exactly_one_refusal(staff: Staff):
    for text in ("здравствуйте", "/start", "/help", "ау?", "/leads"):
        await staff.say(STRANGER, text)
    staff.api.send_photo(TOKEN, STRANGER)
    await staff.settle()
    assert len(staff.texts_to(STRANGER)) == 1
    assert "только для сотрудников" in staff.texts_to(STRANGER)[0]
    assert await StaffRefusal.filter(telegram_id=STRANGER.id).count() == 1


@pytest.mark.parametrize("actor", ["stranger", "removed manager", "manager", "master"])
async def test_owner_commands_are_refused_to_everyone_else(staff: Staff, clock, actor: str):
    now = clock.now()
    await add_member(MARIA, StaffRole.MANAGER, now)
    anya = await add_member(ANYA, StaffRole.MASTER, now, master="anna")
    pavel = await add_member(PAVEL, StaffRole.MANAGER, now)
    await remove_member(pavel.id, now)
    user = {"stranger": STRANGER, "removed manager": PAVEL, "manager": MARIA, "master": ANYA}[actor]
    before = await db_state()

    for command in ("/invite manager", "/invite master Анна", "/team", "/start", "/help"):
        await staff.say(user, command)
    for member_id in (anya.id, pavel.id):
        press = staff.api.press_button(
            TOKEN, user, RemoveStaff(member_id=member_id).pack(), strict=False
        )
        await assert_no_access(staff.api, press)
    await staff.settle()

    assert await db_state() == before, "nothing changed"
    replies = staff.texts_to(user)
    assert all("t.me/" not in r and "Сотрудники" not in r for r in replies)
    others = [n for n in STAFF_NAMES if n not in (user.first_name, user.last_name)]
    assert not [r for r in replies if any(n in r for n in others)], "nothing leaked"
    if actor in ("stranger", "removed manager"):
        assert len(replies) == 1 and "только для сотрудников" in replies[0]
    else:
        assert sum("недоступна" in r for r in replies) == 3  # /invite ×2, /team
        assert all("/invite" not in r for r in replies)


async def answer_of(api: FakeBotApi, update: dict):
    query_id = update["callback_query"]["id"]
    return await api.wait_for_call(
        TOKEN, "answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id
    )


async def assert_no_access(api: FakeBotApi, update: dict) -> None:
    answer = await answer_of(api, update)
    assert answer.params.get("show_alert") is True
    assert answer.params["text"] == "Нет доступа"


# --- bot/staffwork/staff.py ------------------------------------------------------------------


async def test_concurrent_redemption_has_exactly_one_winner(db, clock):
    now = clock.now()
    invite = await create_invite(StaffRole.MANAGER, None, ENV_OWNER.id, now, TTL)
    people = range(100, 106)
    results = await asyncio.gather(
        *(redeem_invite(invite.token, tid, f"P{tid}", now) for tid in people)
    )
    winners = [r for r in results if isinstance(r, StaffMember)]
    assert len(winners) == 1
    assert results.count(InviteError.USED) == len(people) - 1
    assert await StaffMember.all().count() == 1
    assert (await Invite.get(id=invite.id)).used_by == winners[0].telegram_id


async def test_redeem_rules(db, clock):
    now = clock.now()
    invite = await create_invite(StaffRole.MASTER, "anna", ENV_OWNER.id, now, TTL)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", invite.token)
    assert await redeem_invite("nope", 1, "X", now) is InviteError.UNKNOWN
    late = now + TTL
    assert await redeem_invite(invite.token, 1, "X", late) is InviteError.EXPIRED
    member = await redeem_invite(invite.token, 1, "X", now)
    assert isinstance(member, StaffMember) and member.master_id == "anna"
    again = await redeem_invite(invite.token, 1, "X", now)  # a redelivered /start
    assert isinstance(again, StaffMember) and again.id == member.id
    assert await redeem_invite(invite.token, 2, "Y", now) is InviteError.USED
    with pytest.raises(ValueError):
        await create_invite(StaffRole.MASTER, None, ENV_OWNER.id, now, TTL)
    with pytest.raises(ValueError):
        await create_invite(StaffRole.OWNER, None, ENV_OWNER.id, now, TTL)


async def test_roles_removal_and_refusals(db, clock):
    now, owners = clock.now(), frozenset({ENV_OWNER.id})
    maria = await add_member(MARIA, StaffRole.MANAGER, now)
    assert await role_of(ENV_OWNER.id, owners) is StaffRole.OWNER
    assert await role_of(MARIA.id, owners) is StaffRole.MANAGER
    assert await role_of(STRANGER.id, owners) is None
    relayed = await Conversation.create(
        channel="telegram", chat_id="501", relay_staff_id=MARIA.id, updated_at=now
    )
    lead = await Lead.create(
        channel="telegram", manager_id=MARIA.id, created_at=now, updated_at=now
    )
    removed = await remove_member(maria.id, now)
    assert removed is not None and not removed.active
    await relayed.refresh_from_db()
    await lead.refresh_from_db()
    assert relayed.relay_staff_id is None and lead.manager_id is None
    assert await remove_member(maria.id, now) is None
    assert await role_of(MARIA.id, owners) is None
    assert [await refuse_once(STRANGER.id, now) for _ in range(3)] == [True, False, False]


def test_find_master(config):
    assert find_master(config, "анна").id == "anna"
    assert find_master(config, " ANNA ").id == "anna"
    assert find_master(config, "Ольга").id == "olga"
    assert find_master(config, "Зинаида") is None


@pytest.mark.parametrize("token", ["A" * 33, "x" * 200, "bad token!", "токен"])
async def test_a_malformed_invite_token_gets_a_polite_answer(staff: Staff, token, caplog):
    caplog.set_level(logging.INFO)
    await staff.say(MARIA, f"/start {token}", "недействительна")
    await staff.settle()
    assert await StaffMember.all().count() == 0
    assert "Traceback" not in caplog.text
    assert any(r.getMessage() == "invite_refused" for r in caplog.records)
