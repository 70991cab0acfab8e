"""Errors of the users service (DomainError: stable ``error_id``, HTTP
``status``, human ``message`` safe to show to the operator)."""
from __future__ import annotations

from callcenter.errors import DomainError


class UserError(DomainError):
    error_id = "user_error"
    status = 422


class InvalidName(UserError):
    error_id = "invalid_name"


class InvalidRole(UserError):
    error_id = "invalid_role"


class InvalidPhoneMode(UserError):
    error_id = "invalid_phone_mode"


class InvalidContact(UserError):
    error_id = "invalid_contact"


class InvalidMobile(UserError):
    error_id = "invalid_mobile"


class InvalidEmail(UserError):
    error_id = "invalid_email"


class WeakPassword(UserError):
    error_id = "weak_password"


class UserExists(UserError):
    error_id = "user_exists"
    status = 409


class UserNotFound(UserError):
    error_id = "user_not_found"
    status = 404


class InvalidPlacement(UserError):
    """The role, agent kind, location, team and store do not fit together."""
    error_id = "invalid_placement"


class InvalidAgentKind(UserError):
    error_id = "invalid_agent_kind"


class InvalidLanguages(UserError):
    error_id = "invalid_languages"


class InvalidEmployeeId(UserError):
    error_id = "invalid_employee_id"


class EmployeeIdExists(UserError):
    error_id = "employee_id_exists"
    status = 409


class NotAllowed(UserError):
    """The caller's role or place in the hierarchy does not allow this change."""
    error_id = "forbidden"
    status = 403


class CannotDisableSelf(UserError):
    error_id = "cannot_disable_self"
    status = 409
