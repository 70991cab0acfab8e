"""The board's errors (a 4xx JSON answer each)."""
from __future__ import annotations

from callcenter.errors import DomainError


class BoardFilterInvalid(DomainError):
    """A filter of the board (team, store, queue, campaign, language) that cannot be read."""
    error_id = "invalid_board_filter"
    status = 422
