"""Errors of customers and the DND list, each with a stable error id."""
from __future__ import annotations

from callcenter.errors import DomainError


class DndInvalid(DomainError):
    """A number or parameter for the DND list is wrong; ``field`` names it."""
    error_id = "invalid_dnd"
    status = 422


class DndNotFound(DomainError):
    error_id = "dnd_not_found"
    status = 404
