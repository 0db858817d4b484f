"""Transforms the marketing connector runs (CONNECT_TRANSFORMS=to_audience)."""

from __future__ import annotations

from registry_contracts.common.v1.common_pb2 import CHANNEL_EMAIL
from registry_contracts.marketing.v1.audience_member_pb2 import AudienceMember
from registry_contracts.preferences.v1.preferences_pb2 import PreferenceChanged


def to_audience(msg: PreferenceChanged) -> AudienceMember | None:
    """The marketing system's view of a change; None (dropped) when it says nothing about email."""
    email = [channel for channel in msg.channels if channel.channel == CHANNEL_EMAIL]
    if not email:
        return None
    return AudienceMember(
        user_id=msg.user_id,
        email_opted_in=email[-1].opted_in,
        lists=list(msg.subscriptions),
        locale=msg.locale,
    )
