from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True

SQLITE = """
        CREATE TABLE IF NOT EXISTS "client" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "channel" VARCHAR(16) NOT NULL,
    "channel_user_id" VARCHAR(64) NOT NULL,
    "name" VARCHAR(80),
    "phone" VARCHAR(20),
    "consent_at" TIMESTAMP,
    "consent_policy_version" VARCHAR(32),
    "erased_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_client_channel_8ae659" UNIQUE ("channel", "channel_user_id")
) /* A person who consented to personal-data processing (no row exists before consent). */;
CREATE TABLE IF NOT EXISTS "invite" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "token" VARCHAR(32) NOT NULL UNIQUE,
    "role" VARCHAR(16) NOT NULL /* OWNER: owner\nMANAGER: manager\nMASTER: master */,
    "master_id" VARCHAR(16),
    "created_by" BIGINT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "used_by" BIGINT,
    "used_at" TIMESTAMP
) /* A one-time deep link for joining the staff bot in a role. */;
CREATE TABLE IF NOT EXISTS "lead" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "channel" VARCHAR(16) NOT NULL,
    "source" VARCHAR(24),
    "campaign" VARCHAR(32),
    "status" VARCHAR(16) NOT NULL /* NEW: new\nQUALIFIED: qualified\nCONFIRMED: confirmed\nCAME: came\nNO_SHOW: no_show\nLOST: lost */,
    "lost_reason" VARCHAR(200),
    "manager_id" BIGINT,
    "needs_human" INT NOT NULL,
    "handoff_reason" VARCHAR(32),
    "attention_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "client_id" INT REFERENCES "client" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_lead_source_1b1661" ON "lead" ("source");
CREATE INDEX IF NOT EXISTS "idx_lead_created_33103f" ON "lead" ("created_at");
CREATE TABLE IF NOT EXISTS "appointment" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "service_id" VARCHAR(16) NOT NULL,
    "addon_ids" JSON NOT NULL,
    "master_id" VARCHAR(16) NOT NULL,
    "start" TIMESTAMP NOT NULL,
    "end" TIMESTAMP NOT NULL,
    "price_kop" BIGINT NOT NULL,
    "deposit_kop" BIGINT NOT NULL,
    "paid_kop" BIGINT,
    "status" VARCHAR(16) NOT NULL /* PENDING: pending\nCONFIRMED: confirmed\nCANCELLED: cancelled\nCAME: came\nNO_SHOW: no_show */,
    "client_confirmed_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL,
    "cancelled_at" TIMESTAMP,
    "client_id" INT REFERENCES "client" ("id") ON DELETE SET NULL,
    "lead_id" INT REFERENCES "lead" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_appointment_master__75ac12" ON "appointment" ("master_id");
CREATE INDEX IF NOT EXISTS "idx_appointment_start_17b97e" ON "appointment" ("start");
CREATE TABLE IF NOT EXISTS "conversation" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "channel" VARCHAR(16) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "relay_staff_id" BIGINT,
    "state" JSON NOT NULL,
    "version" INT NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "client_id" INT REFERENCES "client" ("id") ON DELETE SET NULL,
    "lead_id" INT REFERENCES "lead" ("id") ON DELETE SET NULL,
    CONSTRAINT "uid_conversatio_channel_5a3658" UNIQUE ("channel", "chat_id")
) /* Scenario state per chat, so a restart mid-dialogue loses nothing. */;
CREATE TABLE IF NOT EXISTS "lead_event" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "at" TIMESTAMP NOT NULL,
    "actor" VARCHAR(32) NOT NULL,
    "from_status" VARCHAR(16) /* NEW: new\nQUALIFIED: qualified\nCONFIRMED: confirmed\nCAME: came\nNO_SHOW: no_show\nLOST: lost */,
    "to_status" VARCHAR(16) NOT NULL /* NEW: new\nQUALIFIED: qualified\nCONFIRMED: confirmed\nCAME: came\nNO_SHOW: no_show\nLOST: lost */,
    "kind" VARCHAR(16) NOT NULL,
    "note" VARCHAR(200),
    "lead_id" INT NOT NULL REFERENCES "lead" ("id") ON DELETE CASCADE
) /* Every status change of a lead: who, when, from, to. */;
CREATE INDEX IF NOT EXISTS "idx_lead_event_at_063944" ON "lead_event" ("at");
CREATE TABLE IF NOT EXISTS "master_cell" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "master_id" VARCHAR(16) NOT NULL,
    "cell" BIGINT NOT NULL,
    "appointment_id" INT NOT NULL REFERENCES "appointment" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_master_cell_master__3ccf75" UNIQUE ("master_id", "cell")
) /* One grid step of a master's time held by an appointment (incl. its buffer). */;
CREATE TABLE IF NOT EXISTS "message_log" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "channel" VARCHAR(16) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "direction" VARCHAR(3) NOT NULL,
    "author" VARCHAR(32) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "text" TEXT,
    "at" TIMESTAMP NOT NULL,
    "client_id" INT REFERENCES "client" ("id") ON DELETE SET NULL,
    "lead_id" INT REFERENCES "lead" ("id") ON DELETE SET NULL
) /* Every inbound and outbound message with its time (response-time KPIs). */;
CREATE INDEX IF NOT EXISTS "idx_message_log_at_25a765" ON "message_log" ("at");
CREATE TABLE IF NOT EXISTS "outbox" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "bot" VARCHAR(16) NOT NULL,
    "channel" VARCHAR(16) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "kind" VARCHAR(24) NOT NULL,
    "payload" JSON NOT NULL,
    "dedup_key" VARCHAR(128) NOT NULL UNIQUE,
    "lead_id" INT,
    "status" VARCHAR(8) NOT NULL /* PENDING: pending\nSENT: sent\nDEAD: dead\nSKIPPED: skipped */,
    "attempts" INT NOT NULL,
    "due_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "sent_at" TIMESTAMP,
    "message_id" BIGINT,
    "error" VARCHAR(200),
    "locked_until" TIMESTAMP,
    "appointment_id" INT,
    "valid_start" TIMESTAMP
) /* A message to send later, written in the transaction of the change that causes it. */;
CREATE INDEX IF NOT EXISTS "idx_outbox_lead_id_a95c48" ON "outbox" ("lead_id");
CREATE INDEX IF NOT EXISTS "idx_outbox_due_at_398050" ON "outbox" ("due_at");
CREATE INDEX IF NOT EXISTS "idx_outbox_appoint_748c80" ON "outbox" ("appointment_id");
CREATE TABLE IF NOT EXISTS "outcome_prompt" (
    "appointment_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "at" TIMESTAMP NOT NULL
) /* The came-or-no-show question was asked for this appointment (once, by any process). */;
CREATE TABLE IF NOT EXISTS "sla_breach" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kind" VARCHAR(24) NOT NULL,
    "due_at" TIMESTAMP NOT NULL,
    "detected_at" TIMESTAMP NOT NULL,
    "lead_id" INT NOT NULL REFERENCES "lead" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_sla_breach_lead_id_5e6298" UNIQUE ("lead_id", "kind")
) /* A missed SLA deadline: recorded once per lead and kind (compliance is a KPI). */;
CREATE INDEX IF NOT EXISTS "idx_sla_breach_detecte_0f18ab" ON "sla_breach" ("detected_at");
CREATE TABLE IF NOT EXISTS "staff_awaiting" (
    "telegram_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "what" VARCHAR(16) NOT NULL,
    "ref" INT NOT NULL,
    "at" TIMESTAMP NOT NULL
) /* A staff member's next typed message answers a question (an amount, a reason). */;
CREATE TABLE IF NOT EXISTS "staff_member" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "telegram_id" BIGINT NOT NULL UNIQUE,
    "role" VARCHAR(16) NOT NULL /* OWNER: owner\nMANAGER: manager\nMASTER: master */,
    "master_id" VARCHAR(16),
    "name" VARCHAR(80) NOT NULL,
    "active" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "removed_at" TIMESTAMP
) /* A manager or master who joined through an invite (owners come from the config). */;
CREATE TABLE IF NOT EXISTS "staff_refusal" (
    "telegram_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "at" TIMESTAMP NOT NULL
) /* Strangers who were already told «no» once: they get nothing more. */;
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""

POSTGRES = """
        CREATE TABLE IF NOT EXISTS "client" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "channel" VARCHAR(16) NOT NULL,
    "channel_user_id" VARCHAR(64) NOT NULL,
    "name" VARCHAR(80),
    "phone" VARCHAR(20),
    "consent_at" TIMESTAMPTZ,
    "consent_policy_version" VARCHAR(32),
    "erased_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    CONSTRAINT "uid_client_channel_8ae659" UNIQUE ("channel", "channel_user_id")
);
COMMENT ON TABLE "client" IS 'A person who consented to personal-data processing (no row exists before consent).';
CREATE TABLE IF NOT EXISTS "invite" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "token" VARCHAR(32) NOT NULL UNIQUE,
    "role" VARCHAR(16) NOT NULL,
    "master_id" VARCHAR(16),
    "created_by" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "used_by" BIGINT,
    "used_at" TIMESTAMPTZ
);
COMMENT ON COLUMN "invite"."role" IS 'OWNER: owner\nMANAGER: manager\nMASTER: master';
COMMENT ON TABLE "invite" IS 'A one-time deep link for joining the staff bot in a role.';
CREATE TABLE IF NOT EXISTS "lead" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "channel" VARCHAR(16) NOT NULL,
    "source" VARCHAR(24),
    "campaign" VARCHAR(32),
    "status" VARCHAR(16) NOT NULL,
    "lost_reason" VARCHAR(200),
    "manager_id" BIGINT,
    "needs_human" BOOL NOT NULL,
    "handoff_reason" VARCHAR(32),
    "attention_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "client_id" INT REFERENCES "client" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_lead_source_1b1661" ON "lead" ("source");
CREATE INDEX IF NOT EXISTS "idx_lead_created_33103f" ON "lead" ("created_at");
COMMENT ON COLUMN "lead"."status" IS 'NEW: new\nQUALIFIED: qualified\nCONFIRMED: confirmed\nCAME: came\nNO_SHOW: no_show\nLOST: lost';
CREATE TABLE IF NOT EXISTS "appointment" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "service_id" VARCHAR(16) NOT NULL,
    "addon_ids" JSONB NOT NULL,
    "master_id" VARCHAR(16) NOT NULL,
    "start" TIMESTAMPTZ NOT NULL,
    "end" TIMESTAMPTZ NOT NULL,
    "price_kop" BIGINT NOT NULL,
    "deposit_kop" BIGINT NOT NULL,
    "paid_kop" BIGINT,
    "status" VARCHAR(16) NOT NULL,
    "client_confirmed_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "cancelled_at" TIMESTAMPTZ,
    "client_id" INT REFERENCES "client" ("id") ON DELETE SET NULL,
    "lead_id" INT REFERENCES "lead" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_appointment_master__75ac12" ON "appointment" ("master_id");
CREATE INDEX IF NOT EXISTS "idx_appointment_start_17b97e" ON "appointment" ("start");
COMMENT ON COLUMN "appointment"."status" IS 'PENDING: pending\nCONFIRMED: confirmed\nCANCELLED: cancelled\nCAME: came\nNO_SHOW: no_show';
CREATE TABLE IF NOT EXISTS "conversation" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "channel" VARCHAR(16) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "relay_staff_id" BIGINT,
    "state" JSONB NOT NULL,
    "version" INT NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL,
    "client_id" INT REFERENCES "client" ("id") ON DELETE SET NULL,
    "lead_id" INT REFERENCES "lead" ("id") ON DELETE SET NULL,
    CONSTRAINT "uid_conversatio_channel_5a3658" UNIQUE ("channel", "chat_id")
);
COMMENT ON TABLE "conversation" IS 'Scenario state per chat, so a restart mid-dialogue loses nothing.';
CREATE TABLE IF NOT EXISTS "lead_event" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL,
    "actor" VARCHAR(32) NOT NULL,
    "from_status" VARCHAR(16),
    "to_status" VARCHAR(16) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "note" VARCHAR(200),
    "lead_id" INT NOT NULL REFERENCES "lead" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_lead_event_at_063944" ON "lead_event" ("at");
COMMENT ON COLUMN "lead_event"."from_status" IS 'NEW: new\nQUALIFIED: qualified\nCONFIRMED: confirmed\nCAME: came\nNO_SHOW: no_show\nLOST: lost';
COMMENT ON COLUMN "lead_event"."to_status" IS 'NEW: new\nQUALIFIED: qualified\nCONFIRMED: confirmed\nCAME: came\nNO_SHOW: no_show\nLOST: lost';
COMMENT ON TABLE "lead_event" IS 'Every status change of a lead: who, when, from, to.';
CREATE TABLE IF NOT EXISTS "master_cell" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "master_id" VARCHAR(16) NOT NULL,
    "cell" BIGINT NOT NULL,
    "appointment_id" INT NOT NULL REFERENCES "appointment" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_master_cell_master__3ccf75" UNIQUE ("master_id", "cell")
);
COMMENT ON TABLE "master_cell" IS 'One grid step of a master''s time held by an appointment (incl. its buffer).';
CREATE TABLE IF NOT EXISTS "message_log" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "channel" VARCHAR(16) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "direction" VARCHAR(3) NOT NULL,
    "author" VARCHAR(32) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "text" TEXT,
    "at" TIMESTAMPTZ NOT NULL,
    "client_id" INT REFERENCES "client" ("id") ON DELETE SET NULL,
    "lead_id" INT REFERENCES "lead" ("id") ON DELETE SET NULL
);
CREATE INDEX IF NOT EXISTS "idx_message_log_at_25a765" ON "message_log" ("at");
COMMENT ON TABLE "message_log" IS 'Every inbound and outbound message with its time (response-time KPIs).';
CREATE TABLE IF NOT EXISTS "outbox" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "bot" VARCHAR(16) NOT NULL,
    "channel" VARCHAR(16) NOT NULL,
    "chat_id" VARCHAR(64) NOT NULL,
    "kind" VARCHAR(24) NOT NULL,
    "payload" JSONB NOT NULL,
    "dedup_key" VARCHAR(128) NOT NULL UNIQUE,
    "lead_id" INT,
    "status" VARCHAR(8) NOT NULL,
    "attempts" INT NOT NULL,
    "due_at" TIMESTAMPTZ NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "sent_at" TIMESTAMPTZ,
    "message_id" BIGINT,
    "error" VARCHAR(200),
    "locked_until" TIMESTAMPTZ,
    "appointment_id" INT,
    "valid_start" TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS "idx_outbox_lead_id_a95c48" ON "outbox" ("lead_id");
CREATE INDEX IF NOT EXISTS "idx_outbox_due_at_398050" ON "outbox" ("due_at");
CREATE INDEX IF NOT EXISTS "idx_outbox_appoint_748c80" ON "outbox" ("appointment_id");
COMMENT ON COLUMN "outbox"."status" IS 'PENDING: pending\nSENT: sent\nDEAD: dead\nSKIPPED: skipped';
COMMENT ON TABLE "outbox" IS 'A message to send later, written in the transaction of the change that causes it.';
CREATE TABLE IF NOT EXISTS "outcome_prompt" (
    "appointment_id" SERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "outcome_prompt" IS 'The came-or-no-show question was asked for this appointment (once, by any process).';
CREATE TABLE IF NOT EXISTS "sla_breach" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "kind" VARCHAR(24) NOT NULL,
    "due_at" TIMESTAMPTZ NOT NULL,
    "detected_at" TIMESTAMPTZ NOT NULL,
    "lead_id" INT NOT NULL REFERENCES "lead" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_sla_breach_lead_id_5e6298" UNIQUE ("lead_id", "kind")
);
CREATE INDEX IF NOT EXISTS "idx_sla_breach_detecte_0f18ab" ON "sla_breach" ("detected_at");
COMMENT ON TABLE "sla_breach" IS 'A missed SLA deadline: recorded once per lead and kind (compliance is a KPI).';
CREATE TABLE IF NOT EXISTS "staff_awaiting" (
    "telegram_id" BIGSERIAL NOT NULL PRIMARY KEY,
    "what" VARCHAR(16) NOT NULL,
    "ref" INT NOT NULL,
    "at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "staff_awaiting" IS 'A staff member''s next typed message answers a question (an amount, a reason).';
CREATE TABLE IF NOT EXISTS "staff_member" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "telegram_id" BIGINT NOT NULL UNIQUE,
    "role" VARCHAR(16) NOT NULL,
    "master_id" VARCHAR(16),
    "name" VARCHAR(80) NOT NULL,
    "active" BOOL NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "removed_at" TIMESTAMPTZ
);
COMMENT ON COLUMN "staff_member"."role" IS 'OWNER: owner\nMANAGER: manager\nMASTER: master';
COMMENT ON TABLE "staff_member" IS 'A manager or master who joined through an invite (owners come from the config).';
CREATE TABLE IF NOT EXISTS "staff_refusal" (
    "telegram_id" BIGSERIAL NOT NULL PRIMARY KEY,
    "at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "staff_refusal" IS 'Strangers who were already told «no» once: they get nothing more.';
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSONB NOT NULL
);"""



async def upgrade(db: BaseDBAsyncClient) -> str:
    # One schema, two dialects: the embedded SQLite default and PostgreSQL.
    if db.capabilities.dialect == "postgres":
        return POSTGRES
    return SQLITE


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXVtv2zgW/iuEXzYDpEXi9JINFgs4idvJNrEzsbsdzGQg0BZtcyKTGomKE8z2vy+PLr"
    "aujuT4Qqt8aWOKh5I+kofnrr8bU24Sy33bsm1OmZgSJhpn6O8Gw1Mi/8i7fIga2LYXF6FB"
    "4IHl98epjgNXOHgIY46w5RLZZBJ36FBbUM5kK/MsCxr5UHakbLxo8hj9yyOG4GMiJsSRF3"
    "7/QzZTZpIn4kY/7QdjRIllJh6amnBvv90Qz7bfdsXEJ78j3G1gDLnlTdmis/0sJpzNe9Pg"
    "8ceEEQcLAsMLx4PHh6cLXzZ6o+BJF12CR4zRmGSEPUvEXndgLNoahtHp9o1eu28YjQoADT"
    "kDcOWjuv7bj+ER3jSP3318d3ry4d2p7OI/5rzl4/fg1gtgAkIfnk6/8d2/jgUOevgYL0B1"
    "ifNIh8TIA/digp18dJNUKZTl46dRjjBdBnPUsMB5sba2AfQUPxkWYWMxkT+PPyxB9b+tu4"
    "ufW3cHxx9+ghtyuRWCbdIJrzT9SwD8AmhsmhIjarpZnP/T63bycU4QpWA26VCg/yGLuplF"
    "vS64G/8aeWwISKKBRy1BmfsW7vfvxoYmYQnoABKMPHXdv6w42Ac3rV/T83Bx3T33IeOuGD"
    "v+KP4A56lJmWJXEKfi4k8QbWrtb5XHbHjpuwI7IovwpQRI0CkpYDERUXrZh1Rvoz/2D+8l"
    "+Pavbtq9fuvmNrHUL1v9Nlxp+q3PqdaD9FzMB0Hfrvo/I/iJfut22ukdMe/X/60Bz4Q9wQ"
    "3GZ4ZkOzGQouaoKTG3hOXsneUzG5JsZ163eobUaWJtBw74B25np/ecjgvlrgTZy+LXHkxq"
    "KIH9s9k8OfnYPDr5cPr+3ceP70+P5qJY9tIymez86jOIZYmJjeS0BfwmkRNKRfUJSBFubw"
    "qOaoW/jam5wuqPUa2EfHgM/dhrXx79wsuRk0EkazNv6mN/JR8UsyHJExxCapX1ksZtu3N5"
    "1fl8hmx5Hso5uGcXUgu4urtpX54hOQ0j6kyJKVtbnYv29bXfCu9rWUHrTRsapuSedbpG7+"
    "fuN/kU3HAnkp0rIfQNLUqYMOZvYuDKImDBEGsQHBTbZnWSG4YOAdxXme4EpRYP1Z7miBet"
    "MtEpWr2hlZ7pgAtXsr4maGokCL3SDLsA1SLYrAZpjEIDGgAKnoLRQ65ZG9DKgvuJO4SO2R"
    "fynBEhU5iGDpLrcJj9wvZ7tHai1sUjOng296zEl5R8dfnCRPgvL++POl+vrxs5fGANoF7M"
    "B6onrAnmVwAsLN0BHj7MsGMaBWsYzsgcLeg8JPv05Y5Y2H+JQqhvfFP1hRxof8WlDN4+eL"
    "zJY6Al4Mxemjan6RbM8Nh/Jbg33Cm5OHOcpYtlW+wnXeyRF12kjZbU/ByXMzSbcFD4XElJ"
    "TCR42I6tN+C1Q7bDh8R1JVLogHHk8BkiT9QVLhqQkdx7Ee1Pb9OK34ZukePC/b0xnGDGiL"
    "/Mwj8Nzw28JH9oB+8OHbyxiSnr4IqRqGxCUca/lV7w1aGOk9YQ8g/vSkD+4V0h5HApCbn/"
    "fwWco/4rgauYHJLE9vSoBLanR4XYwqWU6VsiVAncOUH90G2WQbdZjG4zg254lK5iNklQaq"
    "OJ0kaTcK5sbtHhs/Eoxa1QUC99MhSOUL9ddtIssctOmoW7DC4ld5mEwl3JNpkg1HtM6T2m"
    "PQ11neaMZa+MvSQWpPxKs0kqLnovt3jWbJI6n+BE8XF4JVgXsaFqihYYSl+JUr0syckgWu"
    "K6eExea6oMRrnm4xrBtFFLZXzf5dkrU/tyidUy3fNF22VvSBh2KEcQbEPAmoiGEywOkcsR"
    "RpL5Q/AumlLzjUmxxcceQRZ3iYsYFxOJZNZUuZYRS1gmhbZIaovkzhnGFiyS+R77pRAXOO"
    "zrAPH6LZCOPNGeDcmWRqNcpJeFiWZpa+TS30GwaI61sjinak6gRj4V3LY2+VSFdq7CrVBs"
    "19rfUPW1RQl5trmihSNJqS0cylk4dISdjrBTH9AlEXY6HCxaP2sIB0sv3DXAWi+DUxrUl0"
    "MXiy3GmzTKXLFH6j9JxhwTXjlcZoihiz4lwsc4I2/g9EYmIbaUW9kDGnEH/ckpg0guMSHI"
    "VzHQgAtEGZhRuEXyosReMZKu56GWcUXwB1LJzzwnWI/Wv1twN+xVhlWfj+3LaYkRrcrGlU"
    "b3W6d9d4b4TD7NPbtpdVqf4XfA7vyWXj9ogLjiNCfZja1rRzU8FDs4N25RDF3mg+dqpq4k"
    "nS4IsLKdS0c7vCQ01sIWQJ5sKodbJXIpQamnWelp9twVeGmMqEYGii3zUW+1uEBPRwWqu7"
    "MqhIttUvn3TS45qn9kiilW/CObjy6sWRtFXEc5bL6uIPecYaVMlQXFhnS+3Vk7mmUiHJrF"
    "EQ7NTITDEE9tTMfVshZiNPVTq9dvUdq/UlcNRmaNamg3Om2oTkVm9+yXr63rq09XUM3qLw"
    "9bVL61WVz5qrjG1T277vb6ZxADKNQwQ8GTGFLTdqul+aTI6rdnmkflUuiW5dBlkuhCg2Tl"
    "wKsknVaiVlWiGCGma0w8iWfOBHAu5VlWkIibpExNwUCSbopxzVu2q0Cdd7vXCd3p/CoFb+"
    "frzXlbcht/A8hOgQMxB3UpHpp8NFqBy2Qp68do1n84YyEIg4dawV6QptVGA9WMBvtrXNe1"
    "ylc0uupwyh9hmnU4pY7+UyZQbV3F4HRys05u3gxa5PH1awo8HO3HcitK0aNP5zivASbXws"
    "ZASsTDyWuh6ln43B+oTitq087HYAsWeCDn+3O5G9Igj6VLWMohnWcUWKEhXZuNCeIjhBEM"
    "dAZVJw/lP4QdopHDp4dI8Gz08YpjaHenWu7OVSwkWmNWXZWSu587VQyNc4IaOrDXb2AEjm"
    "a8zgWYGkJhs+4P4QWUe+l185kYQOVN9ENM5wPN+7xhMfuL+m/RHb9YLfsYwsN4XvGGJXV8"
    "eW7tBpX4nEp+8u0nQSt3hNfpOyOqgfvabN2LVu+iddneVbJu7OsYOTpz8tsZxUpzmEo2jD"
    "q+qDV3GUFjh5pS6SV2oOsGY/zDRX4W7kQ+PRo8I8xQzOyLDigbWm8Rhc8yeKMRcXK++LDG"
    "se/ZPetPCAoWGzoIxjlE8KI/IRtTB1FXquZYyFs8EBeZ3JOQoAHnD5A1TKdSG3GpbJKLYs"
    "bvGZeaviVvChfj5mw04558KIgMCVKN5Tz4dzmUTxk0gdo5wC5BDhl5UPVNNt4zl8iVZyIq"
    "/3CE/yRE3iL6moV8GSl4TGVnkJHRQe+XayoIkvtS7k4X9drX7Ys+uveaR80P6FP3Dn29BZ"
    "1ryTcuEkmD/nzrQnK7tDmo+/X2WoVZR5ytQtJnSFEnCWLLEXYxBllNgMsS1mkWNiXH4aRT"
    "9JXiXDUXq2pQl5XqsitNKeFu4WvLE+4Snrglwl3Qz7DCjiVdIpQNuCdFE5BfuCeCH+FYaE"
    "bFxJe0fIHsQAojNnzrIajA8uX2ys2R69Y3rHacqCXE6DwxXQ13/6vhmtQhw8ijXxbkBFEN"
    "YT4p4y8qdhdlwtE9iVA1b9ycoo7ort0dp761f4+ZsCBPOaJ1X7bmgxv1r4Olf1lIQPvXfi"
    "IaIFOGeR4RcN3tfI66p2szpxNXskjrYIx9D8bQce26TLCagOpEAV0mWElQVS0T3AXjzVMj"
    "xzAVXjlcZpTiiz4lygRH9iHBkUuYiSzsu/FmDoUUVSjnCx42OQxzcfBtCj7ym8JgXAEevi"
    "H23W5U5JUP3sAdtJVKLSvVgOfw8GLNKOyuFaPyX49X3gAoNTKLjB08bewv0NoMuFkzoLag"
    "bLAel42fLZ4n9BV/6ypGsv2vXe1Grd/Id61MYnq28UByCrYuMW/HiWpXXf+4eVqGQTdPiz"
    "k0XFNfG98/MW6vy8vZUoMAiKoh3Lhtdy6vOp/PUEh/z3rtTv8MFBJxzy7brcszZMq1Itu/"
    "XN3eQlaC+0Btm5hphabM4i+z9IsXfmbZQ7GgqZ2XhF0c5hMj0R/OS697U+qO1Y3gCyptCF"
    "faEL5X1ZpUEYz2bpqBda8wxzEyXXRN5fmNYusqF/FM0NXIB7PlEGPiONXCSeYEdfDJbyP7"
    "jg8f5GHjMUFzzHvLuViaVrMylVnZrqP1663FPmKLmpAW71QWBlKkeheptosyoQM7c8hCru"
    "Ctw6VS3cj3y8Y6HL7gnoWuhr3o+6KbFhItoSjCG+68YfwNVENAcn25vrd0hl2EXXkc+F9l"
    "FRPqJnM3ORvKIf2kzuco+zEnh2BD93iFq3arbPNHd+GqHRSomeb+Mc1Fjb4chpko4FfMLB"
    "cVA8sxyhaaUteVbKp33fINuhZl5Aw5ZMgdUzYDn0I2cfzycX6iFPgY0YHkyLZFwcwNWesY"
    "EqJyWOTaR8/NI49Ct3zvp04h3yVT1A7rDTqs98MKr0+eCidP0ikuyHA1O3yKVLtbVJ5nXU"
    "RKF5FSOJZ7x3UGegKPRq0ZpiJ4yawgnOiwXBiGrgaO9y0hEPtUaEqmA7/MEyNPAsHSWJQG"
    "wMydEQcE07m+fwAFoKbcY+JQNgffhcoViNc8+iusBVH8aWWHUYqwNlLxVvxFxbIzFNyqIj"
    "tH/WsoO68/WNkhowoHbthbH7Z5lZS03asuUqkqdi84Em/8E7HwwA8vlzjup4ueZaxfwRdM"
    "EXfCwo7whQT0J6fMr57ocG88geKOlD1CtcMDPmNwNoNDIqiD6OddQT3mcb79a93j60wutS"
    "xe25Oi1A9o30nYjcOtgpLXL0dkR7Qqi1CN7rdO++4M+Zzhnt20Oq3P8DvkLNDS6wcNwF/S"
    "PGg34taOSokqFkyw8WrveFqt2nvYX+XlviK4p2XizU6Lw81OM9FmkFr9mAPv0s9xL4i2+C"
    "XuiMfv7Ye4dQD6KhOwFypGUgef8seVpjlJqaPOVJtllRTJOyhpj3M/QZC4fviyKunEur6o"
    "S/agIMcYlDfQ8GbEIQhbkj2Zz0hwy0T33tERHjAO/w8GfujDGWh3z0hqcohxMYFC/lPukK"
    "weueaxtdF4z7QdHYWmmei2mGiLODQ/BC28spRx4kWflzhm8cRqG5daNi74ZHfFWsQxkhpq"
    "m83378sEd71/XxzdBdcyn6iognDYvYboHpdKHjtekjx2nE0ek3cUuZUTi6u9xEh0tZeK1V"
    "52eph9/z/LsG6+"
)
