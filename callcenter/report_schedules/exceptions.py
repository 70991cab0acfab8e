"""Errors of the report schedules, each with a stable error id."""
from __future__ import annotations

from callcenter.errors import DomainError


class InvalidSchedule(DomainError):
    """A field of a schedule that cannot be used (``field`` names it)."""
    error_id = "invalid_schedule"
    status = 422


class ScheduleNotFound(DomainError):
    """No such schedule, or one the caller may not see (the same answer)."""
    error_id = "schedule_not_found"
    status = 404
