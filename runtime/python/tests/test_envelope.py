"""Envelope primitives: key values, ce_time formatting and parsing, ce_id uniqueness across fork."""

from __future__ import annotations

import enum
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contracts_runtime import envelope


class Color(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("é", "é".encode()),
        (b"\x00", b"\x00"),
        (True, b"true"),
        (False, b"false"),
        (0, b"0"),
        (-12, b"-12"),
        (Color.RED, b"1"),
        (None, None),
    ],
)
def test_key_values(value: object, encoded: bytes | None) -> None:
    assert envelope.encode_key_value(value) == encoded


def test_key_value_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot be a key"):
        envelope.encode_key_value(1.5)


def test_ce_time_round_trip() -> None:
    moment = datetime(2026, 11, 25, 0, 48, 20, 123999, tzinfo=UTC)
    assert envelope.format_ce_time(moment) == b"2026-11-25T00:48:20.123Z"
    assert envelope.parse_ce_time(b"2026-11-25T00:48:20.123Z") == moment.replace(microsecond=123000)
    assert envelope.format_ce_time(moment.astimezone(timezone(timedelta(hours=-5)))) == b"2026-11-25T00:48:20.123Z"


def test_ce_time_of_a_millisecond_is_cached_per_second() -> None:
    assert envelope.ce_time_at(1_795_567_914_293) == b"2026-11-25T00:51:54.293Z"
    assert envelope.ce_time_at(1_795_567_914_001) == b"2026-11-25T00:51:54.001Z"
    assert envelope.ce_time_at(1_795_567_915_000) == b"2026-11-25T00:51:55.000Z"


@pytest.mark.parametrize("value", [None, b"yesterday", "2026-13-01T00:00:00Z"])
def test_unreadable_ce_time_is_none(value: bytes | str | None) -> None:
    assert envelope.parse_ce_time(value) is None


def test_naive_ce_time_is_read_as_utc() -> None:
    assert envelope.parse_ce_time("2026-11-25T00:48:20") == datetime(2026, 11, 25, 0, 48, 20, tzinfo=UTC)


def test_forked_child_gets_its_own_id_prefix() -> None:
    parent = envelope.next_event_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.write(write, envelope.next_event_id())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100)
    os.close(read)
    os.waitpid(pid, 0)
    assert parent.split(b"-")[0] != child.split(b"-")[0]
    assert child.endswith(b"-1000")  # the first id of the first block
