"""AI layer: lead intelligence on the lead, token use per month (hand-written, both dialects)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_LEAD_COLUMNS = """
ALTER TABLE "lead" ADD COLUMN "ai_intent" VARCHAR(16);
ALTER TABLE "lead" ADD COLUMN "ai_warmth" VARCHAR(8);
ALTER TABLE "lead" ADD COLUMN "ai_summary" VARCHAR(160);
"""

SQLITE = (
    _LEAD_COLUMNS
    + """
CREATE TABLE IF NOT EXISTS "ai_usage" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "month" VARCHAR(7) NOT NULL,
    "purpose" VARCHAR(16) NOT NULL,
    "calls" INT NOT NULL DEFAULT 0,
    "failures" INT NOT NULL DEFAULT 0,
    "prompt_tokens" BIGINT NOT NULL DEFAULT 0,
    "completion_tokens" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "uid_ai_usage_month_purpose" UNIQUE ("month", "purpose")
);
"""
)

POSTGRES = (
    _LEAD_COLUMNS
    + """
CREATE TABLE IF NOT EXISTS "ai_usage" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "month" VARCHAR(7) NOT NULL,
    "purpose" VARCHAR(16) NOT NULL,
    "calls" INT NOT NULL DEFAULT 0,
    "failures" INT NOT NULL DEFAULT 0,
    "prompt_tokens" BIGINT NOT NULL DEFAULT 0,
    "completion_tokens" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "uid_ai_usage_month_purpose" UNIQUE ("month", "purpose")
);
"""
)


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "ai_usage";
ALTER TABLE "lead" DROP COLUMN "ai_summary";
ALTER TABLE "lead" DROP COLUMN "ai_warmth";
ALTER TABLE "lead" DROP COLUMN "ai_intent";
"""
