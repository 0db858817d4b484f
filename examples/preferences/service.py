"""The preferences service: stores a change and adds it to the outbox in one transaction.

    python examples/preferences/service.py user-42 --opt-in --locale de-DE

Nothing here talks to Kafka: the outbox connector publishes the row once this transaction commits,
so the service's table and preferences.changed.v1 never disagree.
"""

from __future__ import annotations

import argparse
import os

import psycopg
from contracts_runtime.connect import outbox
from google.protobuf.timestamp_pb2 import Timestamp
from registry_contracts.common.v1.common_pb2 import ACTOR_KIND_USER, CHANNEL_EMAIL, Actor
from registry_contracts.preferences.v1.preferences_pb2 import ChannelPreference, PreferenceChanged
from registry_contracts.topics import PREFERENCES_CHANGED_V1


def change_preferences(conn: psycopg.Connection[tuple[object, ...]], user_id: str, opted_in: bool, locale: str) -> str:
    changed_at = Timestamp()
    changed_at.GetCurrentTime()
    event = PreferenceChanged(
        user_id=user_id,
        changed_by=Actor(kind=ACTOR_KIND_USER, id=user_id),
        changed_at=changed_at,
        channels=[ChannelPreference(channel=CHANNEL_EMAIL, opted_in=opted_in)],
        subscriptions=["product-updates"] if opted_in else [],
        locale=locale,
    )
    with conn.transaction():
        conn.execute(
            "INSERT INTO preferences (user_id, email_opted_in, locale) VALUES (%s, %s, %s) "
            "ON CONFLICT (user_id) DO UPDATE SET email_opted_in = EXCLUDED.email_opted_in, "
            "locale = EXCLUDED.locale, updated_at = now()",
            (user_id, opted_in, locale),
        )
        return outbox.add(conn, PREFERENCES_CHANGED_V1, event, source="svc-preferences")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("user_id")
    parser.add_argument("--opt-in", action="store_true")
    parser.add_argument("--locale", default="en-GB")
    arguments = parser.parse_args()
    with psycopg.connect(os.environ.get("CONNECT_POSTGRES_DSN", ""), autocommit=True) as conn:
        ce_id = change_preferences(conn, arguments.user_id, arguments.opt_in, arguments.locale)
    print(f"stored {arguments.user_id}; outbox record {ce_id}")


if __name__ == "__main__":
    main()
