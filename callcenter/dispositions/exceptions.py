"""Errors of dispositions, each with a stable error id the API returns as-is.
(A work item not found or closed is the work's: callcenter/work/exceptions.py.)"""
from __future__ import annotations

from callcenter.errors import DomainError


class AnswersInvalid(DomainError):
    """The answers to a disposition form do not fit it; ``errors`` maps each
    question key (or ``remarks``/``answers``) to what is wrong."""
    error_id = "invalid_answers"
    status = 422


class CallNotFound(DomainError):
    error_id = "call_not_found"
    status = 404


class CallNotForItem(DomainError):
    error_id = "call_not_for_item"
    status = 409


class CallNotEnded(DomainError):
    error_id = "call_not_ended"
    status = 409


class AlreadyDisposed(DomainError):
    error_id = "already_disposed"
    status = 409


class NotAllocated(DomainError):
    error_id = "work_item_not_allocated"
    status = 409
