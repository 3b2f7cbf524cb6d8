"""What time does to the waitlist: an offer not taken in `waitlist.offer_minutes` expires
and (FIFO) its slot goes to the next in line; a place on the list lapses after
`waitlist.entry_days`, and the client is told. Each row ends with a conditional UPDATE, so
ticks of several processes never pass one offer on twice or tell one client twice."""

from __future__ import annotations

import datetime as dt
import logging

from tortoise.transactions import in_transaction

from bot.booking import waitlist
from bot.booking.booker import Booker
from bot.clock import Clock
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import Client
from bot.waitlist_models import EntryStatus, OfferStatus, WaitlistEntry, WaitlistOffer
from scenarios.actions import Tap

log = logging.getLogger("priyom.waitlist")


async def waitlist_tick(config: BusinessConfig, t: Texts, clock: Clock) -> int:
    """Expire due offers (passing them on) and due entries; returns how many ended."""
    if not config.waitlist.enabled:
        return 0
    booker, now = Booker(config, clock), clock.now()
    return await expire_offers(booker, now) + await expire_entries(config, t, now)


async def expire_offers(booker: Booker, now: dt.datetime) -> int:
    due = await WaitlistOffer.filter(status=OfferStatus.OFFERED, expires_at__lte=now)
    ended = 0
    for offer in due:
        async with in_transaction():
            won = await WaitlistOffer.filter(id=offer.id, status=OfferStatus.OFFERED).update(
                status=OfferStatus.EXPIRED
            )
            if won:
                ended += 1
                await waitlist.pass_on(booker, offer, now)
    if ended:
        log.info("waitlist_offers_expired", extra={"offers": ended})
    return ended


async def expire_entries(config: BusinessConfig, t: Texts, now: dt.datetime) -> int:
    due = await WaitlistEntry.filter(status=EntryStatus.WAITING, expires_at__lte=now)
    ended = 0
    for entry in due:
        async with in_transaction():
            won = await WaitlistEntry.filter(id=entry.id, status=EntryStatus.WAITING).update(
                status=EntryStatus.EXPIRED, ended_at=now
            )
            if won:
                ended += 1
                await _tell_expired(config, t, entry, now)
    return ended


async def _tell_expired(
    config: BusinessConfig, t: Texts, entry: WaitlistEntry, now: dt.datetime
) -> None:
    client = await Client.get_or_none(id=entry.client_id, erased_at__isnull=True)
    if client is None or client.channel == "phone":
        return
    service = config.service(entry.service_id)
    text = t("waitlist.expired", service=service.title if service else entry.service_id)
    await enqueue(
        bot="client",
        channel=client.channel,
        chat_id=client.channel_user_id,
        kind="waitlist",
        message=Message(text, [[(t("btn.again"), Tap.RESTART.pack())]]),
        dedup_key=f"wexpired:{entry.id}",
        now=now,
        lead_id=entry.lead_id,
    )
