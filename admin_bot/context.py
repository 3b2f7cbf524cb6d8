"""What every staff-bot handler gets: config, clock, texts and the core services."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.filters import CommandObject

from bot.booking.booker import Booker
from bot.booking.catalog import effective_config
from bot.clock import Clock
from bot.config import BusinessConfig
from bot.i18n import Texts
from bot.staffwork.staff import owners_of


@dataclass
class StaffContext:
    config: BusinessConfig
    clock: Clock
    owner_ids: frozenset[int]
    texts: Texts
    booker: Booker
    client_bot: Bot | None = None  # relays and notices to clients go out through it
    invite_ttl_hours: int = 72
    extra: dict = field(default_factory=dict)

    async def catalog(self, offered_only: bool = False) -> BusinessConfig:
        """The business with the owner's catalog edits (bot.booking.catalog), read now; the
        booker follows it, so staff book and move with the prices and lengths clients get.
        `offered_only` leaves out switched-off services (for new bookings)."""
        self.booker.config = await effective_config(self.config, offered_only)
        return self.booker.config

    @classmethod
    def create(
        cls,
        config: BusinessConfig,
        clock: Clock,
        env_owner_ids: list[int],
        client_bot: Bot | None = None,
    ) -> StaffContext:
        owners = owners_of(config, env_owner_ids)
        texts = Texts(config.business.locale)
        return cls(config, clock, owners, texts, Booker(config, clock), client_bot)


def arg_of(command: CommandObject) -> str:
    """A command's argument text, trimmed («/lead 12» → «12»; none → «»)."""
    return (command.args or "").strip()
