"""Errors of customers, their 360 and the DND list, each with a stable error id."""
from __future__ import annotations

from callcenter.errors import DomainError


class DndInvalid(DomainError):
    """A number or parameter for the DND list is wrong; ``field`` names it."""
    error_id = "invalid_dnd"
    status = 422


class DndNotFound(DomainError):
    error_id = "dnd_not_found"
    status = 404


class CustomerNotFound(DomainError):
    """No such customer, or not in the caller's scope (ids do not leak)."""
    error_id = "customer_not_found"
    status = 404


class ProfileItemNotFound(DomainError):
    """The 360 was asked (``?item=``) for a work item the customer has not, or
    not in the caller's scope."""
    error_id = "work_item_not_found"
    status = 404


class ErasureInvalid(DomainError):
    """An erasure request is incomplete (no reason, the confirmation not typed); ``field`` names it."""
    error_id = "invalid_erasure"
    status = 422


class CustomerAlreadyErased(DomainError):
    error_id = "customer_already_erased"
    status = 409


class CustomerOnCall(DomainError):
    """A call with the customer is in progress: its recording would outlive the erasure."""
    error_id = "customer_on_call"
    status = 409


class MessagesOptOutInvalid(DomainError):
    """The 360's "No promotional messages" switch sent something else than on/off."""
    error_id = "invalid_messages_opt_out"
    status = 422
