"""The text of each event for each channel and language: an admin's
(``notification_templates``) where there is one, else the shipped one; the
customer's language first, then English."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from callcenter.notifications.models import NotificationTemplate

FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class Text:
    subject: str
    body: str
    language: str


# (event, channel, language) -> (subject, body). SMS: the body only.
SHIPPED: dict[tuple[str, str, str], tuple[str, str]] = {
    ("appointment.booked", "sms", "en"): (
        "", "Dear {customer_name}, your visit to {store_name}, {store_city} is booked for "
            "{appointment_date} at {appointment_time}. - {brand}"),
    ("appointment.booked", "email", "en"): (
        "Your visit to {store_name} on {appointment_date}",
        "Dear {customer_name},\n\nYour visit to {store_name}, {store_city} is booked for "
        "{appointment_date} at {appointment_time}.\n\n{brand}"),
}


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
