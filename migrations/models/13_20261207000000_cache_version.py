"""Version counters bumped by triggers (hand-written, both dialects): a master's row when
their visits or time overrides change, `catalog` when the owner's service overrides do.
Each process caches those tables and re-reads them only when a counter moved
(bot.booking.versions)."""

from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

_TABLE = """
CREATE TABLE IF NOT EXISTS "cache_version" (
    "key" VARCHAR(40) NOT NULL PRIMARY KEY,
    "version" BIGINT NOT NULL DEFAULT 0
);
"""
_BUMP = """INSERT INTO "cache_version" ("key", "version") VALUES ({key}, 1)
    ON CONFLICT ("key") DO UPDATE SET "version" = "cache_version"."version" + 1;"""
# Appointment columns that change a master's busy time (not confirmations, payments, ...).
_VISIT_COLUMNS = '"status", "start", "end", "master_id"'


def _sqlite_trigger(name: str, event: str, table: str, keys: list[str]) -> str:
    bumps = "\n    ".join(_BUMP.format(key=key) for key in keys)
    return f"""CREATE TRIGGER IF NOT EXISTS "{name}" AFTER {event} ON "{table}"
BEGIN
    {bumps}
END;
"""


def _sqlite() -> str:
    new, old = "'master:' || NEW.\"master_id\"", "'master:' || OLD.\"master_id\""
    parts = [_TABLE]
    for table, columns in (("appointment", _VISIT_COLUMNS), ("schedule_override", None)):
        update = f"UPDATE OF {columns}" if columns else "UPDATE"
        parts += [
            _sqlite_trigger(f"cache_version_{table}_insert", "INSERT", table, [new]),
            _sqlite_trigger(f"cache_version_{table}_update", update, table, [old, new]),
            _sqlite_trigger(f"cache_version_{table}_delete", "DELETE", table, [old]),
        ]
    for event in ("INSERT", "UPDATE", "DELETE"):
        name = f"cache_version_service_override_{event.lower()}"
        parts.append(_sqlite_trigger(name, event, "service_override", ["'catalog'"]))
    return "".join(parts)


_POSTGRES_FUNCTIONS = """
CREATE OR REPLACE FUNCTION "cache_version_master"() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        {old}
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {new}
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION "cache_version_catalog"() RETURNS trigger AS $$
BEGIN
    {catalog}
    RETURN NULL;
END $$ LANGUAGE plpgsql;
""".format(
    old=_BUMP.format(key="'master:' || OLD.\"master_id\""),
    new=_BUMP.format(key="'master:' || NEW.\"master_id\""),
    catalog=_BUMP.format(key="'catalog'"),
)
_POSTGRES_TRIGGERS = f"""
DROP TRIGGER IF EXISTS "cache_version_appointment" ON "appointment";
CREATE TRIGGER "cache_version_appointment"
    AFTER INSERT OR DELETE OR UPDATE OF {_VISIT_COLUMNS} ON "appointment"
    FOR EACH ROW EXECUTE PROCEDURE "cache_version_master"();
DROP TRIGGER IF EXISTS "cache_version_schedule_override" ON "schedule_override";
CREATE TRIGGER "cache_version_schedule_override"
    AFTER INSERT OR DELETE OR UPDATE ON "schedule_override"
    FOR EACH ROW EXECUTE PROCEDURE "cache_version_master"();
DROP TRIGGER IF EXISTS "cache_version_service_override" ON "service_override";
CREATE TRIGGER "cache_version_service_override"
    AFTER INSERT OR DELETE OR UPDATE ON "service_override"
    FOR EACH STATEMENT EXECUTE PROCEDURE "cache_version_catalog"();
"""

SQLITE = _sqlite()
POSTGRES = _TABLE + _POSTGRES_FUNCTIONS + _POSTGRES_TRIGGERS


async def upgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    if db.capabilities.dialect == "postgres":
        return """
DROP TRIGGER IF EXISTS "cache_version_appointment" ON "appointment";
DROP TRIGGER IF EXISTS "cache_version_schedule_override" ON "schedule_override";
DROP TRIGGER IF EXISTS "cache_version_service_override" ON "service_override";
DROP FUNCTION IF EXISTS "cache_version_master"();
DROP FUNCTION IF EXISTS "cache_version_catalog"();
DROP TABLE IF EXISTS "cache_version";
"""
    drops = [
        f'DROP TRIGGER IF EXISTS "cache_version_{table}_{event}";'
        for table in ("appointment", "schedule_override", "service_override")
        for event in ("insert", "update", "delete")
    ]
    return "\n".join([*drops, 'DROP TABLE IF EXISTS "cache_version";'])
