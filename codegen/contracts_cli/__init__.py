"""contracts: a Protobuf contract registry and code generator for Kafka."""

__version__ = "0.1.0"
