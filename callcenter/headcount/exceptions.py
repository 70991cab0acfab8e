"""Errors of the head-count import, each with a stable ``error_id``."""
from __future__ import annotations

from callcenter.org.exceptions import OrgError


class UploadNotFound(OrgError):
    error_id = "upload_not_found"
    status = 404


class UploadNotCommittable(OrgError):
    error_id = "upload_not_committable"
    status = 409
