"""The audit trail people can read: ``GET /api/v1/audit``, ``/admin/audit``,
the hash chain that shows a changed or removed row, and retention."""
from pathlib import Path

from callcenter.audit_trail import http, pages, retention
from callcenter.audit_trail import settings as audit_settings
from callcenter.feature import Feature, Section

FEATURE = Feature(
    name="audit_trail",
    routes=[*http.ROUTES, *pages.ROUTES],
    settings=Section("audit", audit_settings.AuditSettings, audit_settings.check),
    start=retention.start,
    templates=Path(__file__).parent / "templates",
    summary="The audit trail: its API, admin page, hash chain and retention",
)
