"""What admins change about notifications: an event switched on or off and
its channels, and an event's text per channel and language (checked when it
is saved: unknown placeholders refused; for SMS the length, encoding,
segments and the DLT-style fixed text shown). Every change is audited with
its old -> new values. The handlers (admin_http.py, admin_pages.py) are thin
over this module."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter import audit
from callcenter.models import utcnow
from callcenter.notifications.events import CUSTOMER, EVENT_CHANNELS, EVENTS, Event
from callcenter.notifications.exceptions import InvalidNotification, NotificationNotFound
from callcenter.notifications.models import NotificationEventSetting, NotificationTemplate
from callcenter.notifications.template_check import BODY_CHARS, SUBJECT_CHARS, TemplateCheck, check_template
from callcenter.notifications.templates import SHIPPED
from callcenter.org.languages import INDIAN

log = logging.getLogger(__name__)

SHOWN_LANGUAGES = ("en", "hi")     # always on the page; others when a template has them or the admin picks one
CUSTOMER_CHANNELS = ("sms", "email")   # a customer has no panel: "log" is for people of the organisation


def check_json(check: TemplateCheck) -> dict:
    """The check as the API and the page show it (the SMS size: SMS only)."""
    sms = check.sms
    return {"ok": check.ok, "errors": list(check.errors), "warnings": list(check.warnings),
            "encoding": sms.encoding if sms else "", "segments": sms.segments if sms else 0,
            "characters": sms.characters if sms else 0, "dlt_text": check.dlt_text}


def event_or_404(key: str) -> Event:
    if key not in EVENTS:
        raise NotificationNotFound(f"no notification event {key!r}")
    return EVENTS[key]


def channels_for(event: Event) -> tuple[str, ...]:
    """The channels an admin may give the event."""
    return CUSTOMER_CHANNELS if event.audience == CUSTOMER else EVENT_CHANNELS


def template_key(key: str, channel: str, language: str) -> tuple[Event, str, str]:
    """The event, channel and language of a template's path; 404 when one is unknown."""
    event = event_or_404(key)
    if channel not in channels_for(event):
        raise NotificationNotFound(f"event {key} has no {channel!r} channel "
                                   f"(it may use {', '.join(channels_for(event))})")
    if language not in INDIAN:
        raise NotificationNotFound(f"no language {language!r} (one of {', '.join(INDIAN)})")
    return event, channel, language


async def event_settings(session: AsyncSession) -> dict[str, NotificationEventSetting]:
    return {r.event: r for r in (await session.scalars(select(NotificationEventSetting))).all()}


async def edited_templates(session: AsyncSession) -> dict[tuple[str, str, str], NotificationTemplate]:
    return {(r.event, r.channel, r.language): r
            for r in (await session.scalars(select(NotificationTemplate))).all()}


def template_in_use(key: str, channel: str, language: str, rows: dict) -> dict | None:
    """The text of (event, channel, language) with ``source``: "edited" when
    an admin's row differs from the shipped text, else "shipped"; None when
    there is neither (the message then falls back to English)."""
    shipped = SHIPPED.get((key, channel, language))
    row = rows.get((key, channel, language))
    if row is not None and (shipped is None or (row.subject, row.body) != tuple(shipped)):
        return {"subject": row.subject, "body": row.body, "source": "edited",
                "updated_at": row.updated_at, "updated_by": row.updated_by}
    if shipped is not None:
        return {"subject": shipped[0], "body": shipped[1], "source": "shipped"}
    return None


def languages_in_use(rows: dict, extra: str | None = None) -> list[str]:
    """en, hi, every language a template has, and ``extra`` (a known one the admin picked)."""
    found = {lang for (_e, _c, lang) in [*rows, *SHIPPED]}
    chosen = [*SHOWN_LANGUAGES, *sorted(found - set(SHOWN_LANGUAGES))]
    if extra and extra in INDIAN and extra not in chosen:
        chosen.append(extra)
    return chosen


async def catalogue(session: AsyncSession, extra_language: str | None = None) -> tuple[list[dict], list[str]]:
    """Every event as the admin sees it, and the languages shown."""
    settings, rows = await event_settings(session), await edited_templates(session)
    languages = languages_in_use(rows, extra_language)
    out = []
    for event in EVENTS.values():
        setting = settings.get(event.key)
        out.append({
            "key": event.key, "title": event.title, "audience": event.audience, "kind": event.kind,
            "when": event.when, "placeholders": list(event.placeholders),
            "enabled": event.on_by_default if setting is None else bool(setting.enabled),
            "channels": list(event.channels if setting is None else setting.channels or ()),
            "default_channels": list(event.channels), "allowed_channels": list(channels_for(event)),
            "templates": [{"channel": channel, "language": language, **text}
                          for channel in channels_for(event) for language in languages
                          if (text := template_in_use(event.key, channel, language, rows)) is not None]})
    return out, languages


async def change_event(session: AsyncSession, actor: str, key: str, *, enabled, channels) -> dict:
    """Switch the event on or off and set its channels (each given or kept)."""
    event = event_or_404(key)
    row = await session.get(NotificationEventSetting, key)
    before = {"enabled": event.on_by_default if row is None else bool(row.enabled),
              "channels": list(event.channels if row is None else row.channels or ())}
    after = dict(before)
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise InvalidNotification("enabled must be true or false", field="enabled")
        after["enabled"] = enabled
    if channels is not None:
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise InvalidNotification("channels must be a list of channel names", field="channels")
        allowed = channels_for(event)
        if bad := [c for c in channels if c not in allowed]:
            why = " (a customer has no in-app panel)" if "log" in bad and event.audience == CUSTOMER else ""
            raise InvalidNotification(f"{event.title} cannot use {', '.join(bad)}{why}: "
                                      f"choose from {', '.join(allowed)}", field="channels")
        after["channels"] = [c for c in allowed if c in channels]
    if after != before:
        if row is None:
            row = NotificationEventSetting(event=key)
            session.add(row)
        row.enabled, row.channels = after["enabled"], after["channels"]
        row.updated_at, row.updated_by = utcnow(), actor[:60]
        audit.record(session, actor, "notification_event.update", "notification_event", key,
                     changes={k: [before[k], after[k]] for k in after if before[k] != after[k]})
    return after


def checked(key: str, channel: str, subject, body):
    """The check of a text an admin typed (subject kept only for e-mail)."""
    if not isinstance(subject, str) or not isinstance(body, str):
        raise InvalidNotification("subject and body must be text", field="body")
    if len(subject) > SUBJECT_CHARS or len(body) > BODY_CHARS:
        raise InvalidNotification(f"at most {SUBJECT_CHARS} characters of subject and {BODY_CHARS} of text",
                                  field="body")
    subject = subject.strip() if channel == "email" else ""
    body = body.replace("\r\n", "\n").strip()
    return subject, body, check_template(key, channel, subject, body)


async def save_template(session: AsyncSession, actor: str, key: str, channel: str, language: str,
                        subject, body) -> tuple[dict, object]:
    """Save the admin's text (refused with the check's errors); (the text in use, the check)."""
    template_key(key, channel, language)
    subject, body, check = checked(key, channel, subject or "", body)
    if check.errors:
        raise InvalidNotification("the template is refused: " + "; ".join(check.errors),
                                  errors=list(check.errors), check=check_json(check))
    rows = await edited_templates(session)
    old = template_in_use(key, channel, language, rows)
    row = rows.get((key, channel, language))
    if row is None:
        row = NotificationTemplate(event=key, channel=channel, language=language)
        session.add(row)
    row.subject, row.body, row.updated_at, row.updated_by = subject, body, utcnow(), actor[:60]
    changes = {name: [old[name] if old else "", new] for name, new in (("subject", subject), ("body", body))
               if (old[name] if old else "") != new}
    audit.record(session, actor, "notification_template.update", "notification_template",
                 f"{key}/{channel}/{language}", changes=changes)
    return template_in_use(key, channel, language, {(key, channel, language): row}), check


async def reset_template(session: AsyncSession, actor: str, key: str, channel: str, language: str) -> dict | None:
    """Back to the shipped text (for a language with none: no text, English is used)."""
    template_key(key, channel, language)
    rows = await edited_templates(session)
    old = template_in_use(key, channel, language, rows)
    row = rows.get((key, channel, language))
    if row is not None:
        await session.delete(row)
    new = template_in_use(key, channel, language, {})
    if old != new:
        audit.record(session, actor, "notification_template.reset", "notification_template",
                     f"{key}/{channel}/{language}",
                     changes={name: [old[name] if old else "", new[name] if new else ""]
                              for name in ("subject", "body")
                              if (old[name] if old else "") != (new[name] if new else "")})
    return new


def preview(key: str, channel: str, language: str, subject, body) -> dict:
    """The check of a text being typed and the text filled with example values."""
    template_key(key, channel, language)
    subject, body, check = checked(key, channel, subject or "", body)
    out = check_json(check)
    if not check.errors:
        out.update(subject=check.preview_subject, body=check.preview)
    return out
