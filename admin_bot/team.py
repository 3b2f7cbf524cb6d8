"""Staff bot: joining by invite, the owner's team management, /help and menus per role.

Every handler here re-checks the role through `HasRole` at the moment of use; anything a
person's role does not allow falls through to the refusal router (included last).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from admin_bot.access import ALL_ROLES, HasRole, role_help, typed_payload
from admin_bot.context import StaffContext, arg_of
from bot.i18n import Texts
from bot.models import StaffMember, StaffRole
from bot.staffwork.staff import (
    InviteError,
    active_member,
    create_invite,
    find_master,
    list_staff,
    redeem_invite,
    refuse_once,
    remove_member,
)

log = logging.getLogger("priyom.staff.team")
OWNER = StaffRole.OWNER
ROLE_WORDS = {
    "manager": StaffRole.MANAGER,
    "менеджер": StaffRole.MANAGER,
    "master": StaffRole.MASTER,
    "мастер": StaffRole.MASTER,
}


@typed_payload
class RemoveStaff(CallbackData, prefix="staff_rm"):
    """«Удалить» on the /team list; only an id, the role is checked again on press."""

    member_id: int


# --- command menus ---------------------------------------------------------------------------


def role_commands(texts: Texts, role: StaffRole) -> list[BotCommand]:
    """The menu of a role, from the `/command — description` lines of its help."""
    commands = []
    for line in role_help(texts, role).splitlines():
        head, sep, description = line.partition(" — ")
        if sep and head.startswith("/"):
            commands.append(BotCommand(command=head[1:].split()[0], description=description))
    return commands


def default_commands(texts: Texts) -> list[BotCommand]:
    return [
        BotCommand(command="start", description=texts("team.cmd.start")),
        BotCommand(command="help", description=texts("team.cmd.help")),
    ]


async def sync_commands(bot: Bot, ctx: StaffContext) -> None:
    """setMyCommands: /start and /help for everyone, each owner's and member's chat its role's."""
    await _set_commands(bot, default_commands(ctx.texts), BotCommandScopeDefault())
    for owner_id in sorted(ctx.owner_ids):
        scope = BotCommandScopeChat(chat_id=owner_id)
        await _set_commands(bot, role_commands(ctx.texts, OWNER), scope)
    for member in await list_staff():
        if member.telegram_id not in ctx.owner_ids:
            scope = BotCommandScopeChat(chat_id=member.telegram_id)
            await _set_commands(bot, role_commands(ctx.texts, member.role), scope)


async def _set_commands(
    bot: Bot, commands: list[BotCommand], scope: BotCommandScopeChat | BotCommandScopeDefault
) -> None:
    try:  # an owner who never opened the bot has no chat yet: not a reason to stop
        await bot.set_my_commands(commands, scope=scope)
    except TelegramAPIError as exc:
        log.warning("set_commands_failed", extra={"scope": scope.type, "reason": str(exc)})


async def _clear_commands(bot: Bot, telegram_id: int) -> None:
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=telegram_id))
    except TelegramAPIError as exc:
        log.warning("delete_commands_failed", extra={"reason": str(exc)})


async def on_startup(bot: Bot, staff: StaffContext) -> None:
    await sync_commands(bot, staff)


# --- joining ---------------------------------------------------------------------------------


async def on_start_invite(
    message: Message, command: CommandObject, staff: StaffContext, bot: Bot
) -> None:
    """`/start <token>`: spend the invite; any failure is one clear answer, nothing else."""
    user, t, now = message.from_user, staff.texts, staff.clock.now()
    if user is None:
        return
    if user.id in staff.owner_ids:  # don't burn the link the owner meant for someone else
        await message.answer(f"{t('team.invite_owner')}\n\n{role_help(t, OWNER)}")
        return
    result = await redeem_invite(command.args or "", user.id, user.full_name, now)
    if isinstance(result, InviteError):
        if await active_member(user.id) is None:
            await refuse_once(user.id, now)  # a stranger's later messages get silence
        await message.answer(t(f"team.invite_{result.value}"))
        reason, length = result.value, len(command.args or "")  # never the token itself
        log.info("invite_refused", extra={"staff": user.id, "reason": reason, "length": length})
        return
    await message.answer(f"{_welcome(staff, result)}\n\n{role_help(t, result.role)}")
    await sync_commands(bot, staff)
    log.info("staff_joined", extra={"staff": user.id, "role": result.role.value})


def _welcome(staff: StaffContext, member: StaffMember) -> str:
    t = staff.texts
    role = t(f"team.role.{member.role.value}")
    master = staff.config.master(member.master_id) if member.master_id else None
    if master is not None:
        return t("team.welcome_master", name=member.name, role=role, master=master.name)
    return t("team.welcome", name=member.name, role=role)


async def on_help(message: Message, staff: StaffContext, role: StaffRole) -> None:
    await message.answer(role_help(staff.texts, role))


# --- the owner's commands --------------------------------------------------------------------


async def on_invite(
    message: Message, command: CommandObject, staff: StaffContext, bot: Bot
) -> None:
    """`/invite manager` or `/invite master <name or id>` → a one-time deep link."""
    t = staff.texts
    word, _, rest = arg_of(command).partition(" ")
    role = ROLE_WORDS.get(word.casefold())
    if role is None or (role is StaffRole.MASTER and not rest.strip()):
        await message.answer(t("team.invite_usage"))
        return
    master = find_master(staff.config, rest) if role is StaffRole.MASTER else None
    if role is StaffRole.MASTER and master is None:
        known = ", ".join(f"{m.name} ({m.id})" for m in staff.config.masters)
        await message.answer(t("team.invite_unknown_master", query=rest.strip(), known=known))
        return
    now = staff.clock.now()
    ttl = dt.timedelta(hours=staff.invite_ttl_hours)
    creator = message.from_user.id if message.from_user else 0
    invite = await create_invite(role, master.id if master else None, creator, now, ttl)
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={invite.token}"
    until = t.moment(invite.expires_at.astimezone(staff.config.tz))
    if master is not None:
        text = t("team.invite_link_master", master=master.name, until=until, link=link)
    else:
        text = t("team.invite_link", role=t(f"team.role.{role.value}"), until=until, link=link)
    await message.answer(text)
    log.info("invite_created", extra={"role": role.value, "by": creator})


async def staff_listing(staff: StaffContext) -> tuple[str, InlineKeyboardMarkup | None]:
    """The /team text and its «Удалить» buttons, from the database as it is now."""
    t, tz = staff.texts, staff.config.tz
    members = await list_staff()
    if not members:
        return t("team.staff_empty"), None
    lines, rows = [t("team.staff_title")], []
    for m in members:
        values = {
            "name": m.name,
            "role": t(f"team.role.{m.role.value}"),
            "since": f"{m.created_at.astimezone(tz):%d.%m.%Y}",
        }
        master = staff.config.master(m.master_id) if m.master_id else None
        if master is not None:
            lines.append(t("team.staff_line_master", master=master.name, **values))
        else:
            lines.append(t("team.staff_line", **values))
        data = RemoveStaff(member_id=m.id).pack()
        rows.append(
            [InlineKeyboardButton(text=t("team.btn_remove", name=m.name), callback_data=data)]
        )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def on_team(message: Message, staff: StaffContext) -> None:
    text, markup = await staff_listing(staff)
    await message.answer(text, reply_markup=markup)


async def on_remove(
    query: CallbackQuery, callback_data: RemoveStaff, staff: StaffContext, bot: Bot
) -> None:
    """Deactivate a member: their menu goes, and their next command or button is refused."""
    t = staff.texts
    removed = await remove_member(callback_data.member_id, staff.clock.now())
    if removed is None:
        await query.answer(t("team.already_removed"), show_alert=True)
    else:
        await query.answer(t("team.removed", name=removed.name))
        await _clear_commands(bot, removed.telegram_id)
        await sync_commands(bot, staff)
        log.info("staff_removed", extra={"staff": removed.telegram_id})
    if isinstance(query.message, Message):
        text, markup = await staff_listing(staff)
        with contextlib.suppress(TelegramBadRequest):  # unchanged, or too old to edit
            await query.message.edit_text(text, reply_markup=markup)


def team_router() -> Router:
    """Include it FIRST (before the lead router), and `refusal_router()` LAST."""
    router = Router(name="staff-team")
    owner, anyone = HasRole(OWNER), HasRole(*ALL_ROLES)
    msg = router.message
    msg.register(on_start_invite, CommandStart(deep_link=True))
    msg.register(on_help, CommandStart(), anyone)
    msg.register(on_help, Command("help"), anyone)
    msg.register(on_invite, Command("invite"), owner)
    msg.register(on_team, Command("team"), owner)
    router.callback_query.register(on_remove, RemoveStaff.filter(), owner)
    router.startup.register(on_startup)
    return router
