"""contracts_runtime: the library that generated contract packages import.

Generated code declares `Topic` bindings; services send and consume through `Producer` and
`Consumer`. See README.md for the whole surface and docs/runtime.md for the behaviour every
runtime shares. `ConnectionError` here is the runtime's (a ContractError), not the builtin.
"""

from contracts_runtime._version import __version__
from contracts_runtime.config import ConnectionOptions, client_config
from contracts_runtime.consumer import Consumer, Record, RetryPolicy
from contracts_runtime.errors import (
    ConfigError,
    ConnectionError,
    ContractError,
    DeadLetterError,
    DecodeError,
    DeliveryError,
    KafkaConfigError,
    KafkaConnectionError,
    ValidationError,
    WrongTypeError,
)
from contracts_runtime.health import Health, HealthServer, ProgressCheck, liveness, serve_health
from contracts_runtime.metrics import Metrics, metrics_wsgi_app, start_metrics_server
from contracts_runtime.producer import Delivery, DeliveryHandle, Producer
from contracts_runtime.topic import EncodedRecord, ProtoMessage, Topic, TopicSettings
from contracts_runtime.validation import Violation

__all__ = [
    "ConfigError",
    "ConnectionError",
    "ConnectionOptions",
    "Consumer",
    "ContractError",
    "DeadLetterError",
    "DecodeError",
    "Delivery",
    "DeliveryError",
    "DeliveryHandle",
    "EncodedRecord",
    "Health",
    "HealthServer",
    "KafkaConfigError",
    "KafkaConnectionError",
    "Metrics",
    "Producer",
    "ProgressCheck",
    "ProtoMessage",
    "Record",
    "RetryPolicy",
    "Topic",
    "TopicSettings",
    "ValidationError",
    "Violation",
    "WrongTypeError",
    "__version__",
    "client_config",
    "liveness",
    "metrics_wsgi_app",
    "serve_health",
    "start_metrics_server",
]
