"""The `ml` provider's errors: the shared mapping (deployer.providers.errors), kept importable
from here because callers and tests of the first provider name this module."""

from __future__ import annotations

from deployer.providers.errors import (
    AUTH_HINT,
    RETRYABLE_STATUSES,
    OperationFailed,
    OperationTimeout,
    ProviderError,
    from_http_error,
    from_transport_error,
    parse_envelope,
)

__all__ = [
    "AUTH_HINT",
    "RETRYABLE_STATUSES",
    "OperationFailed",
    "OperationTimeout",
    "ProviderError",
    "from_http_error",
    "from_transport_error",
    "parse_envelope",
]
