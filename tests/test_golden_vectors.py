"""Golden vectors: the same messages written by Python, Go and Rust, read back by the other two.

Issue 3, "Cross-language fidelity". Every bound message of the example registry is filled
with representative values (the catalog below; tests/vectors/go/catalog.go and
tests/vectors/rust/src/catalog.rs build the very same vectors, id for id). Each writer
records, per vector, its deterministic protobuf bytes, a language-neutral dump of every
field (tests/vectors/README.md, "Field dump"), canonical JSON where it has a JSON codec,
and the record its generated `Topic` encodes (key, value, CloudEvents headers).

Each reader decodes the other writers' vectors with its generated types and topic bindings
and checks the fields, byte-identical deterministic re-encoding, the key and the headers.
One test item per (writer, reader, vector), so a failure names the direction and the vector.
"""

# Look-alike letters (mathematical alphanumerics, an en dash) are the point of the unicode vectors.
# ruff: noqa: RUF001

from __future__ import annotations

import json
import math
import re
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp
from google.protobuf.wrappers_pb2 import StringValue

from tests.programs import build_go_and_rust

ROOT = Path(__file__).resolve().parents[1]
VECTORS_DIR = ROOT / "tests" / "vectors"
# The generated package is not installed in the development venv.
if str(ROOT / "generated" / "python") not in sys.path:
    sys.path.insert(0, str(ROOT / "generated" / "python"))

from contracts_runtime import Topic, WrongTypeError  # noqa: E402
from registry_contracts.audit.v1.audit_pb2 import AuditEvent  # noqa: E402
from registry_contracts.common.v1.common_pb2 import (  # noqa: E402
    ACTOR_KIND_SERVICE,
    ACTOR_KIND_SYSTEM,
    ACTOR_KIND_USER,
    CHANNEL_EMAIL,
    CHANNEL_PUSH,
    CHANNEL_SMS,
    Actor,
    EmailAddress,
)
from registry_contracts.email.v1.email_pb2 import (  # noqa: E402
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_NORMAL,
    EmailMessage,
)
from registry_contracts.marketing.v1.audience_member_pb2 import AudienceMember  # noqa: E402
from registry_contracts.preferences.v1.preferences_pb2 import (  # noqa: E402
    ChannelPreference,
    PreferenceChanged,
    QuietHours,
)
from registry_contracts.topics import (  # noqa: E402
    ALL_TOPICS,
    AUDIT_EVENTS_V1,
    EMAIL_DISPATCH_V1,
    MARKETING_AUDIENCE_V1,
    PREFERENCES_CHANGED_V1,
)

pytestmark = pytest.mark.slow

LANGUAGES = ("python", "go", "rust")
DIRECTIONS = [(writer, reader) for writer in LANGUAGES for reader in LANGUAGES if writer != reader]

# Every writer stamps its records with these, so that headers can be compared byte for byte.
EVENT_TIME_MS = 1_795_567_700_123  # 2026-11-25T00:48:20.123Z
EVENT_SOURCE = "contracts"

FLOAT_MAX = struct.unpack("<f", bytes.fromhex("ffff7f7f"))[0]  # 3.4028234663852886e38
FLOAT_MIN_SUBNORMAL = struct.unpack("<f", bytes.fromhex("01000000"))[0]  # 1.401298464324817e-45
DOUBLE_MIN_SUBNORMAL = 5e-324
TIMESTAMP_MAX = Timestamp(seconds=253_402_300_799, nanos=999_999_999)  # 9999-12-31T23:59:59.999999999Z
TIMESTAMP_MIN = Timestamp(seconds=-62_135_596_800)  # 0001-01-01T00:00:00Z
DURATION_MAX = Duration(seconds=315_576_000_000, nanos=999_999_999)
DURATION_MIN = Duration(seconds=-315_576_000_000, nanos=-999_999_999)
INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)
INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)
UINT32_MAX, UINT64_MAX = 2**32 - 1, 2**64 - 1


# --- the catalog: one function per vector, the same ids as catalog.go and catalog.rs ----


def struct_of(values: dict[str, Any]) -> Struct:
    result = Struct()
    result.update(values)
    return result


def audit_zone_deleted() -> AuditEvent:
    return AuditEvent(
        event_id="0f8fad5b-d9cb-469f-a165-70867728950e",
        zone_id="zone-42",
        actor=Actor(kind=ACTOR_KIND_USER, id="user-1001", display_name="Ada Lovelace", ip_address="2001:db8::1"),
        occurred_at=Timestamp(seconds=1_795_567_700, nanos=123_456_789),
        zone_deleted=AuditEvent.ZoneDeleted(zone_name="example.com", soft=True, record_count=UINT32_MAX),
        labels={
            "request_id": "req-7f3a",
            "user_agent": "curl/8.5.0",
            "client": "terraform",
            "z-last": "z",
            "a-first": "a",
        },
        details=struct_of(
            {
                "count": 3,
                "ratio": 0.25,
                "dry_run": False,
                "reason": "customer request",
                "previous": None,
                "tags": ["dns", 2, True, None, {"k": "v"}],
                "nested": {"depth": 1, "inner": {"list": []}},
                "empty": {},
            }
        ),
    )


def audit_setting_changed() -> AuditEvent:
    return AuditEvent(
        event_id="e-2",
        zone_id="zone-7",
        actor=Actor(kind=ACTOR_KIND_SERVICE, id="svc-zones", ip_address="10.0.0.7"),
        occurred_at=Timestamp(seconds=-1, nanos=1),  # 1969-12-31T23:59:59.000000001Z
        setting_changed=AuditEvent.SettingChanged(setting="ssl_mode", old_value="flexible", new_value="strict"),
        labels={"request_id": "req-8"},
    )


def audit_present_but_empty() -> AuditEvent:
    # Every message field set to its empty message: present on the wire as a zero-length field.
    event = AuditEvent()
    event.actor.SetInParent()
    event.occurred_at.SetInParent()
    event.zone_deleted.SetInParent()
    event.details.SetInParent()
    return event


def audit_empty_setting_changed() -> AuditEvent:
    event = AuditEvent(zone_id="zone-8")
    event.setting_changed.SetInParent()
    return event


def audit_unicode() -> AuditEvent:
    return AuditEvent(
        event_id="événement-😀",
        zone_id="zoné-日本-🦀",
        actor=Actor(kind=ACTOR_KIND_SYSTEM, id="用户-1", display_name="𝔸𝕕𝕒 Łovelace 👩‍💻"),
        zone_deleted=AuditEvent.ZoneDeleted(zone_name="bücher.example"),
        # Single code points: UTF-8 is prefix-free, so no key is a prefix of another. U+FFFD sorts
        # before U+1F600 in UTF-8 byte order, after it in UTF-16 order.
        labels={"é": "e-acute", "z": "ascii", "日本": "cjk", "😀": "astral", "\ufffd": "replacement", "Z": "upper"},
        details=struct_of({"名前": "テスト", "emoji": "🎉", "mixed": ["ä", "😀"]}),
    )


def audit_labels_prefix_keys() -> AuditEvent:
    # "request" is a prefix of "request_id": the shorter key sorts first in byte order.
    return AuditEvent(
        zone_id="zone-9",
        labels={"request_id": "req-9", "request": "r", "request_id_2": "x", "b": "2", "a": "1"},
    )


def audit_map_empty_key() -> AuditEvent:
    return AuditEvent(zone_id="zone-10", labels={"": "empty key"})


def audit_map_empty_value() -> AuditEvent:
    return AuditEvent(zone_id="zone-11", labels={"empty-value": ""})


def audit_timestamp_max() -> AuditEvent:
    return AuditEvent(zone_id="zone-12", occurred_at=TIMESTAMP_MAX)


def audit_timestamp_min() -> AuditEvent:
    return AuditEvent(zone_id="zone-13", occurred_at=TIMESTAMP_MIN)


def audit_struct_numbers() -> AuditEvent:
    return AuditEvent(
        zone_id="zone-14",
        details=struct_of(
            {
                "zero": 0.0,
                "minus_zero": -0.0,
                "max": sys.float_info.max,
                "min_subnormal": DOUBLE_MIN_SUBNORMAL,
                "int_max": 9_007_199_254_740_991.0,
                "below_freezing": -273.15,
                "tiny": 1e-300,
            }
        ),
    )


def email_full() -> EmailMessage:
    return EmailMessage(
        message_id="msg-0001",
        template_id="invoice-ready",
        template_version=3,
        to=[
            EmailAddress(address="ada@example.com", name="Ada Lovelace"),
            EmailAddress(address="grace@example.com", name="Grace Hopper"),
        ],
        cc=[EmailAddress(address="billing@example.com")],
        metadata={
            "invoice_no": "2026-0001",
            "amount": "12.50",
            "currency": "EUR",
            "Customer": "ACME",
            "due": "2026-12-01",
        },
        priority=PRIORITY_HIGH,
        send_after=Timestamp(seconds=1_795_567_700, nanos=500_000_000),
        expires_in=Duration(seconds=3600, nanos=250_000_000),
        reply_to=StringValue(value="support@example.com"),
        attachments={
            "cid-invoice": EmailMessage.Attachment(
                filename="invoice.pdf", content_type="application/pdf", content=b"%PDF-1.7\n\x00\x01\xff"
            ),
            "cid-logo": EmailMessage.Attachment(
                filename="logo.png", content_type="image/png", content=bytes(range(256))
            ),
        },
        limits=EmailMessage.Limits(
            max_bytes=10_485_760,
            quota_left=5000,
            tz_offset_minutes=-300,
            balance=-1_234_567_890_123,
            shard=7,
            tenant=123_456_789_012,
            delta=-42,
            big_delta=-9_876_543_210,
            spam_score=0.25,
            reputation=0.875,
            retries=3,
        ),
    )


def email_limits_max() -> EmailMessage:
    return EmailMessage(
        message_id="msg-max",
        template_version=INT32_MAX,
        send_after=TIMESTAMP_MAX,
        expires_in=DURATION_MAX,
        limits=EmailMessage.Limits(
            max_bytes=INT64_MAX,
            quota_left=UINT64_MAX,
            tz_offset_minutes=INT32_MAX,
            balance=INT64_MAX,
            shard=UINT32_MAX,
            tenant=UINT64_MAX,
            delta=INT32_MAX,
            big_delta=INT64_MAX,
            retries=UINT32_MAX,
        ),
    )


def email_float_max() -> EmailMessage:
    return EmailMessage(
        message_id="msg-float-max", limits=EmailMessage.Limits(spam_score=FLOAT_MAX, reputation=sys.float_info.max)
    )


def email_limits_min() -> EmailMessage:
    return EmailMessage(
        message_id="msg-min",
        template_version=INT32_MIN,
        send_after=TIMESTAMP_MIN,
        expires_in=DURATION_MIN,
        limits=EmailMessage.Limits(
            max_bytes=INT64_MIN,
            quota_left=1,
            tz_offset_minutes=INT32_MIN,
            balance=INT64_MIN,
            shard=1,
            tenant=1,
            delta=INT32_MIN,
            big_delta=INT64_MIN,
            spam_score=FLOAT_MIN_SUBNORMAL,
            reputation=DOUBLE_MIN_SUBNORMAL,
            retries=1,
        ),
    )


def email_negative_one() -> EmailMessage:
    return EmailMessage(
        message_id="msg-minus-one",
        template_version=-1,
        priority=PRIORITY_LOW,
        limits=EmailMessage.Limits(
            max_bytes=-1,
            tz_offset_minutes=-1,
            balance=-1,
            delta=-1,
            big_delta=-1,
            spam_score=-1.5,
            reputation=-0.1,
        ),
    )


def email_float_rounding() -> EmailMessage:
    # 0.1 is not exact in either width; the float field holds float32(0.1) = 0x3dcccccd.
    return EmailMessage(message_id="msg-round", limits=EmailMessage.Limits(spam_score=0.1, reputation=0.1))


def email_negative_zero() -> EmailMessage:
    return EmailMessage(message_id="msg-minus-zero", limits=EmailMessage.Limits(spam_score=-0.0, reputation=-0.0))


def email_infinities() -> EmailMessage:
    return EmailMessage(message_id="msg-inf", limits=EmailMessage.Limits(spam_score=math.inf, reputation=-math.inf))


def email_nan() -> EmailMessage:
    # The quiet NaNs 0x7fc00000 and 0x7ff8000000000000, which every language produces the same way.
    return EmailMessage(message_id="msg-nan", limits=EmailMessage.Limits(spam_score=math.nan, reputation=math.nan))


def email_present_but_empty() -> EmailMessage:
    message = EmailMessage(message_id="msg-empty-parts", reply_to=StringValue(value=""))
    message.send_after.SetInParent()
    message.expires_in.SetInParent()
    message.limits.SetInParent()
    return message


def email_unicode() -> EmailMessage:
    return EmailMessage(
        message_id="msg-日本-😀",
        template_id="welcome-ünïcödé",
        to=[
            EmailAddress(address="zoë@example.com", name="Zoë Ünïcode"),
            EmailAddress(address="用户@例子.广告", name="李雷"),
            EmailAddress(address="ferris@example.com", name="🦀 Ferris"),
        ],
        metadata={"emoji": "🎉🎊", "greeting": "こんにちは", "ümlaut": "ä", "𝔘𝔫𝔦": "astral key"},
        reply_to=StringValue(value="réponse@example.com"),
        attachments={
            "cid-😀": EmailMessage.Attachment(
                filename="résumé – 😀.txt", content_type="text/plain; charset=utf-8", content="Grüße 😀".encode()
            )
        },
    )


def email_repeated_many() -> EmailMessage:
    message = EmailMessage(message_id="msg-many", priority=PRIORITY_NORMAL)
    for number in range(25):
        message.to.append(EmailAddress(address=f"user{number:02d}@example.com", name=f"User {number}"))
    message.cc.append(EmailAddress())  # an empty element is still an element
    message.cc.append(EmailAddress(address="only@example.com"))
    return message


def email_map_default_values() -> EmailMessage:
    message = EmailMessage(message_id="msg-map-defaults", metadata={"blank": ""})
    message.attachments["cid-empty"].SetInParent()
    return message


def email_map_many_keys() -> EmailMessage:
    # 40 keys of equal length inserted in a scrambled order; the same keys in every catalog.
    numbers = [37 * index % 101 for index in range(1, 41)]
    message = EmailMessage(message_id="msg-many-keys")
    for number in numbers:
        message.metadata[f"key-{number:03d}"] = f"value-{number}"
    for number in numbers[:5]:
        message.attachments[f"cid-{number:03d}"].filename = f"file-{number}.txt"
    return message


def email_unknown_enum() -> EmailMessage:
    return EmailMessage(message_id="msg-unknown-enum", priority=99)  # type: ignore[arg-type]


def preferences_full() -> PreferenceChanged:
    return PreferenceChanged(
        user_id="user-1001",
        changed_by=Actor(kind=ACTOR_KIND_USER, id="user-1001", display_name="Ada", ip_address="192.0.2.1"),
        changed_at=Timestamp(seconds=1_795_567_700, nanos=1),
        channels=[
            ChannelPreference(channel=CHANNEL_EMAIL, opted_in=True),
            ChannelPreference(channel=CHANNEL_SMS, opted_in=False),
            ChannelPreference(channel=CHANNEL_PUSH, opted_in=True),
            ChannelPreference(),
        ],
        subscriptions=["product-updates", "billing", "", "security"],
        locale="pt-BR",
        quiet_hours=QuietHours(start_minute=1320, end_minute=420, time_zone="America/Sao_Paulo"),
    )


def preferences_unknown_enums() -> PreferenceChanged:
    return PreferenceChanged(
        user_id="user-2",
        changed_by=Actor(kind=-1, id="migration-7"),  # type: ignore[arg-type]
        channels=[
            ChannelPreference(channel=99, opted_in=True),  # type: ignore[arg-type]
            ChannelPreference(channel=INT32_MAX),  # type: ignore[arg-type]
        ],
    )


def preferences_unicode() -> PreferenceChanged:
    return PreferenceChanged(
        user_id="ユーザー-😀",
        changed_by=Actor(kind=ACTOR_KIND_USER, display_name="Łukasz 🧑‍🚀"),
        subscriptions=["新闻", "🎵 music", "ñandú"],
        locale="zh-Hant-TW",
        quiet_hours=QuietHours(start_minute=0, end_minute=1439, time_zone="Asia/Kolkata"),
    )


def preferences_empty_key() -> PreferenceChanged:
    # An empty user_id is an empty key, not a null one; the nested messages are present but empty.
    message = PreferenceChanged(locale="en")
    message.changed_by.SetInParent()
    message.changed_at.SetInParent()
    message.quiet_hours.SetInParent()
    return message


# marketing.audience.v1 is compacted: Kafka keeps the last record per key, so every record needs
# a key, and an empty user_id must be an empty key (a key of its own), never a null one.


def marketing_full() -> AudienceMember:
    return AudienceMember(
        user_id="user-1001", email_opted_in=True, lists=["product-updates", "newsletter", "events"], locale="pt-BR"
    )


def marketing_opted_out() -> AudienceMember:
    # false is the default: the bool is absent from the wire, while the lists stay.
    return AudienceMember(user_id="user-1002", email_opted_in=False, lists=["product-updates"], locale="de-DE")


def marketing_unicode() -> AudienceMember:
    return AudienceMember(
        user_id="ユーザー-😀",
        email_opted_in=True,
        # "café" precomposed and decomposed: two different lists, since nothing may normalize text.
        lists=["新闻", "🎵 music", "café", "cafe\u0301", "👩\u200d💻 dev", "𝔘𝔫𝔦"],
        locale="sr-Latn-RS",
    )


def marketing_empty_key() -> AudienceMember:
    return AudienceMember(email_opted_in=True, lists=["newsletter"], locale="en")


def marketing_repeated_strings() -> AudienceMember:
    # Order kept as given (not sorted), duplicates and empty strings are elements, and a
    # 300-byte element needs a two-byte length prefix.
    return AudienceMember(user_id="user-3", lists=["z-last", "", "a-first", "a-first", "", "x" * 300])


@dataclass(frozen=True)
class CatalogEntry:
    vector_id: str
    topic: Topic[Any]
    build: Callable[[], Message]


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry("audit/empty", AUDIT_EVENTS_V1, AuditEvent),
    CatalogEntry("audit/zone-deleted", AUDIT_EVENTS_V1, audit_zone_deleted),
    CatalogEntry("audit/setting-changed", AUDIT_EVENTS_V1, audit_setting_changed),
    CatalogEntry("audit/present-but-empty", AUDIT_EVENTS_V1, audit_present_but_empty),
    CatalogEntry("audit/empty-setting-changed", AUDIT_EVENTS_V1, audit_empty_setting_changed),
    CatalogEntry("audit/unicode", AUDIT_EVENTS_V1, audit_unicode),
    CatalogEntry("audit/labels-prefix-keys", AUDIT_EVENTS_V1, audit_labels_prefix_keys),
    CatalogEntry("audit/map-empty-key", AUDIT_EVENTS_V1, audit_map_empty_key),
    CatalogEntry("audit/map-empty-value", AUDIT_EVENTS_V1, audit_map_empty_value),
    CatalogEntry("audit/timestamp-max", AUDIT_EVENTS_V1, audit_timestamp_max),
    CatalogEntry("audit/timestamp-min", AUDIT_EVENTS_V1, audit_timestamp_min),
    CatalogEntry("audit/struct-numbers", AUDIT_EVENTS_V1, audit_struct_numbers),
    CatalogEntry("email/empty", EMAIL_DISPATCH_V1, EmailMessage),
    CatalogEntry("email/full", EMAIL_DISPATCH_V1, email_full),
    CatalogEntry("email/limits-max", EMAIL_DISPATCH_V1, email_limits_max),
    CatalogEntry("email/limits-min", EMAIL_DISPATCH_V1, email_limits_min),
    CatalogEntry("email/float-max", EMAIL_DISPATCH_V1, email_float_max),
    CatalogEntry("email/negative-one", EMAIL_DISPATCH_V1, email_negative_one),
    CatalogEntry("email/float-rounding", EMAIL_DISPATCH_V1, email_float_rounding),
    CatalogEntry("email/negative-zero", EMAIL_DISPATCH_V1, email_negative_zero),
    CatalogEntry("email/infinities", EMAIL_DISPATCH_V1, email_infinities),
    CatalogEntry("email/nan", EMAIL_DISPATCH_V1, email_nan),
    CatalogEntry("email/present-but-empty", EMAIL_DISPATCH_V1, email_present_but_empty),
    CatalogEntry("email/unicode", EMAIL_DISPATCH_V1, email_unicode),
    CatalogEntry("email/repeated-many", EMAIL_DISPATCH_V1, email_repeated_many),
    CatalogEntry("email/map-default-values", EMAIL_DISPATCH_V1, email_map_default_values),
    CatalogEntry("email/map-many-keys", EMAIL_DISPATCH_V1, email_map_many_keys),
    CatalogEntry("email/unknown-enum", EMAIL_DISPATCH_V1, email_unknown_enum),
    CatalogEntry("marketing/empty", MARKETING_AUDIENCE_V1, AudienceMember),
    CatalogEntry("marketing/full", MARKETING_AUDIENCE_V1, marketing_full),
    CatalogEntry("marketing/opted-out", MARKETING_AUDIENCE_V1, marketing_opted_out),
    CatalogEntry("marketing/unicode", MARKETING_AUDIENCE_V1, marketing_unicode),
    CatalogEntry("marketing/empty-key", MARKETING_AUDIENCE_V1, marketing_empty_key),
    CatalogEntry("marketing/repeated-strings", MARKETING_AUDIENCE_V1, marketing_repeated_strings),
    CatalogEntry("preferences/empty", PREFERENCES_CHANGED_V1, PreferenceChanged),
    CatalogEntry("preferences/full", PREFERENCES_CHANGED_V1, preferences_full),
    CatalogEntry("preferences/unknown-enums", PREFERENCES_CHANGED_V1, preferences_unknown_enums),
    CatalogEntry("preferences/unicode", PREFERENCES_CHANGED_V1, preferences_unicode),
    CatalogEntry("preferences/empty-key", PREFERENCES_CHANGED_V1, preferences_empty_key),
)
VECTOR_IDS = [entry.vector_id for entry in CATALOG]
TOPICS_BY_TYPE: dict[str, Topic[Any]] = {topic.type_name: topic for topic in ALL_TOPICS}


# --- the field dump (tests/vectors/README.md); Go and Rust print the same lines ---------


def field_dump(message: Message, prefix: str = "") -> list[tuple[str, str]]:
    """Every populated field of `message` as (path, value) pairs, sorted by path."""
    entries: list[tuple[str, str]] = []
    for field, value in message.ListFields():
        path = prefix + field.name
        entry_type = field.message_type
        if entry_type is not None and entry_type.GetOptions().map_entry:
            key_field, value_field = entry_type.fields_by_name["key"], entry_type.fields_by_name["value"]
            for key in value:
                entries += _dump_value(value_field, value[key], f"{path}{{{_scalar(key_field, key)}}}")
        elif field.is_repeated:
            for index, item in enumerate(value):
                entries += _dump_value(field, item, f"{path}[{index}]")
        else:
            entries += _dump_value(field, value, path)
    return sorted(entries)


def _dump_value(field: FieldDescriptor, value: Any, path: str) -> list[tuple[str, str]]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return [(path, "{}"), *field_dump(value, path + ".")]
    return [(path, _scalar(field, value))]


def _scalar(field: FieldDescriptor, value: Any) -> str:
    if field.type == FieldDescriptor.TYPE_STRING:
        return str(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return "0x" + bytes(value).hex()
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    if field.type == FieldDescriptor.TYPE_FLOAT:
        return "f32:" + struct.pack(">f", value).hex()
    if field.type == FieldDescriptor.TYPE_DOUBLE:
        return "f64:" + struct.pack(">d", value).hex()
    return str(int(value))  # integers and enum numbers


# --- vector files ---------------------------------------------------------------------


def event_time() -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=EVENT_TIME_MS)


def python_vector(entry: CatalogEntry) -> dict[str, Any]:
    message = entry.build()
    record = entry.topic.encode(message, event_id=f"golden-{entry.vector_id}", time=event_time())
    return {
        "id": entry.vector_id,
        "writer": "python",
        "type": entry.topic.type_name,
        "topic": entry.topic.name,
        "value": message.SerializeToString(deterministic=True).hex(),
        "fields": field_dump(message),
        "json": json_format.MessageToJson(message, indent=None),
        "record": {
            "key": None if record.key is None else record.key.hex(),
            "value": record.value.hex(),
            "headers": [[name, value.decode()] for name, value in record.headers],
        },
        "envelope": {"id": f"golden-{entry.vector_id}", "source": EVENT_SOURCE, "time_ms": EVENT_TIME_MS},
    }


def write_vectors(path: Path, vectors: Sequence[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(vector, ensure_ascii=False) + "\n" for vector in vectors), encoding="utf-8")


def read_vectors(path: Path) -> dict[str, dict[str, Any]]:
    vectors = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {vector["id"]: vector for vector in vectors}


# --- the Python reader: the same checks as main.go and main.rs ------------------------


def check_vector(vector: dict[str, Any]) -> list[str]:
    """Everything wrong with reading `vector` in Python; empty when it round-trips."""
    topic = TOPICS_BY_TYPE.get(vector["type"])
    if topic is None:
        return [f"type {vector['type']} is not bound to any topic"]
    if topic.name != vector["topic"]:
        return [f"type {vector['type']} is bound to {topic.name}, the writer says {vector['topic']}"]
    failures: list[str] = []
    value = bytes.fromhex(vector["value"])
    try:
        message = topic.message_type.FromString(value)
    except Exception as error:
        return [f"value does not decode: {error}"]
    failures += fields_diff("decoded value", vector["fields"], field_dump(message))
    if vector.get("json") is not None:
        try:
            from_json = json_format.Parse(vector["json"], topic.message_type())
        except json_format.ParseError as error:
            failures.append(f"canonical JSON does not parse: {error}")
        else:
            # JSON has one NaN: its bit pattern is the parser's choice.
            failures += fields_diff("canonical JSON", nan_as_one(vector["fields"]), nan_as_one(field_dump(from_json)))
    failures += bytes_diff("re-encoded value", value, message.SerializeToString(deterministic=True))

    record = vector["record"]
    headers = [(name, text.encode()) for name, text in record["headers"]]
    try:
        from_record = topic.decode(bytes.fromhex(record["value"]), headers)
    except Exception as error:
        failures.append(f"Topic.decode of the writer's record fails: {type(error).__name__}: {error}")
    else:
        failures += fields_diff("record value", vector["fields"], field_dump(from_record))
    key = topic.key(message)
    if (None if key is None else key.hex()) != record["key"]:
        failures.append(f"key differs: writer {record['key']}, python {None if key is None else key.hex()}")
    envelope = vector["envelope"]
    time = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=envelope["time_ms"])
    encoded = topic.encode(message, event_id=envelope["id"], source=envelope["source"], time=time)
    ours = [[name, header.decode()] for name, header in encoded.headers]
    if ours != record["headers"]:
        failures.append(f"headers differ: writer {record['headers']}, python {ours}")
    other = ALL_TOPICS[(ALL_TOPICS.index(topic) + 1) % len(ALL_TOPICS)]  # as in main.go and main.rs
    try:
        other.decode(bytes.fromhex(record["value"]), headers)
    except WrongTypeError:
        pass
    except Exception as error:
        failures.append(f"{other.name} decoding this record raises {type(error).__name__}, not WrongTypeError")
    else:
        failures.append(f"{other.name} accepts this record, whose ce_type is not its type")
    return failures


def nan_as_one(fields: Sequence[Sequence[str]]) -> list[tuple[str, str]]:
    return [(path, "nan" if is_nan(value) else value) for path, value in fields]


def is_nan(value: str) -> bool:
    if value.startswith("f32:"):
        return math.isnan(struct.unpack(">f", bytes.fromhex(value[4:]))[0])
    if value.startswith("f64:"):
        return math.isnan(struct.unpack(">d", bytes.fromhex(value[4:]))[0])
    return False


def fields_diff(what: str, expected: Sequence[Sequence[str]], actual: Sequence[tuple[str, str]]) -> list[str]:
    writer = {path: value for path, value in expected}
    reader = dict(actual)
    failures = []
    for path in sorted(writer.keys() | reader.keys()):
        if path not in reader:
            failures.append(f"{what}: field {path} missing (writer: {writer[path]!r})")
        elif path not in writer:
            failures.append(f"{what}: unexpected field {path} = {reader[path]!r}")
        elif writer[path] != reader[path]:
            failures.append(f"{what}: field {path}: writer {writer[path]!r}, reader {reader[path]!r}")
    return failures


def bytes_diff(what: str, expected: bytes, actual: bytes) -> list[str]:
    """One line saying where `actual` departs from `expected`, field by field when both parse."""
    if expected == actual:
        return []
    offset = next((i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b), None)
    if offset is None:
        offset = min(len(expected), len(actual))
    return [
        f"{what} differs at byte {offset} (writer {len(expected)} bytes, reader {len(actual)} bytes): "
        + explain_difference(expected, actual, offset)
    ]


def explain_difference(expected: bytes, actual: bytes, offset: int) -> str:
    writer, reader = wire_records(expected), wire_records(actual)
    if writer is None or reader is None:
        start = max(0, offset - 8)
        return f"writer ...{expected[start : offset + 16].hex()}..., reader ...{actual[start : offset + 16].hex()}..."
    if sorted(writer) == sorted(reader):
        writer_numbers, reader_numbers = [n for n, _ in writer], [n for n, _ in reader]
        if writer_numbers != reader_numbers:
            return (
                f"same top-level fields in another order: writer {field_order(writer_numbers)}, "
                f"reader {field_order(reader_numbers)}"
            )
        moved = sorted({n for (n, w), (_, r) in zip(writer, reader, strict=True) if w != r})
        return "; ".join(f"field {number} has the same entries in another order" for number in moved)
    parts = []
    for number in sorted({n for n, _ in writer} | {n for n, _ in reader}):
        ours = b"".join(record for n, record in writer if n == number)
        theirs = b"".join(record for n, record in reader if n == number)
        if ours != theirs:
            parts.append(f"field {number}: writer {short_hex(ours)}, reader {short_hex(theirs)}")
    return "; ".join(parts)


def wire_records(data: bytes) -> list[tuple[int, bytes]] | None:
    """The top-level (field number, whole record) pairs of an encoded message; None if it does not parse."""
    records, position = [], 0
    try:
        while position < len(data):
            start = position
            tag, position = read_varint(data, position)
            wire_type = tag & 7
            if wire_type == 0:
                _, position = read_varint(data, position)
            elif wire_type == 1:
                position += 8
            elif wire_type == 2:
                length, position = read_varint(data, position)
                position += length
            elif wire_type == 5:
                position += 4
            else:
                return None
            if position > len(data):
                return None
            records.append((tag >> 3, data[start:position]))
    except IndexError:
        return None
    return records


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, position


def field_order(numbers: Sequence[int]) -> str:
    """Field numbers in wire order, runs shortened: `[1 4*25 5]`."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][0] == number:
            runs[-1][1] += 1
        else:
            runs.append([number, 1])
    return "[" + " ".join(str(n) if count == 1 else f"{n}*{count}" for n, count in runs) + "]"


def short_hex(data: bytes) -> str:
    text = data.hex()
    return (text[:64] + "...") if len(text) > 64 else (text or "(absent)")


# --- running the Go and Rust checkers -------------------------------------------------


def build_checkers(out: Path) -> dict[str, Path]:
    """Builds tests/vectors/go and tests/vectors/rust side by side; returns their binaries."""
    return build_go_and_rust(VECTORS_DIR, out, "go-vectors", "golden-vectors", "the golden vectors")


def run_checker(binary: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(binary), *arguments], cwd=VECTORS_DIR, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode not in (0, 1):  # 1 = some vector failed, reported on stdout
        pytest.fail(f"{binary.name} {' '.join(arguments)} exited {result.returncode}:\n{result.stderr}")
    return result


def parse_report(stdout: str) -> dict[tuple[str, str], dict[str, list[str]]]:
    """The checker's JSON lines {"writer", "reader", "id", "failures"} by (writer, reader), then id."""
    results: dict[tuple[str, str], dict[str, list[str]]] = {}
    for line in stdout.splitlines():
        if line.strip():
            item = json.loads(line)
            results.setdefault((item["writer"], item["reader"]), {})[item["id"]] = item["failures"]
    return results


@dataclass
class GoldenRun:
    vectors: dict[str, dict[str, dict[str, Any]]]  # writer -> id -> vector
    results: dict[tuple[str, str], dict[str, list[str]]]  # (writer, reader) -> id -> failures
    binaries: dict[str, Path]
    workdir: Path


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoldenRun]:
    workdir = tmp_path_factory.mktemp("golden-vectors")
    binaries = build_checkers(workdir)
    files = {language: workdir / f"{language}.jsonl" for language in LANGUAGES}
    write_vectors(files["python"], [python_vector(entry) for entry in CATALOG])
    for language in ("go", "rust"):
        result = run_checker(binaries[language], "write", str(files[language]))
        if result.returncode != 0:
            pytest.fail(f"the {language} writer failed:\n{result.stderr}")
    vectors = {language: read_vectors(path) for language, path in files.items()}

    results: dict[tuple[str, str], dict[str, list[str]]] = {}
    for reader in ("go", "rust"):
        inputs = [str(files[writer]) for writer in LANGUAGES if writer != reader]
        results.update(parse_report(run_checker(binaries[reader], "check", *inputs).stdout))
    for writer in ("go", "rust"):
        results[(writer, "python")] = {vector_id: check_vector(v) for vector_id, v in vectors[writer].items()}
    yield GoldenRun(vectors, results, binaries, workdir)


# --- the tests ------------------------------------------------------------------------

# --- known differences between the protobuf implementations ---------------------------


@dataclass(frozen=True)
class Divergence:
    """A difference between protobuf implementations that these vectors found.

    In the directions and vectors it names, the failures it `explains` are allowed and every
    other failure still fails the test. It is strict: where it is declared it must still
    show up, so the day it is fixed upstream the test asks for the entry to be removed.
    """

    name: str
    reason: str
    directions: frozenset[tuple[str, str]]  # (writer, reader); for the same-record test (python, other)
    vectors: frozenset[str]
    explains: Callable[[str], bool]


def involving(language: str) -> frozenset[tuple[str, str]]:
    return frozenset((writer, reader) for writer, reader in DIRECTIONS if language in (writer, reader))


def oneof_moved_last(failure: str) -> bool:
    """Only the oneof fields (5, 6 of AuditEvent) moved, and Go's side has them last."""
    match = re.search(r"same top-level fields in another order: writer \[([\d* ]+)\], reader \[([\d* ]+)\]", failure)
    if match is None:
        return False
    orders = [expand_field_order(text) for text in match.groups()]
    without_oneof = [[n for n in order if n not in (5, 6)] for order in orders]
    return without_oneof[0] == without_oneof[1] and any(order[-1] in (5, 6) for order in orders)


def expand_field_order(text: str) -> list[int]:
    numbers: list[int] = []
    for part in text.split():
        number, _, count = part.partition("*")
        numbers += [int(number)] * int(count or 1)
    return numbers


def only_map_records_differ(map_fields: set[int]) -> Callable[[str], bool]:
    def explains(failure: str) -> bool:
        differing = {int(number) for number in re.findall(r"field (\d+): writer [0-9a-f]+, reader [0-9a-f]+", failure)}
        return "value differs" in failure and bool(differing) and differing <= map_fields

    return explains


KNOWN_DIVERGENCES = (
    Divergence(
        name="go-oneof-last",
        reason=(
            "protobuf-go writes the fields of a oneof after all other fields (its legacy field order, "
            "also with Deterministic: true); upb and prost write fields in field-number order. "
            "AuditEvent's change (5, 6) lands after labels (7) and details (8): same fields, other bytes"
        ),
        directions=involving("go"),
        vectors=frozenset({"audit/zone-deleted", "audit/setting-changed", "audit/present-but-empty", "audit/unicode"}),
        explains=oneof_moved_last,
    ),
    Divergence(
        name="upb-prefix-key-order",
        reason=(
            "upb (protobuf 7.36.2, the Python backend) sorts a string map key after the longer keys it is "
            "a prefix of in deterministic output ('request_id' before 'request'); Go and prost sort in "
            "byte order, as pure-Python protobuf does"
        ),
        directions=involving("python"),
        vectors=frozenset({"audit/labels-prefix-keys"}),
        explains=lambda failure: "field 7 has the same entries in another order" in failure,
    ),
    Divergence(
        name="prost-map-entry-defaults",
        reason=(
            "prost leaves a map entry's key or value out when it is the default ('' or an empty message); "
            "Go and upb always write both. Same map, 2 bytes shorter per such entry"
        ),
        directions=involving("rust"),
        vectors=frozenset({"audit/map-empty-key", "audit/map-empty-value", "email/map-default-values"}),
        explains=only_map_records_differ({6, 7, 11}),
    ),
    Divergence(
        name="prost-negative-zero",
        reason=(
            "prost skips a proto3 float/double field that compares equal to 0.0, and -0.0 == 0.0: Rust "
            "decodes -0.0 but re-encodes it as absent, so Python and Go read +0.0 (the sign is lost). "
            "Go and upb write -0.0, whose bits are not zero"
        ),
        directions=involving("rust"),
        vectors=frozenset({"email/negative-zero"}),
        explains=lambda failure: (
            re.search(r"field limits\.(spam_score|reputation) missing", failure) is not None
            or "field 12: writer 620e4d00000080510000000000000080, reader 6200" in failure
            or "field 12: writer 6200, reader 620e4d00000080510000000000000080" in failure
        ),
    ),
    Divergence(
        name="python-json-negative-zero",
        reason=(
            "protojson writes -0.0 as the JSON number -0; Python's json_format.Parse reads it as +0.0 "
            "(Python's json reads -0 as the integer 0). Python's own MessageToJson writes -0.0"
        ),
        directions=frozenset({("go", "python")}),
        vectors=frozenset({"email/negative-zero", "audit/struct-numbers"}),
        explains=lambda failure: (
            failure.startswith("canonical JSON: field")
            and ("minus_zero" in failure or "limits.spam_score" in failure or "limits.reputation" in failure)
        ),
    ),
    Divergence(
        name="python-json-float-max",
        reason=(
            "the largest float32 prints as 3.4028235e+38 in JSON (Go and Python's own MessageToJson); "
            "Python's json_format.Parse rejects it as 'Float value too large', so it cannot read its own output"
        ),
        directions=frozenset({("go", "python")}),
        vectors=frozenset({"email/float-max"}),
        explains=lambda failure: "canonical JSON does not parse" in failure and "Float value too large" in failure,
    ),
)


def unexplained(direction: tuple[str, str], vector_id: str, failures: Sequence[str]) -> list[str]:
    """The failures no known divergence explains, plus one for each declared divergence that did not occur."""
    applicable = [d for d in KNOWN_DIVERGENCES if direction in d.directions and vector_id in d.vectors]
    remaining = [f for f in failures if not any(d.explains(f) for d in applicable)]
    for divergence in applicable:
        if not any(divergence.explains(f) for f in failures):
            remaining.append(
                f"known divergence {divergence.name} no longer shows here: remove it from KNOWN_DIVERGENCES "
                f"for {direction[0]} -> {direction[1]}, {vector_id}"
            )
    return remaining


def test_every_writer_writes_the_whole_catalog(golden: GoldenRun) -> None:
    for language in LANGUAGES:
        ids = list(golden.vectors[language])
        assert ids == VECTOR_IDS, f"the {language} catalog is out of step with the Python catalog"


def test_every_bound_message_has_vectors() -> None:
    covered = {entry.topic.type_name for entry in CATALOG}
    assert covered == set(TOPICS_BY_TYPE), "a topic of the example registry has no golden vector"


@pytest.mark.parametrize(
    ("writer", "reader", "vector_id"),
    [
        pytest.param(writer, reader, vector_id, id=f"{writer}->{reader}:{vector_id}")
        for writer, reader in DIRECTIONS
        for vector_id in VECTOR_IDS
    ],
)
def test_reader_round_trips_writer_vector(golden: GoldenRun, writer: str, reader: str, vector_id: str) -> None:
    failures = golden.results.get((writer, reader), {}).get(vector_id)
    assert failures is not None, f"the {reader} checker did not report on {writer}'s vector {vector_id}"
    remaining = unexplained((writer, reader), vector_id, failures)
    if remaining:
        pytest.fail(f"{writer} -> {reader}, {vector_id}:\n  " + "\n  ".join(remaining), pytrace=False)


@pytest.mark.parametrize("vector_id", VECTOR_IDS)
def test_every_language_writes_the_same_record(golden: GoldenRun, vector_id: str) -> None:
    """The same message, built independently in each language, gives the same fields, bytes, key and headers."""
    python = golden.vectors["python"][vector_id]
    remaining: list[str] = []
    for language in ("go", "rust"):
        other = golden.vectors[language][vector_id]
        failures = fields_diff("fields", python["fields"], other["fields"])
        failures += bytes_diff("value", bytes.fromhex(python["value"]), bytes.fromhex(other["value"]))
        for part in ("key", "headers"):
            if python["record"][part] != other["record"][part]:
                failures.append(f"record {part}: python {python['record'][part]}, {language} {other['record'][part]}")
        remaining += [f"{language}: {failure}" for failure in unexplained(("python", language), vector_id, failures)]
    if remaining:
        pytest.fail(
            f"{vector_id}, python (writer) against the others (reader):\n  " + "\n  ".join(remaining), pytrace=False
        )


def broken_vectors(vector: dict[str, Any]) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """Hand-broken copies of `vector`, each with the words every checker's report must contain."""
    value = bytearray.fromhex(vector["value"])
    value[value.index(b"msg-0001") + 7] = ord("2")  # still valid protobuf: message_id "msg-0002"
    record = vector["record"]
    retyped = [[name, "audit.v1.AuditEvent" if name == "ce_type" else text] for name, text in record["headers"]]
    resourced = [[name, "elsewhere" if name == "ce_source" else text] for name, text in record["headers"]]
    return [
        (dict(vector, id="broken/field-value", value=value.hex()), ("field message_id", "msg-0002")),
        (dict(vector, id="broken/truncated", value=vector["value"][:-6]), ("value does not decode",)),
        (
            dict(vector, id="broken/ce-type", record=dict(record, headers=retyped)),
            ("record fails", "audit.v1.AuditEvent"),
        ),
        (dict(vector, id="broken/key", record=dict(record, key=b"msg-9999".hex())), ("key differs",)),
        (dict(vector, id="broken/ce-source", record=dict(record, headers=resourced)), ("headers differ", "elsewhere")),
    ]


def test_checkers_fail_on_broken_vectors(golden: GoldenRun) -> None:
    """Every checker names what is wrong with a hand-broken vector instead of passing it."""
    cases = broken_vectors(golden.vectors["python"]["email/full"])
    broken_file = golden.workdir / "broken.jsonl"
    write_vectors(broken_file, [vector for vector, _ in cases])
    reports = {"python": {vector["id"]: check_vector(vector) for vector, _ in cases}}
    for language in ("go", "rust"):
        result = run_checker(golden.binaries[language], "check", str(broken_file))
        assert result.returncode == 1, f"the {language} checker exits {result.returncode} on broken vectors"
        reports[language] = parse_report(result.stdout)[("python", language)]
    for language, report in reports.items():
        for vector, words in cases:
            text = "\n".join(report[vector["id"]]).lower()
            missing = [word for word in words if word.lower() not in text]
            assert not missing, f"{language} on {vector['id']} does not say {missing}: {report[vector['id']]}"
