"""Messages and producers shared by the connector tests."""

from __future__ import annotations

from pathlib import Path

from contracts_runtime import Producer, Topic
from google.protobuf.timestamp_pb2 import Timestamp
from registry_contracts.common.v1.common_pb2 import CHANNEL_EMAIL, CHANNEL_SMS
from registry_contracts.marketing.v1.audience_member_pb2 import AudienceMember
from registry_contracts.preferences.v1.preferences_pb2 import ChannelPreference, PreferenceChanged

ROOT = Path(__file__).resolve().parents[2]
TRANSFORMS_SRC = ROOT / "examples" / "preferences" / "transforms" / "src"
PREFERENCES = "registry_contracts.preferences.v1.preferences_pb2:PreferenceChanged"
AUDIENCE = "registry_contracts.marketing.v1.audience_member_pb2:AudienceMember"
EMAIL = "registry_contracts.email.v1.email_pb2:EmailMessage"


def preference(number: int) -> PreferenceChanged:
    return PreferenceChanged(
        user_id=f"user-{number:06d}",
        changed_at=Timestamp(seconds=1_790_000_000 + number),
        channels=[
            ChannelPreference(channel=CHANNEL_EMAIL, opted_in=number % 2 == 0),
            ChannelPreference(channel=CHANNEL_SMS),
        ],
        subscriptions=["product-updates", f"list-{number % 7}"],
        locale="en-GB",
    )


def preferences_topic(name: str) -> Topic[PreferenceChanged]:
    return Topic(name, PreferenceChanged, key_field="user_id")


def audience_topic(name: str) -> Topic[AudienceMember]:
    return Topic(name, AudienceMember, key_field="user_id")


def produce(bootstrap: str, topic: Topic[PreferenceChanged], numbers: range) -> None:
    with Producer(bootstrap_servers=bootstrap, tracing=False) as producer:
        for number in numbers:
            producer.send(topic, preference(number))


def register_transforms(site: Path) -> str:
    """Install the example's transform package the way pip would expose it: a .dist-info with its entry point."""
    info = site / "preferences_transforms-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: preferences-transforms\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[contracts.transforms]\nto_audience = preferences_transforms:to_audience\n")
    return f"{site}:{TRANSFORMS_SRC}"


FAILING_TRANSFORMS = '''
"""Transforms of the connector tests: each raises for every record whose user_id ends in 3."""

from preferences_transforms import to_audience
from registry_contracts.marketing.v1.audience_member_pb2 import AudienceMember
from registry_contracts.preferences.v1.preferences_pb2 import PreferenceChanged


def audience_or_raise(msg: PreferenceChanged) -> AudienceMember | None:
    if msg.user_id.endswith("3"):
        raise ValueError(f"cannot take {msg.user_id}")
    return to_audience(msg)
'''


def register_failing_transforms(site: Path) -> str:
    """A second transform package (`audience_or_raise`), registered through its entry point as pip would."""
    paths = register_transforms(site)
    (site / "connect_test_transforms.py").write_text(FAILING_TRANSFORMS)
    info = site / "connect_test_transforms-0.1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: connect-test-transforms\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[contracts.transforms]\naudience_or_raise = connect_test_transforms:audience_or_raise\n"
    )
    return paths
