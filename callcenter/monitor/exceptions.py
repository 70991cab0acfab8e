"""Errors of listen / whisper / barge, with stable ids."""
from __future__ import annotations

from callcenter.errors import DomainError


class InvalidMode(DomainError):
    error_id, status = "invalid_mode", 422


class NotMonitorable(DomainError):
    """The call is not in conversation (not yet connected, or ended)."""
    error_id, status = "call_not_connected", 409


class SupervisorHasNoPhone(DomainError):
    error_id, status = "supervisor_has_no_phone", 409


class MayNotMonitor(DomainError):
    error_id, status = "forbidden", 403


class MonitorTrunkFull(DomainError):
    error_id, status = "trunk_full", 503
    retry_after = 5


class MonitorPbxUnavailable(DomainError):
    error_id, status = "pbx_unavailable", 503
    retry_after = 5
