"""contracts-connect: reader -> typed transforms -> writer services, configured by the environment.

Install with `pip install 'contracts-runtime[connect]'`; run `contracts-connect`; see
README.md, "Connectors". A service writes to the transactional outbox with `outbox.add(conn, TOPIC, message)`.
"""

from contracts_runtime.connect.errors import ConnectConfigError, FencedError
from contracts_runtime.connect.transforms import ENTRY_POINT_GROUP, Transform, transform

__all__ = ["ENTRY_POINT_GROUP", "ConnectConfigError", "FencedError", "Transform", "transform"]
