"""Intakes (website forms, missed calls): one receipt per delivered form or call, unique on
its key, so a redelivery opens nothing; clients are found by phone (hand-written, both
dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_TABLES = """
CREATE TABLE IF NOT EXISTS "intake_receipt" (
    "id" {pk},
    "key" VARCHAR(128) NOT NULL UNIQUE,
    "kind" VARCHAR(8) NOT NULL,
    "lead_id" INT,
    "consent_text" VARCHAR(500),
    "policy_version" VARCHAR(32),
    "details" {json} NOT NULL,
    "at" TIMESTAMP{tz} NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_intake_rece_lead_id_361afc" ON "intake_receipt" ("lead_id");
CREATE INDEX IF NOT EXISTS "idx_client_phone" ON "client" ("phone");
"""

SQLITE = _TABLES.format(pk="INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", tz="", json="JSON")
POSTGRES = _TABLES.format(pk="SERIAL NOT NULL PRIMARY KEY", tz="TZ", json="JSONB")


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return 'DROP INDEX IF EXISTS "idx_client_phone"; DROP TABLE IF EXISTS "intake_receipt";'
