"""The timed work's part: review the dialogues that finished, store each review and queue
its tips to the manager who talked, in one transaction.

Model calls (if any) run first, all at once and outside any transaction, so a scan waits
at most one model timeout. Safe in several processes: the review is unique per lead and
the tip message has the dedup key `coach_tip:<lead>`; whoever inserts second rolls back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.coach.dialogue import Dialogue, finished_dialogues
from bot.coach.model_review import Reviewer
from bot.coach.models import DialogueReview
from bot.coach.rules import Review
from bot.config import BusinessConfig
from bot.delivery.outbox import Message, enqueue
from bot.i18n import Texts
from bot.models import StaffRole
from bot.staffwork.staff import who

log = logging.getLogger("priyom.coach")
SCAN_LIMIT = 20  # dialogues reviewed per scan


def tip_text(config: BusinessConfig, texts: Texts, lead_id: int, review: Review) -> str:
    """The manager's note: the score, the steps missed and one or two tips."""
    lines = [texts("coach.tip_title", id=lead_id, score=review.score)]
    if review.steps_missed:
        titles = [config.coach.step(s).title for s in review.steps_missed if config.coach.step(s)]
        lines.append(texts("coach.tip_missed", steps=", ".join(titles)))
    lines += [texts("coach.tip_line", tip=tip) for tip in review.tips]
    return "\n".join(lines)


async def store(
    d: Dialogue,
    review: Review,
    config: BusinessConfig,
    texts: Texts,
    now: dt.datetime,
    tell: bool = True,
) -> bool:
    """The review row and its tip message together (`tell`: the manager is still on the
    team); False when it was stored already."""
    try:
        async with in_transaction():
            await DialogueReview.create(
                lead_id=d.lead_id,
                manager_id=d.manager_id,
                finished_at=d.finished_at,
                reviewed_at=now,
                outcome=d.outcome.value,
                by_model=review.by_model,
                steps_done=list(review.steps_done),
                steps_missed=list(review.steps_missed),
                price_before_need=review.price_before_need,
                tone=review.tone,
                score=review.score,
                first_response_s=review.first_response_s,
                slowest_response_s=review.slowest_response_s,
                lost_check_kop=d.lost_check_kop,
                tips=list(review.tips),
            )
            if tell and config.coach.tips and review.tips:
                await enqueue(
                    bot="staff",
                    chat_id=d.manager_id,
                    kind="coach_tip",
                    message=Message(tip_text(config, texts, d.lead_id, review)),
                    dedup_key=f"coach_tip:{d.lead_id}",
                    now=now,
                    lead_id=d.lead_id,
                )
    except IntegrityError:  # another process reviewed this dialogue a moment ago
        return False
    return True


async def review_finished(
    reviewer: Reviewer,
    config: BusinessConfig,
    texts: Texts,
    now: dt.datetime,
    owner_ids: frozenset[int] = frozenset(),
) -> int:
    """Review what finished; tips go only to a manager (or owner) who still has that role."""
    dialogues = await finished_dialogues(config, now, SCAN_LIMIT)
    if not dialogues:
        return 0
    reviews = await asyncio.gather(*(reviewer.review(d) for d in dialogues))
    stored = 0
    for d, review in zip(dialogues, reviews, strict=True):
        role, _ = await who(d.manager_id, owner_ids)
        tell = role in (StaffRole.OWNER, StaffRole.MANAGER)
        stored += await store(d, review, config, texts, now, tell)
    log.info("coach_reviews", extra={"stored": stored, "found": len(dialogues)})
    return stored
