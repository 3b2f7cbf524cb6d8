"""Deposits: one row per booking that needs money up front, its hold, payment and refund
(hand-written, both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_TABLES = """
CREATE TABLE IF NOT EXISTS "deposit" (
    "id" {pk},
    "appointment_id" INT NOT NULL UNIQUE,
    "channel" VARCHAR(16) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "lead_id" INT,
    "token" VARCHAR(32) NOT NULL UNIQUE,
    "amount_kop" BIGINT NOT NULL,
    "rule" VARCHAR(8) NOT NULL,
    "status" VARCHAR(12) NOT NULL DEFAULT 'held',
    "hold_until" TIMESTAMP{tz} NOT NULL,
    "refund_cutoff_hours" INT NOT NULL,
    "provider" VARCHAR(12) NOT NULL,
    "payment_id" VARCHAR(64) UNIQUE,
    "confirmation_url" VARCHAR(512),
    "telegram_charge_id" VARCHAR(128),
    "provider_charge_id" VARCHAR(128),
    "refund_id" VARCHAR(64),
    "created_at" TIMESTAMP{tz} NOT NULL,
    "paid_at" TIMESTAMP{tz},
    "closed_at" TIMESTAMP{tz}
);
CREATE INDEX IF NOT EXISTS "idx_deposit_status_hold" ON "deposit" ("status", "hold_until");
"""

SQLITE = _TABLES.format(pk="INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", tz="")
POSTGRES = _TABLES.format(pk="SERIAL NOT NULL PRIMARY KEY", tz="TZ")


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "deposit";
"""
