"""The coach's dialogue reviews (hand-written, both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_TABLES = """
CREATE TABLE IF NOT EXISTS "dialogue_review" (
    "id" {pk},
    "lead_id" INT NOT NULL UNIQUE,
    "manager_id" BIGINT NOT NULL,
    "finished_at" TIMESTAMP{tz} NOT NULL,
    "reviewed_at" TIMESTAMP{tz} NOT NULL,
    "outcome" VARCHAR(16) NOT NULL,
    "by_model" {bool} NOT NULL DEFAULT {false},
    "steps_done" {json} NOT NULL,
    "steps_missed" {json} NOT NULL,
    "price_before_need" {bool} NOT NULL DEFAULT {false},
    "tone" VARCHAR(8),
    "score" INT,
    "first_response_s" INT,
    "slowest_response_s" INT,
    "lost_check_kop" BIGINT NOT NULL DEFAULT 0,
    "tips" {json} NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_review_manager_at" ON "dialogue_review" ("manager_id", "finished_at");
"""

SQLITE = _TABLES.format(
    pk="INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", tz="", json="JSON", bool="BOOL", false="0"
)
POSTGRES = _TABLES.format(
    pk="SERIAL NOT NULL PRIMARY KEY", tz="TZ", json="JSONB", bool="BOOL", false="FALSE"
)


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return 'DROP TABLE IF EXISTS "dialogue_review";'
