"""A template checked when an admin saves it (and each shipped one, by the
tests): what would stop it, and what the admin should see before saving.

Refused (``errors``): an unknown event or channel, a ``{placeholder}`` the
event does not have (named, with the ones it has), braces that are not a
plain ``{name}`` (``{{`` writes a brace), an empty body, an e-mail without a
subject, a line break in a subject, text longer than the outbox keeps.

Shown for an SMS: its encoding (GSM-7, or UCS-2 as soon as one character is
outside GSM 03.38, e.g. any Devanagari), characters and segments, computed
on the text filled with ``SAMPLES`` (each placeholder at a typical length,
Latin letters: a value in another script makes a GSM-7 text UCS-2); and the
DLT-style fixed text, each placeholder as ``{#var#}``, as one registers it
on India's DLT portal (the text sent must match it but for the variables)."""
from __future__ import annotations

import string
from dataclasses import dataclass, field

from callcenter.notifications.events import EVENT_CHANNELS, EVENTS
from callcenter.notifications.render import TemplateError, fill, placeholders_of
from callcenter.notifications.sms_size import UCS2, SmsSize, sms_size

SUBJECT_CHARS, BODY_CHARS = 200, 4000     # the outbox's columns (models.Notification)
SMS_SEGMENTS_WARNED = 2                   # more than this: each message costs that many SMS
DLT_VAR = "{#var#}"
DLT_VAR_CHARS = 30                        # what one {#var#} may hold on the DLT portals

# A typical value of each placeholder: the SMS size is the size of the text
# filled with these (the lengths are what the check assumes).
SAMPLES = {
    "customer_name": "Kavya Ramaswamy",          # 15
    "person_name": "Arjun Malhotra",             # 14
    "agent_name": "Sunita Verma",                # 12
    "store_name": "Jubilee Hills",               # 13
    "store_city": "Hyderabad",                   # 9
    "appointment_date": "08 Dec 2026",           # 11
    "appointment_time": "11:30 AM",              # 8 (as sent: %I:%M %p)
    "brand": "Swarna Jewels",                    # 13
    "ticket": "TK-261123-0042",                  # 14
    "category": "Product quality",               # 15
    "priority": "normal",                        # 6
    "due": "08 Dec 2026 18:00",                  # 17
    "sla_hours": "48",                           # 2
    "description": "The clasp of the necklace broke a week after purchase.",
    "level": "team lead",
    "link": "https://cc.example.com/complaints/42",
    "followup_date": "08 Dec 2026",
    "followup_time": "04:00 PM",
    "upload_name": "walk-ins-december.xlsx",
    "rows": "1250",
    "campaign": "New walk-in survey",
    "report_name": "Calls by store",
    "period": "07 Dec 2026",
}


@dataclass
class TemplateCheck:
    event: str
    channel: str
    errors: list[str] = field(default_factory=list)       # any: the template is refused
    warnings: list[str] = field(default_factory=list)     # shown, not refused
    placeholders: list[str] = field(default_factory=list)  # those used, in order, once each
    allowed: tuple[str, ...] = ()                         # the event's
    assumed: dict[str, int] = field(default_factory=dict)  # placeholder -> length assumed (SMS size)
    preview_subject: str = ""                             # filled with SAMPLES
    preview: str = ""
    sms: SmsSize | None = None
    dlt_text: str = ""                                    # SMS: the DLT-style fixed text

    @property
    def ok(self) -> bool:
        return not self.errors


def dlt_text(body: str) -> str:
    """``body`` with each placeholder as ``{#var#}`` (and ``{{``/``}}`` as the braces they write)."""
    return "".join(literal + ("" if name is None else DLT_VAR)
                   for literal, name, _spec, _conversion in string.Formatter().parse(body))


def _names(check: TemplateCheck, what: str, text: str) -> list[str] | None:
    try:
        names = placeholders_of(text)
    except TemplateError as exc:
        check.errors.append(f"{what}: {exc}")
        return None
    unknown = [n for n in dict.fromkeys(names) if n not in check.allowed]
    if unknown:
        check.errors.append(
            f"{what}: unknown placeholder{'s' if len(unknown) > 1 else ''} "
            f"{', '.join('{' + n + '}' for n in unknown)}; this event has "
            f"{', '.join('{' + n + '}' for n in check.allowed)}")
        return None
    return names


def _check_sms(check: TemplateCheck, subject: str, body: str) -> None:
    if subject.strip():
        check.warnings.append("an SMS has no subject: only the body is sent")
    check.sms = size = sms_size(check.preview)
    check.dlt_text = dlt_text(body)
    if size.segments > SMS_SEGMENTS_WARNED:
        check.warnings.append(f"{size.segments} SMS segments ({size.encoding}): each message costs "
                              f"{size.segments} SMS")
    if size.encoding == UCS2 and not any(c.isalpha() for c in size.not_gsm):
        check.warnings.append(f"UCS-2 (70 characters a segment, not 160) only because of "
                              f"{' '.join(size.not_gsm)}: not in the GSM alphabet")
    long_values = [n for n in check.placeholders if check.assumed[n] > DLT_VAR_CHARS]
    if long_values:
        check.warnings.append(f"{', '.join('{' + n + '}' for n in long_values)} is often longer than "
                              f"the {DLT_VAR_CHARS} characters a DLT {DLT_VAR} holds")


def check_template(event_key: str, channel: str, subject: str, body: str) -> TemplateCheck:
    """What is wrong with the template, and (SMS) its size and DLT text."""
    subject, body = subject or "", body or ""
    check = TemplateCheck(event_key, channel)
    event = EVENTS.get(event_key)
    if event is None:
        check.errors.append(f"unknown event {event_key!r}")
        return check
    if channel not in EVENT_CHANNELS:
        check.errors.append(f"unknown channel {channel!r}: one of {', '.join(EVENT_CHANNELS)}")
        return check
    check.allowed = event.placeholders
    if not body.strip():
        check.errors.append("the text is empty")
    if len(body) > BODY_CHARS or len(subject) > SUBJECT_CHARS:
        check.errors.append(f"at most {SUBJECT_CHARS} characters of subject and {BODY_CHARS} of text")
    if channel == "email" and not subject.strip():
        check.errors.append("an e-mail needs a subject")
    if "\n" in subject or "\r" in subject:
        check.errors.append("a subject is one line")
    body_names = _names(check, "text", body)
    subject_names = _names(check, "subject", subject) if channel != "sms" else []
    if body_names is None or subject_names is None:
        return check
    check.placeholders = list(dict.fromkeys(subject_names + body_names))
    check.assumed = {n: len(SAMPLES.get(n, "")) for n in check.placeholders}
    check.preview_subject = fill(subject, SAMPLES, one_line=True) if channel != "sms" else ""
    check.preview = fill(body, SAMPLES)
    if channel == "sms":
        _check_sms(check, subject, body)
    return check
