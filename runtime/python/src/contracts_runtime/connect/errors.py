"""The one error a connector's user sees for a misconfiguration: printed as one line, exit 2."""

from __future__ import annotations

from contracts_runtime.errors import ConfigError, ContractError


class ConnectConfigError(ConfigError):
    """The connector cannot start as configured (environment, contracts, transforms, database)."""


class FencedError(ContractError):
    """Another replica wrote offsets this replica did not expect: it no longer owns the partition."""
