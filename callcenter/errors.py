"""Base of every domain error: a stable ``error_id`` the API returns as-is, the
HTTP status it maps to, and a human message."""
from __future__ import annotations


class DomainError(Exception):
    error_id = "error"
    status = 400

    def __init__(self, message: str, **details) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
