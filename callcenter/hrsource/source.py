"""The HR source's settings: read, changed by an admin (checked, audited,
secrets sealed), shown without their secrets, turned into a pull's Spec.

A secret given blank (or left out) keeps the stored one; given ``null``
(the JSON API) or with the form's "forget" box it is removed. The JSON view
says only whether each secret is set."""
from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.hrsource import sealing
from callcenter.hrsource.client import Spec, check_url
from callcenter.hrsource.exceptions import InvalidSource
from callcenter.hrsource.models import AUTH_KINDS, PAGING_KINDS, TOKEN_BODIES, HrSource
from callcenter.hrsource.records import check_mapping
from callcenter.orm import utcnow
from callcenter.schedule import parse_time
from callcenter.spreadsheets import store as files

SOURCE_ID = 1
SECRETS = {"client_secret": "client_secret_sealed", "static_token": "static_token_sealed"}
TEXTS = {"list_url": 500, "token_url": 500, "client_id": 200, "scope": 200, "list_path": 200,
         "active_statuses": 300, "next_field": 200, "page_param": 60}
CHOICES = {"auth": AUTH_KINDS, "token_body": TOKEN_BODIES, "paging": PAGING_KINDS}
NUMBERS = {"max_pages": (1, 100), "timeout_seconds": (1, 120), "max_leavers_percent": (0, 100)}
FLAGS = ("enabled", "auto_commit")
EDITABLE = {*TEXTS, *CHOICES, *NUMBERS, *FLAGS, *SECRETS, "mapping", "daily_at"}
_PARAM = re.compile(r"^[A-Za-z0-9_.\-]{1,60}$")


def _new() -> HrSource:
    return HrSource(id=SOURCE_ID, enabled=False, list_url="", auth="none", token_url="", token_body="form",
                    client_id="", scope="", client_secret_sealed="", static_token_sealed="",
                    list_path="", mapping={}, active_statuses="", paging="none", next_field="next",
                    page_param="page", max_pages=20, timeout_seconds=20, daily_at="",
                    auto_commit=True, max_leavers_percent=10, updated_by="")


async def get_source(session: AsyncSession) -> HrSource:
    """The stored source, or the defaults (not added) when none was ever saved."""
    return await session.get(HrSource, SOURCE_ID) or _new()


def source_json(source: HrSource) -> dict:
    out = {name: getattr(source, name) for name in (*TEXTS, *CHOICES, *NUMBERS, *FLAGS, "daily_at")}
    out["mapping"] = dict(source.mapping or {})
    out.update({f"{name}_set": bool(getattr(source, column)) for name, column in SECRETS.items()})
    out["updated_by"] = source.updated_by
    out["updated_at"] = source.updated_at.isoformat() if source.updated_at else None
    return out


def _flag(name: str, value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("on", "true", "1", "yes", "false", "0", "no", ""):
        return value.lower() in ("on", "true", "1", "yes")
    raise InvalidSource(f"{name} must be true or false", field=name)


def _number(name: str, value) -> int:
    low, high = NUMBERS[name]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidSource(f"{name.replace('_', ' ')} must be a whole number from {low} to {high}", field=name)
    return value


def _value(name: str, value):
    """One setting checked and in its stored form."""
    if name in FLAGS:
        return _flag(name, value)
    if name in NUMBERS:
        return _number(name, value)
    if name == "mapping":
        return check_mapping(value)
    if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
        raise InvalidSource(f"{name.replace('_', ' ')} must be a line of text", field=name)
    value = value.strip()
    if name in CHOICES and value not in CHOICES[name]:
        raise InvalidSource(f"{name.replace('_', ' ')} must be one of {', '.join(CHOICES[name])}", field=name)
    if name in TEXTS and len(value) > TEXTS[name]:
        raise InvalidSource(f"{name.replace('_', ' ')} is longer than {TEXTS[name]} characters", field=name)
    if name == "daily_at" and value:
        try:
            value = parse_time(value).strftime("%H:%M")
        except ValueError as exc:
            raise InvalidSource(f"daily time: {exc}", field="daily_at") from None
    return value


def _check_whole(source: HrSource) -> None:
    """The rules between settings, for a source that is to be fetched."""
    if source.list_url or source.enabled:
        check_url(source.list_url, "employee list URL")
    if source.auth == "client_credentials":
        check_url(source.token_url, "token URL")
        if not source.client_id or not source.client_secret_sealed:
            raise InvalidSource("the client id and client secret are needed to ask for a token",
                                field="client_secret")
    if source.auth == "token" and not source.static_token_sealed:
        raise InvalidSource("give the bearer token", field="static_token")
    if source.paging == "page" and not _PARAM.fullmatch(source.page_param or ""):
        raise InvalidSource("the page parameter must be a short name such as page", field="page_param")
    if source.enabled:
        check_mapping(source.mapping or {})


async def update_source(session: AsyncSession, settings, changes: dict, *, actor: str) -> HrSource:
    """Apply ``changes`` (the settings' names; see EDITABLE) in ``session``;
    the caller commits. InvalidSource names the first wrong setting."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidSource(f"unknown settings: {', '.join(sorted(unknown))}")
    source = await session.get(HrSource, SOURCE_ID)
    if source is None:
        source = _new()
        session.add(source)
    changed, before = [], {}
    for name, value in changes.items():
        if name in SECRETS:
            if value == "":
                continue
            if value is not None and (not isinstance(value, str) or len(value) > 4000):
                raise InvalidSource(f"the {name.replace('_', ' ')} must be a text", field=name)
            setattr(source, SECRETS[name], sealing.seal(settings, value) if value else "")
            changed.append(name)
            continue
        value = _value(name, value)
        if getattr(source, name) != value:
            before[name] = getattr(source, name)
            setattr(source, name, value)
            changed.append(name)
    _check_whole(source)
    source.updated_by, source.updated_at = actor[:60], utcnow()
    audit.record(session, actor, "hrsource.update", "hr_source", SOURCE_ID, changed=sorted(changed),
                 changes={name: [old, getattr(source, name)] for name, old in before.items()})  # secrets: named only
    return source


def spec_of(settings, source: HrSource) -> Spec:
    """What a pull needs, with the secrets unsealed (SecretUnreadable when they cannot be)."""
    return Spec(
        list_url=source.list_url, auth=source.auth, token_url=source.token_url,
        token_body=source.token_body, client_id=source.client_id, scope=source.scope,
        client_secret=sealing.unseal(settings, source.client_secret_sealed, "client secret")
        if source.auth == "client_credentials" else "",
        static_token=sealing.unseal(settings, source.static_token_sealed, "bearer token")
        if source.auth == "token" else "",
        list_path=source.list_path, paging=source.paging, next_field=source.next_field,
        page_param=source.page_param, max_pages=source.max_pages, timeout=float(source.timeout_seconds),
        max_bytes=files.max_bytes(settings))
