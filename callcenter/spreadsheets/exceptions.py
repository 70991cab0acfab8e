"""Errors of uploaded files: each a DomainError with a stable error id."""
from __future__ import annotations

from callcenter.errors import DomainError


class SpreadsheetError(DomainError):
    """The file cannot be read as a spreadsheet of this kind (the whole file is refused)."""
    error_id = "not_a_spreadsheet"
    status = 422


class NotASpreadsheet(SpreadsheetError):
    error_id = "not_a_spreadsheet"


class MissingColumns(SpreadsheetError):
    error_id = "missing_columns"


class DuplicateColumns(SpreadsheetError):
    error_id = "duplicate_columns"


class EmptySpreadsheet(SpreadsheetError):
    error_id = "empty_spreadsheet"


class TooLarge(SpreadsheetError):
    error_id = "too_large"
    status = 413


class UploadNotFound(DomainError):
    error_id = "upload_not_found"
    status = 404


class UploadNotCommittable(DomainError):
    """Invalid rows, already committed, campaign closed, or the file changed."""
    error_id = "upload_not_committable"
    status = 409


class UnpacksTooLarge(TooLarge):
    """An XLSX (a zip) that unpacks to more than the server reads safely."""
    error_id = "unpacks_too_large"
