"""The waitlist (entries and the offers of freed slots) and the confirmation calls of
visits unconfirmed at their last reminder (hand-written, both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_TABLES = """
CREATE TABLE IF NOT EXISTS "waitlist_entry" (
    "id" {pk},
    "client_id" INT NOT NULL,
    "lead_id" INT,
    "service_id" VARCHAR(16) NOT NULL,
    "addon_ids" {json} NOT NULL,
    "master_id" VARCHAR(16),
    "day_from" DATE NOT NULL,
    "day_to" DATE NOT NULL,
    "after_minute" INT,
    "before_minute" INT,
    "status" VARCHAR(16) NOT NULL DEFAULT 'waiting',
    "created_at" TIMESTAMP{tz} NOT NULL,
    "expires_at" TIMESTAMP{tz} NOT NULL,
    "ended_at" TIMESTAMP{tz}
);
CREATE INDEX IF NOT EXISTS "idx_waitlist_entry_status" ON "waitlist_entry" ("status", "expires_at");
CREATE TABLE IF NOT EXISTS "waitlist_offer" (
    "id" {pk},
    "entry_id" INT NOT NULL,
    "master_id" VARCHAR(16) NOT NULL,
    "start" TIMESTAMP{tz} NOT NULL,
    "end" TIMESTAMP{tz} NOT NULL,
    "status" VARCHAR(16) NOT NULL DEFAULT 'offered',
    "offered_at" TIMESTAMP{tz} NOT NULL,
    "expires_at" TIMESTAMP{tz} NOT NULL,
    "taken_at" TIMESTAMP{tz},
    "appointment_id" INT,
    CONSTRAINT "uid_waitlist_of_entry_i_4a1c2e" UNIQUE ("entry_id", "master_id", "start")
);
CREATE INDEX IF NOT EXISTS "idx_waitlist_offer_status" ON "waitlist_offer" ("status", "expires_at");
CREATE INDEX IF NOT EXISTS "idx_waitlist_offer_slot" ON "waitlist_offer" ("master_id", "start");
CREATE TABLE IF NOT EXISTS "confirm_call" (
    "appointment_id" INT NOT NULL PRIMARY KEY,
    "lead_id" INT NOT NULL,
    "at" TIMESTAMP{tz} NOT NULL
);
"""

SQLITE = _TABLES.format(pk="INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", tz="", json="JSON")
POSTGRES = _TABLES.format(pk="SERIAL NOT NULL PRIMARY KEY", tz="TZ", json="JSONB")


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "confirm_call";
DROP TABLE IF EXISTS "waitlist_offer";
DROP TABLE IF EXISTS "waitlist_entry";
"""
