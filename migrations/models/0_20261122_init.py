from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
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
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXVlv27gW/iuEX24KuEGirBNcDOA4Tutbx+4k7sxgJgOBlmibiEyqIhU36PS/30PJsr"
    "U63iOremljkofLd7icjdT3yoibxBKHNdvmlMkRYbJyhb5XGB4R+CMtu4oq2LZnmSpB4p7l"
    "lcexgj0hHWyoOvvYEgSSTCIMh9qScgapzLUslcgNKEjZYJbkMvrVJbrkAyKHxIGMv/+BZM"
    "pM8o2I4Kf9pPcpscxIp6mp2vbSdflie2lNJm+9gqq1nm5wyx2xWWH7RQ45m5amfvcHhBEH"
    "S6Kql46ruq96NxlsMCK/p7MifhdDNCbpY9eSoeH29FlaRdfbna7+0OjqemUJgAzOFLjQVe"
    "GNfqC68F47Pr04vTw5P72EIl43pykXP/ymZ8D4hB487W7lh5ePJfZLeBjPQBXEeaYG0dPA"
    "rQ+xk45ulCqGMnQ/jnKA6TyYg4QZzrO5tQugR/ibbhE2kEP4eXw+B9Xfa/f1j7X7g+Pzd6"
    "pBDkvBXybtSY7mZSngZ0Bj0wSMqCmSOP/vodNOxzlCFIPZpIZE/yKLisSk3hTclf/2XWYo"
    "JFHPpZakTByq9n6tbIkJc0BXIKmaR0J8tcJgH9zV/ozzod7qXHuQcSEHjleLV8F1jCkjLC"
    "Rxlpz8EaJtzf2d7jFbnvpCYkcmEb4BgCQdkYwtJiCKT/sJ1WHwx/7hPQffbvOu8dCt3X2O"
    "TPWbWrehcjQv9SWWehDnxbQS9Eez+xGpn+ivTrsRXxHTct2/KqpP2JVcZ3ysw7YTAilIDp"
    "IivCUsZe3M5+yEZDd83ekZUiTG2o464J+4nWTvNR1kyl0RstfFrz1g6kQC+0XTTk4utKOT"
    "88uz04uLs8ujqSiWzJonk103PyixLMLYQE6bwW8SYCiVyzMgRrg7FhwVCn8bU3OF2R+iWg"
    "n5yTH0c899OPqlmyInK5GswdyRh30TOoqZQdIEhwl1nvWSyudG+6bZ/nCFbDgPgQePrA5a"
    "QPP+rnFzhYANfeqMiAmptXa90Wp5qWq8luWn3jVUwog8snZHf/jY+QN6wXUxhO08F0KfYV"
    "HCpD4diY6XFgEzqtiA4JCzZVYkucFwiMJ9FXZHKEvxMN9sDvaiVRgdoy0XdK457e/CS1lf"
    "IzQFEoTWNMPOQLUINpeDNERRAuoDqjwF/adUs7ZCKwnuLXcIHbBP5CUhQsYwnThIWpNq9g"
    "vbH8HcCVJnXXTweOpZCU8pGDoMmEhv8NA+an9ptSop+8AGQK1PKyomrJHNLwNYNXV72Hga"
    "Y8fUM+awOiNTtKDrCdntp3tiYW8QmVDfeabqOlS0v+JSAm8PPK7xEGgROJNZI20UT8EMD7"
    "whqbZVS9HJmeIsnU3bbD/pbI286iKt1EDzcwRnaDzkSuETQElMJPkkHVvvldcO2Q43iBCA"
    "FDpgHDl8jMg3KqRAPdKHtRfQvjuMK35baiLFhft3xRhixog3zSZ/6q7wvST/lA7eN3Twhh"
    "izqIMrRJJnE0pu/FvxCb881GHSAkJ+froA5OenmZCrrCjk3v9L4ByUXwncnMkhUWwvjxbA"
    "9vIoE1uVFTN9A0JLgTslKB662iLoatnoagl0J0fpKmaTCGVpNMm10WTCK5tb1HjRn0Hcmg"
    "jqC58MmTUUb5WdaAusshMtc5WprOgqAyjESrbJCGG5xnK9xkpPQ1HZnLDsLWIvCQUpr2k2"
    "icVF7+UST5pNYueTOlE8HNYEqx6qqqBoKUPpmigVy5IcDaIlQuABWddU6dfS4oMCwbRVS2"
    "V43aXZK2Prco7VMl7yVdvlg0EYdihHKtiGKGsiMoZYVpHgCCPY/FXwLhpR871JscUHLkEW"
    "F0QgxuUQkEyaKjdS4wKWSVlaJEuL5JtvGDuwSKZ77OdCnOGwLwLEm7dAevtUEuDsuzxTgn"
    "zc41HNFuYeT6Z9JXOzzran7G+I9MaiU1zbXFGzjlKWmnXuNOsysquM7Mo/oHMiu8owpGD+"
    "bCAMKT5xNwBrsQwdcVBfD5nLtlRu0xjgoZ5iBAi4ka38B2wv33TYqx2yWirYb3qlnbuOsV"
    "SQxIxiS/7bt3sxQFtEudaylWstoVwbeGRjOHaWmsIhmtJF/rqLfP9uWVYYGS9psai0G+pi"
    "JBk/st++1FrN26a6SPnVxRaFUZvZly6zr1c+slbnoXulzM8ybsZ+m81I9UR3CBbLRZjEyI"
    "q3ZrSjxaK35oVvJeK3fBEsPc5z3tXwKF2BFL0dXw5nhJhCH7qAZwoDOAd5lmXEgEYpYyzo"
    "Aem2Nq5pym4NUtedTitii7puxuBtf7m7bsBu4y0AKERlBuogHpq8319hl0lSFm+j2fzhvF"
    "+xTeXjSasZYEs7+0/B5tLOXpqFc2PB3NTt1DLasoy23A5a5Hn9OaXs3o3nxWZUTo++Mugy"
    "h0GXs3mV4WyZTrr5HhedPC98URyqdF6Qb3BTQZFsQBDvI4xURVfqbncV/iGsivoOH1WR5M"
    "nwyhXrKD07+fLsLK8olGpg/vUDWP3cWcamMiUooK9u87YUtaPp63k7YlXk2IL1Uzg8YC2t"
    "x89IBXleRD8FOxlPi6Se85gDTw2kztMyzJPHavcRibk7YYr02FzewF03dK5ee6jXbhpvFT"
    "kXeiItRaWLPqCWrdNNvgliBAVfVeo6jKCBQ03QyYjtq2J+Hf8RSEnkaAi9R70XhBkKmdrQ"
    "AWWGdYioepvL7feJk/Ls1wbrfmSPrDskyJ9s6MCvp4rUQN8hG1MHUQGaI5bQxBMRyOQuQI"
    "J6nD+p58ToCIRlQSEJJsWYPzIOiqgFjarMsAkRjbkLnVI+WgSqJhLAB6+VKvTST1JaUQ8L"
    "ghzSd9XVP0h8ZILAzDMRhT8c6fUEVGsneNIMBgPn4ggKKxEOHTz81qKSIFiXsDoFemi0Gv"
    "UuenS1I+0c3Xbu0ZfPSiWY89BZ5OsvHr/L24RvqRLn9xM+hQp4DHa2xQNeAooiSRA7jnUJ"
    "bZDLCXBJwiJxYVtyXOwrh2uKc8u5tfIG9aJSXXKm5Uq4m/k30oS7iPdjjnDnl9OtScEFLf"
    "aU9bgLoomSX7gr/R+TutCYyqEnaXkC2QEII7Z68Ou99/PT56ZIkes2V21p18+XEFPe2Cif"
    "RNj/JxFM6hAjcDgvCnKEqIAwnyzizsj2ZiQ+I+sCQss5i6YURUR3496iJ5r2RctseIPyBQ"
    "R3C44b8i1FtO5Cajq4QfkiWPrneawbf3YjzurEmyhTh3Wr0/4QFI8/lBLbKcpYgQLGCpSx"
    "xOWbHfkEtAzOLt/syCWoeX2zo0YcagwrKYapSU51nlEKz8qUL3fs0z5ZnWMHWuE7Aet+GC"
    "DfKoh2drZIQMzZWXZAjMpLuFWWUqDttO95FwHd44XCjY7nhBsdJ8ONoEWZetpnP40ZItn9"
    "45hvo3hs7BnMhNi1y8Psx/8BSZkRnQ=="
)
