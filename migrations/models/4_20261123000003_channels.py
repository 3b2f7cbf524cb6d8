"""Webhook channels (WhatsApp, MAX): inbound dedup and the 24-hour window, numbered menus,
delivery statuses, and the channel's own id of a sent outbox row (hand-written, both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_TABLES = """
ALTER TABLE "outbox" ADD COLUMN "external_id" VARCHAR(128);
CREATE INDEX IF NOT EXISTS "idx_outbox_external_id" ON "outbox" ("external_id");
CREATE TABLE IF NOT EXISTS "inbound_message" (
    "id" {pk},
    "channel" VARCHAR(16) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "message_id" VARCHAR(128) NOT NULL,
    "at" TIMESTAMP{tz} NOT NULL,
    CONSTRAINT "uid_inbound_message_channel_message" UNIQUE ("channel", "message_id")
);
CREATE INDEX IF NOT EXISTS "idx_inbound_message_chat_at"
    ON "inbound_message" ("channel", "chat_id", "at");
CREATE TABLE IF NOT EXISTS "channel_menu" (
    "id" {pk},
    "channel" VARCHAR(16) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "actions" {json} NOT NULL,
    "at" TIMESTAMP{tz} NOT NULL,
    CONSTRAINT "uid_channel_menu_channel_chat" UNIQUE ("channel", "chat_id")
);
CREATE TABLE IF NOT EXISTS "delivery_status" (
    "id" {pk},
    "channel" VARCHAR(16) NOT NULL,
    "external_id" VARCHAR(128) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "error" VARCHAR(200),
    "at" TIMESTAMP{tz} NOT NULL,
    CONSTRAINT "uid_delivery_status_channel_external" UNIQUE ("channel", "external_id")
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
DROP TABLE IF EXISTS "delivery_status";
DROP TABLE IF EXISTS "channel_menu";
DROP TABLE IF EXISTS "inbound_message";
DROP INDEX IF EXISTS "idx_outbox_external_id";
ALTER TABLE "outbox" DROP COLUMN "external_id";
"""
