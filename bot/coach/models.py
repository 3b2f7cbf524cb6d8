"""The stored review of one finished manager–client dialogue (migration 11).

One row per lead: the dialogue is reviewed once, when it finishes. No message text is
kept here (the message log holds it, and erasure clears it there); tips are advice in the
coach's own words, and an example points at the lead by id.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class DialogueReview(Model):
    id = fields.IntField(primary_key=True)
    lead_id = fields.IntField(unique=True)
    manager_id = fields.BigIntField()  # the Telegram id of the manager who talked
    finished_at = fields.DatetimeField()  # the dialogue's last message
    reviewed_at = fields.DatetimeField()
    outcome = fields.CharField(max_length=16)  # the lead's status when reviewed
    by_model = fields.BooleanField(default=False)
    steps_done = fields.JSONField(default=list)  # script step ids
    steps_missed = fields.JSONField(default=list)
    price_before_need = fields.BooleanField(default=False)
    tone = fields.CharField(max_length=8, null=True)  # positive | neutral | negative
    score = fields.IntField(null=True)  # 0..10
    first_response_s = fields.IntField(null=True)  # seconds to the manager's first answer
    slowest_response_s = fields.IntField(null=True)
    lost_check_kop = fields.BigIntField(default=0)  # a lost lead's cancelled booking value
    tips = fields.JSONField(default=list)  # one or two lines for the manager

    class Meta:
        table = "dialogue_review"
        indexes = (Index(fields=("manager_id", "finished_at"), name="idx_review_manager_at"),)
