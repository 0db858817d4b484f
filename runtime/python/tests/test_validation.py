"""Field rules (docs/runtime.md, "Field rules"): rule ids and field paths, the modes, and the
producer and consumer on the real broker."""

from __future__ import annotations

import importlib
import json
import uuid
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,
    field_mask_pb2,
    message_factory,
    timestamp_pb2,
)

from contracts_runtime import Consumer, Producer, Record, Topic, TopicSettings, ValidationError, Violation
from contracts_runtime.validation import (
    MAX_HEADER_VIOLATIONS,
    field_path,
    has_rules,
    parse_violations_header,
    violations,
    violations_header,
)

from runtime_testing import Topics, headers_of, make_order, read_topic

SIGNUP = "crt_test.v1.Signup"


def valid_signup(pb: ModuleType, number: int = 1) -> Any:
    return pb.Signup(
        account_id=f"acct-{number}", email=f"user{number}@example.com", plan=pb.PLAN_FREE, starts_at=10, ends_at=20
    )


def invalid_signup(pb: ModuleType) -> Any:
    """Breaks every kind of rule once: min_len, email, enum not_in, the CEL message rule, a nested gt."""
    return pb.Signup(
        account_id="",
        email="not-an-address",
        plan=pb.PLAN_UNSPECIFIED,
        starts_at=20,
        ends_at=10,
        seats=[pb.Seat(quantity=1), pb.Seat(quantity=0)],
    )


EXPECTED = [
    Violation("signup.window", ""),
    Violation("string.min_len", "account_id"),
    Violation("string.email", "email"),
    Violation("enum.not_in", "plan"),
    Violation("int32.gt", "seats[1].quantity"),
]


def signups_topic(pb: ModuleType, name: str = "signups.v1", validation: str | None = None) -> Topic[Any]:
    return Topic(name=name, message_type=pb.Signup, key_field="account_id", validation=validation)


# ------------------------------------------------------------------------ rules, without a broker


def test_violations_carry_protovalidates_rule_ids_and_dotted_field_paths(validated_pb: ModuleType) -> None:
    assert violations(invalid_signup(validated_pb)) == EXPECTED
    assert violations(valid_signup(validated_pb)) == []


def test_an_undefined_enum_value_breaks_defined_only(validated_pb: ModuleType) -> None:
    signup = valid_signup(validated_pb)
    signup.plan = 7
    assert violations(signup) == [Violation("enum.defined_only", "plan")]


def test_map_keys_are_quoted_in_field_paths(validated_pb: ModuleType) -> None:
    signup = valid_signup(validated_pb)
    signup.seats_by_name["front row"].quantity = 0
    assert violations(signup) == [Violation("int32.gt", 'seats_by_name["front row"].quantity')]


def test_types_with_rules_are_known_from_their_descriptors(validated_pb: ModuleType, pb: ModuleType) -> None:
    assert has_rules(validated_pb.Signup)
    assert has_rules(validated_pb.Seat)
    assert has_rules(validated_pb.SignupBatch), "a type holding a message with rules has rules"
    assert not has_rules(pb.Order)
    assert violations(make_order(pb, 1)) == []


def test_a_type_without_rules_has_no_checks(pb: ModuleType) -> None:
    orders = Topic(name="orders.v1", message_type=pb.Order)
    assert (orders._send_check, orders._receive_check) == (None, None)


def test_nested_violations_name_the_path_from_the_top(validated_pb: ModuleType) -> None:
    batch = validated_pb.SignupBatch(signups=[valid_signup(validated_pb), valid_signup(validated_pb)])
    batch.signups[1].email = "nope"
    assert violations(batch) == [Violation("string.email", "signups[1].email")]


def test_modes_decide_who_validates(validated_pb: ModuleType) -> None:
    reject = signups_topic(validated_pb)
    dlq = signups_topic(validated_pb, validation="dlq")
    off = signups_topic(validated_pb, validation="off")
    from_settings = Topic(name="s", message_type=validated_pb.Signup, settings=TopicSettings(validation="dlq"))
    assert reject.validation == "reject"
    checks = {
        topic.validation: (topic._send_check is not None, topic._receive_check is not None)
        for topic in (reject, dlq, off)
    }
    assert checks == {"reject": (True, True), "dlq": (False, True), "off": (False, False)}
    assert from_settings.validation == "dlq"
    with pytest.raises(ValueError, match="validation 'strict' is not one of reject, dlq, off"):
        signups_topic(validated_pb, validation="strict")
    with pytest.raises(ValueError, match="validation"):
        TopicSettings(validation="VALIDATION_REJECT")


def test_validate_raises_a_validation_error_listing_each_violation(validated_pb: ModuleType) -> None:
    topic = signups_topic(validated_pb, validation="off")
    with pytest.raises(ValidationError) as raised:
        topic.validate(invalid_signup(validated_pb))
    assert raised.value.violations == EXPECTED
    assert raised.value.topic == "signups.v1"
    assert raised.value.type_name == SIGNUP
    assert "breaks 5 field rules: signup.window (ends_at must come after starts_at)" in str(raised.value)
    assert "string.email at email" in str(raised.value)
    topic.validate(valid_signup(validated_pb))


def test_the_violations_header_is_a_json_array_of_rule_ids_and_fields() -> None:
    header = violations_header([Violation("string.email", "email", "text left out"), Violation("signup.window", "")])
    assert json.loads(header) == [
        {"rule_id": "string.email", "field": "email"},
        {"rule_id": "signup.window", "field": ""},
    ]
    assert parse_violations_header(header) == [Violation("string.email", "email"), Violation("signup.window", "")]
    many = [Violation("int32.gt", f"seats[{n}].quantity") for n in range(150)]
    assert len(json.loads(violations_header(many))) == MAX_HEADER_VIOLATIONS
    assert parse_violations_header(b"not json") == []


def test_field_path_subscripts(validated_pb: ModuleType) -> None:
    class Subscript:
        def __init__(self, field: str, value: object) -> None:
            self.field, self.value = field, value

    class Element:
        def __init__(self, name: str, subscript: Subscript | None = None) -> None:
            self.field_name, self.subscript = name, subscript

    path = [
        Element("a", Subscript("bool_key", True)),
        Element("b", Subscript("int_key", -3)),
        Element("c", Subscript("uint_key", 4)),
        Element("d", Subscript("string_key", 'x"y')),
        Element("e"),
    ]
    assert field_path(path) == 'a[true].b[-3].c[4].d["x\\"y"].e'


# ------------------------------------------------------------------------ the real broker


def signups_on_broker(topics: Topics, pb: ModuleType, validation: str | None = None) -> Topic[Any]:
    name = f"signups.{uuid.uuid4().hex[:12]}"
    topics.create(name, name + ".dlq")
    return signups_topic(pb, name, validation)


@pytest.mark.kafka
def test_producer_refuses_an_invalid_message_with_the_rule_ids_and_sends_nothing(
    kafka_bootstrap: str, topics: Topics, validated_pb: ModuleType
) -> None:
    signups = signups_on_broker(topics, validated_pb)
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        with pytest.raises(ValidationError) as raised:
            producer.send(signups, invalid_signup(validated_pb))
        assert [v.rule_id for v in raised.value.violations] == [v.rule_id for v in EXPECTED]
        producer.send(signups, valid_signup(validated_pb)).result(timeout=15)
    [only] = read_topic(kafka_bootstrap, signups.name, 2, timeout=3)
    assert only.value() == valid_signup(validated_pb).SerializeToString()


@pytest.mark.kafka
@pytest.mark.parametrize("batch", [False, True], ids=["per-record", "batch"])
def test_consumer_dead_letters_an_invalid_record_with_the_rule_ids_and_goes_on(
    kafka_bootstrap: str, topics: Topics, validated_pb: ModuleType, batch: bool
) -> None:
    # Mode "dlq": the producer sends without validating, as an older producer or another client would.
    sender = signups_on_broker(topics, validated_pb, validation="dlq")
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        producer.send(sender, valid_signup(validated_pb, 1))
        producer.send(sender, invalid_signup(validated_pb))
        producer.send(sender, valid_signup(validated_pb, 2))
    handled: list[str] = []
    receiver = signups_topic(validated_pb, sender.name)  # the default mode: the consumer validates
    with Consumer(group_id=f"g-{uuid.uuid4().hex[:8]}", bootstrap_servers=kafka_bootstrap) as consumer:
        if batch:
            consumer.subscribe_batch(
                receiver, lambda records: handled.extend(r.message.account_id for r in records), max_wait=0.2
            )
        else:
            consumer.subscribe(receiver, lambda record: handled.append(record.message.account_id))
        assert consumer.run(stop_after=3, timeout=30) == 3
    assert handled == ["acct-1", "acct-2"]
    [dead] = read_topic(kafka_bootstrap, sender.dlq_name, 1)
    headers = headers_of(dead)
    assert headers["contracts_dlq_reason"] == b"validation"
    assert headers["contracts_dlq_attempts"] == b"0"
    assert headers["contracts_dlq_offset"] == b"1"
    assert json.loads(headers["contracts_dlq_violations"]) == [
        {"rule_id": v.rule_id, "field": v.field} for v in EXPECTED
    ]
    assert b"string.email at email" in headers["contracts_dlq_error"]
    assert dead.value() == invalid_signup(validated_pb).SerializeToString()


@pytest.mark.kafka
def test_mode_off_hands_invalid_records_to_the_handler(
    kafka_bootstrap: str, topics: Topics, validated_pb: ModuleType
) -> None:
    signups = signups_on_broker(topics, validated_pb, validation="off")
    with Producer(bootstrap_servers=kafka_bootstrap) as producer:
        producer.send(signups, invalid_signup(validated_pb)).result(timeout=15)
    handled: list[Record[Any]] = []
    with Consumer(group_id=f"g-{uuid.uuid4().hex[:8]}", bootstrap_servers=kafka_bootstrap) as consumer:
        consumer.subscribe(signups, handled.append)
        assert consumer.run(stop_after=1, timeout=30) == 1
    assert [record.message.account_id for record in handled] == [""]
    assert read_topic(kafka_bootstrap, signups.dlq_name, 1, timeout=2) == []


def test_classes_of_one_name_in_other_pools_are_checked_with_their_own_rules(validated_pb: ModuleType) -> None:
    """The CLI builds the current contract's classes beside older ones: each keeps its own rules."""
    validate_pb2 = importlib.import_module("buf.validate.validate_pb2")
    stricter = descriptor_pb2.FileDescriptorProto()
    validated_pb.DESCRIPTOR.CopyToProto(stricter)
    [account_id] = [f for f in stricter.message_type[0].field if f.name == "account_id"]
    account_id.options.Extensions[validate_pb2.field].string.min_len = 10
    pool = descriptor_pool.DescriptorPool()
    for module in (descriptor_pb2, duration_pb2, field_mask_pb2, timestamp_pb2, validate_pb2):
        file_proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(file_proto)
        pool.Add(file_proto)
    pool.Add(stricter)
    strict_signup = message_factory.GetMessageClass(pool.FindMessageTypeByName(SIGNUP))
    fields = {key: getattr(valid_signup(validated_pb), key) for key in ("account_id", "email", "plan", "ends_at")}
    assert violations(validated_pb.Signup(**fields)) == []
    assert violations(strict_signup(**fields)) == [Violation("string.min_len", "account_id")]
    assert violations(validated_pb.Signup(**fields)) == []
