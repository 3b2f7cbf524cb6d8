"""The CRM sync queue, the remote ids of pushed leads and contacts, and the OAuth tokens of a
CRM that rotates them (hand-written, both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_TABLES = """
CREATE TABLE IF NOT EXISTS "crm_task" (
    "id" {pk},
    "crm" VARCHAR(16) NOT NULL,
    "kind" VARCHAR(8) NOT NULL,
    "lead_id" INT,
    "client_id" INT,
    "order_key" VARCHAR(24) NOT NULL,
    "payload" {json} NOT NULL,
    "dedup_key" VARCHAR(128) NOT NULL UNIQUE,
    "status" VARCHAR(8) NOT NULL DEFAULT 'pending',
    "attempts" INT NOT NULL DEFAULT 0,
    "due_at" TIMESTAMP{tz} NOT NULL,
    "created_at" TIMESTAMP{tz} NOT NULL,
    "failing_since" TIMESTAMP{tz},
    "done_at" TIMESTAMP{tz},
    "error" VARCHAR(200),
    "locked_until" TIMESTAMP{tz}
);
CREATE INDEX IF NOT EXISTS "idx_crm_task_status_due" ON "crm_task" ("status", "due_at");
CREATE INDEX IF NOT EXISTS "idx_crm_task_order" ON "crm_task" ("order_key", "status");
CREATE INDEX IF NOT EXISTS "idx_crm_task_lead" ON "crm_task" ("lead_id");
CREATE TABLE IF NOT EXISTS "crm_link" (
    "id" {pk},
    "crm" VARCHAR(16) NOT NULL,
    "kind" VARCHAR(8) NOT NULL,
    "local_id" INT NOT NULL,
    "remote_id" VARCHAR(32) NOT NULL,
    "created_at" TIMESTAMP{tz} NOT NULL,
    CONSTRAINT "uid_crm_link_crm_kind_local" UNIQUE ("crm", "kind", "local_id")
);
CREATE INDEX IF NOT EXISTS "idx_crm_link_remote" ON "crm_link" ("crm", "kind", "remote_id");
CREATE TABLE IF NOT EXISTS "crm_token" (
    "id" {pk},
    "crm" VARCHAR(16) NOT NULL UNIQUE,
    "access_token" TEXT NOT NULL,
    "refresh_token" TEXT NOT NULL,
    "previous_refresh" TEXT,
    "expires_at" TIMESTAMP{tz} NOT NULL,
    "version" INT NOT NULL DEFAULT 0,
    "refreshing_until" TIMESTAMP{tz},
    "broken" VARCHAR(200),
    "updated_at" TIMESTAMP{tz} NOT NULL
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
DROP TABLE IF EXISTS "crm_token";
DROP TABLE IF EXISTS "crm_link";
DROP TABLE IF EXISTS "crm_task";
"""
