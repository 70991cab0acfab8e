"""Errors of the trunks service (DomainError: stable ``error_id``, HTTP
``status``, human ``message``)."""
from __future__ import annotations

from callcenter.errors import DomainError


class TrunkError(DomainError):
    error_id = "trunk_error"
    status = 422


class InvalidTrunkName(TrunkError):
    error_id = "invalid_name"


class InvalidHost(TrunkError):
    error_id = "invalid_host"


class InvalidPort(TrunkError):
    error_id = "invalid_port"


class InvalidChannels(TrunkError):
    """Channels outside 1..10000, or inbound headroom not below channels."""
    error_id = "invalid_channels"


class InvalidDidRange(TrunkError):
    error_id = "invalid_did_range"


class InvalidPilot(TrunkError):
    error_id = "invalid_pilot"


class DidOverlap(TrunkError):
    error_id = "did_overlap"
    status = 409


class TrunkExists(TrunkError):
    error_id = "trunk_exists"
    status = 409


class TrunkNotFound(TrunkError):
    error_id = "trunk_not_found"
    status = 404


class TrunkInUse(TrunkError):
    error_id = "trunk_in_use"
    status = 409
