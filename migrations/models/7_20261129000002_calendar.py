"""Masters' calendar feed tokens (hashed) and the owner's catalog overrides with their
audit trail (hand-written, both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_TABLES = """
CREATE TABLE IF NOT EXISTS "calendar_token" (
    "id" {pk},
    "master_id" VARCHAR(16) NOT NULL,
    "token_hash" VARCHAR(64) NOT NULL UNIQUE,
    "created_by" BIGINT NOT NULL,
    "created_at" TIMESTAMP{tz} NOT NULL,
    "revoked_at" TIMESTAMP{tz}
);
CREATE INDEX IF NOT EXISTS "idx_calendar_to_master__f8aed0" ON "calendar_token" ("master_id");
CREATE TABLE IF NOT EXISTS "service_override" (
    "service_id" VARCHAR(16) NOT NULL PRIMARY KEY,
    "price_kop" BIGINT,
    "duration" INT,
    "deposit_kop" BIGINT,
    "masters" {json},
    "enabled" {bool},
    "updated_by" BIGINT NOT NULL,
    "updated_at" TIMESTAMP{tz} NOT NULL
);
CREATE TABLE IF NOT EXISTS "catalog_audit" (
    "id" {pk},
    "service_id" VARCHAR(16) NOT NULL,
    "field" VARCHAR(16) NOT NULL,
    "before" VARCHAR(200),
    "after" VARCHAR(200),
    "by" BIGINT NOT NULL,
    "at" TIMESTAMP{tz} NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_catalog_aud_service_788d0a" ON "catalog_audit" ("service_id");
"""

SQLITE = _TABLES.format(
    pk="INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", tz="", json="JSON", bool="BOOL"
)
POSTGRES = _TABLES.format(pk="SERIAL NOT NULL PRIMARY KEY", tz="TZ", json="JSONB", bool="BOOL")


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "catalog_audit";
DROP TABLE IF EXISTS "service_override";
DROP TABLE IF EXISTS "calendar_token";
"""
