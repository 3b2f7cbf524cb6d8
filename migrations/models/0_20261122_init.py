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
    "status" VARCHAR(8) NOT NULL /* PENDING: pending\nSENT: sent\nDEAD: dead */,
    "attempts" INT NOT NULL,
    "due_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "sent_at" TIMESTAMP,
    "message_id" BIGINT,
    "error" VARCHAR(200),
    "locked_until" TIMESTAMP
) /* A message to send later, written in the transaction of the change that causes it. */;
CREATE INDEX IF NOT EXISTS "idx_outbox_lead_id_a95c48" ON "outbox" ("lead_id");
CREATE INDEX IF NOT EXISTS "idx_outbox_due_at_398050" ON "outbox" ("due_at");
CREATE TABLE IF NOT EXISTS "outcome_prompt" (
    "appointment_id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "at" TIMESTAMP NOT NULL
) /* The came-or-no-show question was asked for this appointment (once, by any process). */;
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
    "open_lead_id" INT,
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


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        """


MODELS_STATE = (
    "eJztXVtv2zgW/iuEXzYF0m7iXJoNFgs4idvJjmN3Enc7mMlAoC3a5kYiNRIVJ5jtf1+Skq"
    "y7Izm2Q6t8cRuKh6I+kofnxsO/WjY1keV96DgOxYTZiLDWOfirRaCN+H+KHu+DFnSc+KEo"
    "YHBkyfowU3HkMReORZsTaHmIF5nIG7vYYZgSXkp8yxKFdMwrYjKNi3yC//SRwegUsRly+Y"
    "Pf/+DFmJjoCXnRn86DMcHIMlOdxqZ4tyw32LMjy64J+yQrireNjDG1fJvElZ1nNqNkURsH"
    "3Z8iglzIkGieub7ovuhd+LHRFwU9jasEXUzQmGgCfYslPndkxGUtw+gPhsZdd2gYrRoAjS"
    "kR4PKuevLrp6IL79uHxx+Pz45Oj894FdnNRcnH78GrY2ACQglPf9j6Lp9DBoMaEuMYVA+5"
    "j3iMjCJwL2fQLUY3TZVBmXc/i3KE6TKYo4IY53hubQNoGz4ZFiJTNuN/Hp4uQfU/ndvLnz"
    "q3e4en78QLKV8KwTLph0/a8pEAPgYamibHCJteHud/3w36xTiniDIwm3jMwP+Ahb3cpF4X"
    "3K1/TnwyFkiCkY8thon3QbzvX60NDcIS0AVIomXb8/60kmDv3XR+zY7DZW9wISGjHpu6sh"
    "XZwEVmUGzoMeTWnPwpok3N/a3ymA1PfY9Bl+URvuIAMWyjEhYTEWWnfUj1IfrP7uG9BN/h"
    "9U33bti5+ZKa6ledYVc8acvS50zpXnYsFo2Ab9fDn4D4E/w26HezK2JRb/hbS/QJ+owahM"
    "4NznYSIEXFUVFqbBEpWDvLRzYk2c64bnUPadLAOq7Y4B+okx/eCzwtlbtSZC+LXzswqKEE"
    "9o92++joY/vg6PTs5Pjjx5Ozg4Uoln+0TCa7uP4sxLLUwEZyWgy/ifiAYlZ/ADKE2xuCg0"
    "bh70BsrjD7E1QrIR9uQz/23OdbP/ML5GQhknWJb0vsr3lHIRmjIsEhpFZZL2l96favrvuf"
    "z4HD90M+BvfkkmsB17c33atzwIdhgl0bmby007/s9nqyVHyvZQWlN11RYKN70h8Ydz8Nvv"
    "FeUMObcXauhNA3tjAizFh8iQFri4AlTaxBcFBsmTVJbhi7SOC+ynCnKLV4qPYwR7xolYHO"
    "0OoFrfRIB1y4lvU1RdMgQeiVZtgYVAtBsx6kCQoNaACo8BRMHgrN2gKtPLifqIvwlPyMnn"
    "MiZAbT0EHSC5vZLWy/R3MnKo276ML5wrOSnFL80/kHIyY/nr8f9L/2eq0CPrAGUC8XDTUT"
    "1hTzKwFWTN0RHD/MoWsaJXNY7JEFWtBFSPbp51tkQfkRpVDfSFP1JW9od8WlHN4SPNqmCd"
    "BScOYf2W07WwIJnMpPEu8Wb0pPzgJnaTxty/2k8Rp50UXa6nDNz/UoAfMZFQqfxymRCRgN"
    "y6H1XnjtgOPSMfI8jhTYIxS4dA7QE/aYB0ZowtdeRPvuQ1bx29ArCly4v7fGM0gIktMs/K"
    "/he4GX5A/t4H1DB29iYKo6uBIkKptQlPFvZSd8faiTpA2E/PS4AuSnx6WQi0dpyOW/NXCO"
    "6q8ErmJySBrbs4MK2J4dlGIrHmVM3xyhWuAuCJqHbrsKuu1ydNs5dMOtdBWzSYpSG02UNp"
    "qEY+VQC4+fjUcuboWCeuWdobSF5q2yo3aFVXbULl1l4lF6lXEovJVskylCvcaUXmPa09DU"
    "Yc5Z9qrYSxJByq80m2TiondyiefNJpn9SewoEodXgnWZaKqhaAlD6StRapYlOR1EizwPTt"
    "FrTZVBKz06bRBMG7VUJtddkb0ysy6XWC2zNV+0Xd6NEYEupkAE2yBhTQTjGWT7wKMAAs78"
    "RfAusLH53sTQolMfAYt6yAOEshlHMm+qXEuLFSyTTFsktUXyzRnGFiySxR77pRCXOOybAP"
    "H6LZAu39GeDc6WJpNCpJeFieZpG+TSf4Ng0QJrZfmZqgWBGuepxGsbc56q1M5VuhTK7Vq7"
    "G6q+tigh3zFXtHCkKbWFQzkLh46w0xF26gO6JMJOh4NF82cN4WDZibsGWJtlcMqC+nLoYr"
    "nFeJNGmWvyiGVPcuaY8Mn+MkMMjutUCB+jBL0XuzcwEXK43EoewIS64L8UExHJxWYISBUD"
    "jCgDmAgzCrVQUZTYK1rS+TzUMq4w+oBq+ZkXBOvR+t8W3A17lcWsL8b25WOJEa3KxpXW4F"
    "u/e3sO6Jz35p7cdPqdz+LvgN3JkrthUCDiirOc5G1sXW+Uw0OxjXPjFsXQZT56rmfqStPp"
    "hAAr27l0tMNLQmMjbAHoycG8uVUil1KUepiVHmbfW4GXJogaZKDYMh/1V4sL9HVUoLorq0"
    "a42CaVf2lyKVD9I1NMueIf2Xx0Ys3GKOI6ymHzeQWp745rnVSJKTak872dtaNdJcKhXR7h"
    "0M5FOIyh7UA8rXdqIUHTPLV6/Ral3Ut11SJo3qqHdqvfFdmp0Pye/PK107v+dC2yWf3pQw"
    "vzrzbLM1+V57i6J73B3fBcxAAyNcxQoicG17S9esd8MmTNWzPtg2pH6JadocsdogsNkrUD"
    "r9J0WolaVYkiCJmeMfM5ngUDQCmXZ0nJQdw0ZWYIRpx0U4xrUbJdBepiMOildKeL6wy8/a"
    "83F13ObeQC4JUCB2IB6lw8NOlksgKXyVM2j9Gsf3PeLZOrzmC9oilOB9n9CMOsg+x0TJgy"
    "4UvrShGmj7zqI6+bQQs9vn5OCbt397HajFJ069MnXxU8+RrPqxJny2LSLfe4GOixcrY+3q"
    "T7DAKDmziZSqYI0AmAQDR0LhLs7fMfRPbBxKX2PmA0H2i5Yhvas6OWZ6e+oqDVQPX1A776"
    "qVvHprIgaKCvbv22FMHRjNd5OzJNKGzB+iEcHnwtvW48Uw2ovIh+iOF8wEU3uZWzv6j+Fj"
    "2P8WzZxWgFQovOqS9JWUoLj6mrxOdUcglu/7ynclt4k65UUA3c1x5MvOzcXXauum91LjFx"
    "EUCBzpy+JqBcaQ5PzYyjii9qzQOCwNTFJld6kRPoukEbf/OAPHA4470Ho2cACUjYMsEeJm"
    "PrA8AiA70/mSC3ILn9Gtu+J/dkOEMgmGxgL2hnH4gPfQcciF2APa6aQ8Zf8YA8YFKfQwJG"
    "lD6IA5LY5tqIh3kRnxRzek8o1/Qt/lLxMGmjBXPq804JJ3hwqpKPg3zLPu9lUCTUzhH0EH"
    "DRxBcJrnjhPfEQn3kmwPw/LpM9QfwVUeJ+/jFc8LB5ZSEjg727X3qYIcDXJV+dHrjr9rqX"
    "Q3Dvtw/ap+DT4BZ8/SJ0riXp/FPno+R465xZb2lzUPei6kZFlEacrcb5tpCiSRLEloOJEg"
    "yyngCXJ2zSKGxKjoNpT98rxbl6fkPVoK4q1eVnmlLCXexAKhLuUu6lJcJdUM+wwooVXSKY"
    "jKjPRRMhv1CfBX+EbYE5ZjMpaUmBbI8LI45Iax8km/j5y7VXINetr1ntOFFLiNFHYnTiz9"
    "1P/GliF40jj35VkFNEDYT5qIq/qNxdlMUY+hyhet64BUUT0V27O059a/8OM2GGngpE6yEv"
    "LQY3qt8ES/+ykIDur8NUNEAu4+wiIqA36H+OqmfT0GY4hQ7GaGAwhg7W1hlR1QRUR7/rjK"
    "hKgqpqRtSBMN48tQoMU+GT/WVGKRrXqZARNbIPMQo8RExgQenGm7uYMURE5lLhYePNEA8G"
    "afjpRBaFwbhMePjGULrdMCvKlLqBN2grlVpWqhEt4OHlmlFYXStG1S/KVt4AyDUyC01daL"
    "d2F2htBtysGVBbUDaYesiBzxYtEvrKr/VJkGz/Yp+3Ues3coWPiUzfMR5QQW7KJebtJFHj"
    "Eokfts+qMOj2WTmHFs/U18Z3T4zb6UxaDtcgBET1EG596favrvufz0FIf0/uuv3huVBI2D"
    "256nauzoEZ6rp1p3qViV4+zXOTHHKtyHaKzhGXB/UkSPSNYNlZbnJNsb7JO6bSZm+lzd47"
    "lXBIFTFo54ZZMOoVxjhBplNQqzy+USRd7eyEKboGeVy2HFCMXLde8MiCoAke+G2ctaPjB7"
    "7Z+IThAmPeci6WpdWsTDVWlnNxvpnjSJxp+uJSrg60iv1HiQr7L7iRRFXDieu+6E669w8O"
    "4Ij/Hh9OxO/xgfg9OpP/l78nh7JkBP4OZDVT/nkiK0iSo7b8hfJXkB+MRmAOPQA9vgbkHX"
    "tshr308bTgGeVa6n5weu05OuZVECytaidf4dTa6nGQH93ZpXb4lGbbu8e278RFoZ05xCwA"
    "O8e20xWWsm156agBk3UrRAEEV5XayB7Js8AEPTEgxjM+PwKJN0cuZ2mAzzxPuun3xClhm3"
    "KxZF9cbyrzJBfw27W3/gpGGTkpa+sZGcLGcMmtqBnlvFScyq6jdUT1G+gRXL9H20WTGqJA"
    "WFsfBy06bqu3fL3lr3/Lv5E7YumGHz6usN3bcc0qIX/BjR6AaylBugORRlPeXC5TbLjUn8"
    "5EBpDganWwJ6829mS2jCBZhgzOE0m7poXb/drb1+F+amlA25Oi1I96eBNrrb5UXV+qrqgl"
    "d+MpAaFdLyVgWF/l6b4iuGdV3BRn5V6Ks5yTQsTfPxbAu/R6qphoizdTRTx+Zy+mog4iRv"
    "2AtixZgzyea9PWdEjIKnN7J7S3tHnDpo8rDXOaUntTVRtllXT0W5FSEhamAE09339ZS3cT"
    "VV9U0+/Egbip0IuF8jxHLgLQ4uzJfAaMWiYIvJiEhs5H4VY8F4rzM+BKMiCUzUQiTZu6KK"
    "+ir7ltbY/fMUVS+zY1E90WE+0gF49nRewzfLKUccK4zkscs3xgtflQLfOhuAeuZi6wBEkD"
    "Ffn2yUmVgMOTk/KAQ/EslyK2DsJh9Qaie1gpnPNwSTjnYT6ck7+RFWYuKT9tmSDRpy1rnr"
    "Z8083s+/8BCyhmfQ=="
)
