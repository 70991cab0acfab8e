"""Errors of the organisation (locations, stores, teams, the store-list
import): DomainError subclasses with stable ``error_id``s. (The head count's
are in callcenter/headcount/exceptions.py.)"""
from __future__ import annotations

from callcenter.errors import DomainError


class OrgError(DomainError):
    error_id = "org_error"
    status = 422


class InvalidField(OrgError):
    """A field is missing, blank, too long or of the wrong type."""
    error_id = "invalid_field"


class InvalidCode(OrgError):
    error_id = "invalid_code"


class InvalidLanguage(OrgError):
    error_id = "invalid_language"


class UnknownLocation(OrgError):
    error_id = "unknown_location"


class UnknownStore(OrgError):
    error_id = "unknown_store"


class UnknownTeam(OrgError):
    error_id = "unknown_team"


class LocationExists(OrgError):
    error_id = "location_exists"
    status = 409


class StoreExists(OrgError):
    error_id = "store_exists"
    status = 409


class TeamExists(OrgError):
    error_id = "team_exists"
    status = 409


class NotEmpty(OrgError):
    """Moving a store or team to another location would split its people."""
    error_id = "not_empty"
    status = 409


class LocationNotFound(OrgError):
    error_id = "location_not_found"
    status = 404


class StoreNotFound(OrgError):
    error_id = "store_not_found"
    status = 404


class TeamNotFound(OrgError):
    error_id = "team_not_found"
    status = 404


class Forbidden(OrgError):
    """The caller's role or place in the hierarchy does not allow the change."""
    error_id = "forbidden"
    status = 403


class ImportRejected(OrgError):
    """A file with invalid rows: nothing was committed (``rows`` names them)."""
    error_id = "import_rejected"
