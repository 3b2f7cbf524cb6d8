"""Indexes the KPI queries need (hand-written, both dialects; checked with EXPLAIN QUERY PLAN
in bench/kpi_bench.py):

- appointment(lead_id): «did this lead book, what did it pay» probes per lead (conversion,
  sources, per-manager figures) instead of grouping every appointment ever made;
- appointment(created_at): bookings made in a period (summary, /staff, the chart);
- lead(attention_at): leads that waited for a human in a period (SLA, first response);
- message_log(lead_id, at): the first staff or bot message of a lead.
"""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

INDEXES = (
    ("idx_appointment_lead_id", "appointment", ("lead_id",)),
    ("idx_appointment_created_at", "appointment", ("created_at",)),
    ("idx_lead_attention_at", "lead", ("attention_at",)),
    ("idx_message_log_lead_at", "message_log", ("lead_id", "at")),
)


def _quoted(column: str) -> str:
    return f'"{column}"'


# The same statements on SQLite and PostgreSQL.
UPGRADE = "\n".join(
    f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({", ".join(map(_quoted, columns))});'
    for name, table, columns in INDEXES
)
DOWNGRADE = "\n".join(f'DROP INDEX IF EXISTS "{name}";' for name, _, _ in INDEXES)


async def upgrade(db: BaseDBAsyncClient) -> str:
    del db  # both dialects take the same CREATE INDEX
    return UPGRADE


async def downgrade(db: BaseDBAsyncClient) -> str:
    del db
    return DOWNGRADE
