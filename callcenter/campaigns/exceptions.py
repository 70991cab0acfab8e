"""Errors of campaigns, each with a stable error id."""
from __future__ import annotations

from callcenter.errors import DomainError


class CampaignNotFound(DomainError):
    """No such campaign, or not in the caller's scope (ids do not leak)."""
    error_id = "campaign_not_found"
    status = 404


class CampaignInvalid(DomainError):
    """A field of a campaign is wrong; ``field`` names it."""
    error_id = "invalid_campaign"
    status = 422


class CampaignNameTaken(DomainError):
    error_id = "campaign_name_taken"
    status = 409


class CampaignNotManaged(DomainError):
    """The caller may see the campaign but not change it (or upload to it)."""
    error_id = "forbidden"
    status = 403


class CampaignClosed(DomainError):
    """Closed or expired: no uploads, no calls, and a closed campaign stays closed."""
    error_id = "campaign_closed"
    status = 409


class FormInvalid(DomainError):
    """A disposition form (campaign data) is malformed; ``problems`` lists
    every problem as ``{"path": "questions[2].options[0].next[1]", "problem": ...}``."""
    error_id = "invalid_form"
    status = 422
