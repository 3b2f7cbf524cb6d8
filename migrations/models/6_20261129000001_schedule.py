"""The staff-edited calendar: overrides of masters' time on top of the TOML schedule, their
audit trail, and the visits a change displaced (hand-written, both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_TABLES = """
CREATE TABLE IF NOT EXISTS "schedule_override" (
    "id" {pk},
    "master_id" VARCHAR(16) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "start" TIMESTAMP{tz} NOT NULL,
    "end" TIMESTAMP{tz} NOT NULL,
    "reason" VARCHAR(200),
    "created_by" BIGINT NOT NULL,
    "created_at" TIMESTAMP{tz} NOT NULL,
    "undone_at" TIMESTAMP{tz},
    "undone_by" BIGINT
);
CREATE INDEX IF NOT EXISTS "idx_schedule_override_end" ON "schedule_override" ("end", "start");
CREATE TABLE IF NOT EXISTS "schedule_audit" (
    "id" {pk},
    "override_id" INT NOT NULL,
    "action" VARCHAR(8) NOT NULL,
    "actor" VARCHAR(32) NOT NULL,
    "at" TIMESTAMP{tz} NOT NULL,
    "before" {json},
    "after" {json}
);
CREATE INDEX IF NOT EXISTS "idx_schedule_audit_override" ON "schedule_audit" ("override_id");
CREATE TABLE IF NOT EXISTS "reshuffle" (
    "id" {pk},
    "appointment_id" INT NOT NULL UNIQUE,
    "override_id" INT NOT NULL,
    "outcome" VARCHAR(16) NOT NULL,
    "asked_at" TIMESTAMP{tz} NOT NULL,
    "answer_by" TIMESTAMP{tz} NOT NULL,
    "resolved_at" TIMESTAMP{tz},
    "new_appointment_id" INT
);
CREATE INDEX IF NOT EXISTS "idx_reshuffle_answer_by" ON "reshuffle" ("answer_by");
"""

SQLITE = _TABLES.format(pk="INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", tz="", json="JSON")
POSTGRES = _TABLES.format(pk="SERIAL NOT NULL PRIMARY KEY", tz="TZ", json="JSONB")


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "reshuffle";
DROP TABLE IF EXISTS "schedule_audit";
DROP TABLE IF EXISTS "schedule_override";
"""
