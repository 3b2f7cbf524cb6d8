"""Ad spend per source and month, and the owner's ROI baseline (issue 5: money)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

SQLITE = """
CREATE TABLE IF NOT EXISTS "ad_spend" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "source" VARCHAR(24) NOT NULL,
    "month" VARCHAR(7) NOT NULL,
    "amount_kop" BIGINT NOT NULL,
    "starts_at" TIMESTAMP NOT NULL,
    "ends_at" TIMESTAMP NOT NULL,
    "entered_by" BIGINT NOT NULL,
    "entered_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_ad_spend_source_month" UNIQUE ("source", "month")
);
CREATE TABLE IF NOT EXISTS "roi_baseline" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "leads_per_month" INT NOT NULL,
    "conversion_bp" INT NOT NULL,
    "check_kop" BIGINT NOT NULL,
    "no_show_bp" INT NOT NULL,
    "margin_bp" INT NOT NULL DEFAULT 10000,
    "oneoff_kop" BIGINT NOT NULL,
    "monthly_kop" BIGINT NOT NULL,
    "entered_by" BIGINT NOT NULL,
    "entered_at" TIMESTAMP NOT NULL
);
"""

POSTGRES = """
CREATE TABLE IF NOT EXISTS "ad_spend" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "source" VARCHAR(24) NOT NULL,
    "month" VARCHAR(7) NOT NULL,
    "amount_kop" BIGINT NOT NULL,
    "starts_at" TIMESTAMPTZ NOT NULL,
    "ends_at" TIMESTAMPTZ NOT NULL,
    "entered_by" BIGINT NOT NULL,
    "entered_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_ad_spend_source_month" UNIQUE ("source", "month")
);
CREATE TABLE IF NOT EXISTS "roi_baseline" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "leads_per_month" INT NOT NULL,
    "conversion_bp" INT NOT NULL,
    "check_kop" BIGINT NOT NULL,
    "no_show_bp" INT NOT NULL,
    "margin_bp" INT NOT NULL DEFAULT 10000,
    "oneoff_kop" BIGINT NOT NULL,
    "monthly_kop" BIGINT NOT NULL,
    "entered_by" BIGINT NOT NULL,
    "entered_at" TIMESTAMPTZ NOT NULL
);
"""


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TABLE IF EXISTS "roi_baseline";
DROP TABLE IF EXISTS "ad_spend";
"""
