"""Texts for the events whose shipped templates are not on this branch yet
(complaints, uploads, reports): tests add them as admin-edited templates so
the events send something. Once the shipped texts exist, these rows simply
override them in the tests that use them."""
from callcenter.notifications.models import NotificationTemplate

TEXTS = {
    ("complaint.filed", "sms"): ("", "Your complaint is registered. Ticket number {ticket}. "
                                     "We aim to resolve it within {sla_hours} hours."),
    ("complaint.filed", "email"): ("Your complaint {ticket}", "Dear {customer_name},\n\nYour complaint is "
                                   "registered. Ticket number {ticket}; we aim to resolve it within "
                                   "{sla_hours} hours."),
    ("complaint.resolved", "sms"): ("", "Your complaint {ticket} has been resolved. Thank you for your patience."),
    ("complaint.resolved", "email"): ("Complaint {ticket} resolved",
                                      "Dear {customer_name},\n\nYour complaint {ticket} has been resolved."),
    ("complaint.assigned", "log"): ("New complaint {ticket} for you", "{description}\nDue {due}"),
    ("complaint.assigned", "email"): ("New complaint {ticket} for you", "{description}\nDue {due}\n{link}"),
    ("complaint.escalated", "log"): ("Complaint {ticket} escalated to you ({level})",
                                     "{ticket} · {category} · priority {priority}\n{description}\nDue {due}"),
    ("complaint.escalated", "email"): ("Complaint {ticket} escalated to you ({level})",
                                       "Dear {person_name},\n\n{ticket} · {category}\n{description}\n"
                                       "Due {due}\n{link}"),
    ("upload.committed", "log"): ("Upload {upload_name} committed", "{rows} rows into {campaign}"),
    ("upload.committed", "email"): ("Upload {upload_name} committed", "{rows} rows into {campaign}\n{link}"),
    ("report.ready", "log"): ("Report {report_name} is ready", "{report_name} for {period} was mailed. {link}"),
    ("report.ready", "email"): ("Report {report_name} is ready", "{report_name} for {period} was mailed. {link}"),
}


async def add_event_texts(session) -> None:
    session.add_all([NotificationTemplate(event=event, channel=channel, language="en", subject=subject, body=body)
                     for (event, channel), (subject, body) in TEXTS.items()])
    await session.flush()
