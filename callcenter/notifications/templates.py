"""The text of each event for each channel and language: an admin's
(``notification_templates``) where there is one, else the shipped one; the
customer's (or person's) language first, then English. The shipped texts
(callcenter/notifications/shipped/) are never copied into the database."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from callcenter.notifications.models import NotificationTemplate
from callcenter.notifications.shipped import SHIPPED

FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Text:
    subject: str
    body: str
    language: str


async def text_for(session, event: str, channel: str, language: str | None) -> Text | None:
    """The template to use, or None when neither the language nor English has one."""
    languages = [language] if language and language != FALLBACK_LANGUAGE else []
    languages.append(FALLBACK_LANGUAGE)
    rows = {r.language: r for r in (await session.scalars(select(NotificationTemplate).where(
        NotificationTemplate.event == event, NotificationTemplate.channel == channel,
        NotificationTemplate.language.in_(languages)))).all()}
    for lang in languages:
        if lang in rows:
            return Text(rows[lang].subject, rows[lang].body, lang)
        if (event, channel, lang) in SHIPPED:
            subject, body = SHIPPED[(event, channel, lang)]
            return Text(subject, body, lang)
    return None
