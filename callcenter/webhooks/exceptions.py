"""Errors of the webhooks, each with a stable error id."""
from __future__ import annotations

from callcenter.errors import DomainError


class InvalidEndpoint(DomainError):
    """A URL, event kind or description the server will not deliver to."""
    error_id = "invalid_endpoint"
    status = 422


class EndpointNotFound(DomainError):
    error_id = "endpoint_not_found"
    status = 404


class DeliveryNotFound(DomainError):
    error_id = "delivery_not_found"
    status = 404


class NotRedeliverable(DomainError):
    """Only a failed delivery is sent again (a pending one is on its way)."""
    error_id = "not_redeliverable"
    status = 409
