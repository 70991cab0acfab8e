"""The fields of a campaign as an admin or manager sends them, checked and
made values (``clean_fields``), each problem a CampaignInvalid naming its field."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.campaigns.exceptions import CampaignInvalid, CampaignNameTaken, CampaignNotManaged
from callcenter.campaigns.forms import validate_form
from callcenter.campaigns.models import CALLING_MODES, CAMPAIGN_TYPES, STATUSES, Campaign
from callcenter.models import Trunk
from callcenter.org.models import Location
from callcenter.org.scope import Scope

FIELDS = ("name", "type", "custom_type", "starts_on", "expires_on", "trunk_id", "calling_mode",
          "location_id", "form", "retry_delay_minutes", "max_attempts", "status")
MAX_RETRY_DELAY = 60 * 24 * 30
MAX_ATTEMPTS = 20


def _date(value, name: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise CampaignInvalid(f"{name} must be a date (YYYY-MM-DD)", field=name) from None


def _int(value, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (
            isinstance(value, str) and not (value.isascii() and value.strip().isdigit())):
        raise CampaignInvalid(f"{name} must be a whole number", field=name)
    try:
        number = int(value)
    except ValueError:
        raise CampaignInvalid(f"{name} must be a whole number", field=name) from None
    if not low <= number <= high:
        raise CampaignInvalid(f"{name} must be between {low} and {high}", field=name)
    return number


def _text(value, name: str, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CampaignInvalid(f"{name} must be a non-empty text", field=name)
    value = " ".join(value.split())
    if len(value) > longest:
        raise CampaignInvalid(f"{name} must be at most {longest} characters", field=name)
    return value


async def clean_fields(session: AsyncSession, scope: Scope, fields: dict, current: Campaign | None) -> dict:
    """The fields given, checked against ``current`` (None: a new campaign)."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise CampaignInvalid(f"unknown fields: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    out: dict = {}
    if "name" in fields:
        out["name"] = _text(fields["name"], "name", 80)
        taken = await session.scalar(select(Campaign.id).where(Campaign.name == out["name"]))
        if taken is not None and (current is None or taken != current.id):
            raise CampaignNameTaken(f"a campaign named {out['name']!r} exists", field="name")
    if "type" in fields:
        if fields["type"] not in CAMPAIGN_TYPES:
            raise CampaignInvalid(f"type must be one of {', '.join(CAMPAIGN_TYPES)}", field="type")
        out["type"] = fields["type"]
    if "custom_type" in fields:
        value = fields["custom_type"]
        out["custom_type"] = _text(value, "custom_type", 60) if value not in (None, "") else None
    kind = out.get("type", current.type if current else None)
    custom = out.get("custom_type", current.custom_type if current else None)
    if kind == "custom" and not custom:
        raise CampaignInvalid("a custom campaign needs its name in custom_type", field="custom_type")
    if kind != "custom":
        out["custom_type"] = None
    for name in ("starts_on", "expires_on"):
        if name in fields:
            out[name] = _date(fields[name], name)
    starts = out.get("starts_on", current.starts_on if current else None)
    expires = out.get("expires_on", current.expires_on if current else None)
    if starts and expires and expires < starts:
        raise CampaignInvalid("expires_on must not be before starts_on", field="expires_on")
    if "trunk_id" in fields and fields["trunk_id"] not in (None, ""):
        trunk_id = _int(fields["trunk_id"], "trunk_id", 1, 2**31)
        trunk = await session.get(Trunk, trunk_id)
        if trunk is None or trunk.removed_at is not None:
            raise CampaignInvalid("no such trunk", field="trunk_id")
        out["trunk_id"] = trunk_id
    elif "trunk_id" in fields:
        out["trunk_id"] = None
    if "calling_mode" in fields:
        if fields["calling_mode"] not in CALLING_MODES:
            raise CampaignInvalid(f"calling_mode must be one of {', '.join(CALLING_MODES)}",
                                  field="calling_mode")
        out["calling_mode"] = fields["calling_mode"]
    if "retry_delay_minutes" in fields:
        out["retry_delay_minutes"] = _int(fields["retry_delay_minutes"], "retry_delay_minutes",
                                          1, MAX_RETRY_DELAY)
    if "max_attempts" in fields:
        out["max_attempts"] = _int(fields["max_attempts"], "max_attempts", 1, MAX_ATTEMPTS)
    if "status" in fields:
        if fields["status"] not in STATUSES:
            raise CampaignInvalid(f"status must be one of {', '.join(STATUSES)}", field="status")
        out["status"] = fields["status"]
    if "location_id" in fields:
        out["location_id"] = await _location(session, scope, fields["location_id"])
    if "form" in fields:
        out["form"] = validate_form(fields["form"])
    return out


async def _location(session: AsyncSession, scope: Scope, value) -> int | None:
    if value in (None, ""):
        if not scope.sees_all:
            raise CampaignNotManaged("only an admin may make a campaign of the whole organisation")
        return None
    location_id = _int(value, "location_id", 1, 2**31)
    if not scope.sees_all and location_id != scope.location_id:
        raise CampaignNotManaged("a manager makes campaigns of their own location only")
    if await session.get(Location, location_id) is None:
        raise CampaignInvalid("no such location", field="location_id")
    return location_id
