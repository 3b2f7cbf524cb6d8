"""Staff bot: the lead work, one router per feature (each built by its module's `setup()`)."""

from __future__ import annotations

from aiogram import Router

from admin_bot import bookings, cards, outcomes, relay, views
from admin_bot.buttons import ALL_ROLES, feature_router
from admin_bot.handover import handover_router


def leads_router() -> Router:
    """Cards and claiming, bookings, outcomes, views, then the relay of any other message.
    The role is read once per update here; each feature's own filter narrows it."""
    router = feature_router("staff-leads", *ALL_ROLES)
    router.include_routers(
        cards.setup(),
        bookings.setup(),
        outcomes.setup(),
        views.setup(),
        relay.setup(),
        handover_router(),
    )
    return router
