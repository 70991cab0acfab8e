"""Errors of the reports, each with a stable ``error`` id the API returns."""
from __future__ import annotations

from callcenter.errors import DomainError


class InvalidReportParameter(DomainError):
    """A query parameter that is not what the report expects (a date, an id...)."""
    error_id = "invalid_parameter"
    status = 422


class NotFoundInScope(DomainError):
    """A team, location, store or campaign that does not exist or lies outside
    the caller's part of the hierarchy (the same answer for both, so ids do not leak)."""
    error_id = "not_found"
    status = 404


class TeamNotFound(NotFoundInScope):
    error_id = "team_not_found"


class LocationNotFound(NotFoundInScope):
    error_id = "location_not_found"


class StoreNotFound(NotFoundInScope):
    error_id = "store_not_found"


class CampaignNotFound(NotFoundInScope):
    error_id = "campaign_not_found"
