"""The shipped English texts: (event, channel) -> (subject, body). An SMS
has no subject; "log" is the in-app note (subject as its title)."""
from __future__ import annotations

_VISIT = "{store_name}, {store_city}"
_CASE = "{ticket} · {category} · priority {priority}\n{description}\nDue {due}\n{link}"

NAMELESS = "Customer"   # {customer_name} of a customer without a name

TEXTS: dict[tuple[str, str], tuple[str, str]] = {
    # The customer's appointments
    ("appointment.booked", "sms"): (
        "", "Dear {customer_name}, your visit to " + _VISIT + " is booked for "
            "{appointment_date} at {appointment_time}. - {brand}"),
    ("appointment.booked", "email"): (
        "Your visit to {store_name} on {appointment_date}",
        "Dear {customer_name},\n\nYour visit to " + _VISIT + " is booked for "
        "{appointment_date} at {appointment_time}. We look forward to seeing you.\n\n{brand}"),
    ("appointment.changed", "sms"): (
        "", "Dear {customer_name}, your visit to " + _VISIT + " is now on "
            "{appointment_date} at {appointment_time}. - {brand}"),
    ("appointment.changed", "email"): (
        "Your visit to {store_name} is now on {appointment_date}",
        "Dear {customer_name},\n\nYour visit has been moved: we now look forward to seeing you at "
        + _VISIT + " on {appointment_date} at {appointment_time}.\n\n{brand}"),
    ("appointment.cancelled", "sms"): (
        "", "Dear {customer_name}, your visit to " + _VISIT + " on {appointment_date} at "
            "{appointment_time} is cancelled. Call us to book another. - {brand}"),
    ("appointment.cancelled", "email"): (
        "Your visit to {store_name} on {appointment_date} is cancelled",
        "Dear {customer_name},\n\nYour visit to " + _VISIT + " on {appointment_date} at "
        "{appointment_time} has been cancelled. We would be glad to see you another time: "
        "just call us to book a new visit.\n\n{brand}"),
    ("appointment.reminder_day_before", "sms"): (
        "", "Dear {customer_name}, a reminder: we look forward to seeing you at " + _VISIT
            + " tomorrow, {appointment_date}, at {appointment_time}. - {brand}"),
    ("appointment.reminder_day_before", "email"): (
        "See you tomorrow at {store_name}",
        "Dear {customer_name},\n\nA reminder of your visit tomorrow, {appointment_date}, at "
        "{appointment_time}, at " + _VISIT + ". We look forward to seeing you.\n\n{brand}"),
    ("appointment.reminder_hours_before", "sms"): (
        "", "Dear {customer_name}, we look forward to seeing you at " + _VISIT
            + " today at {appointment_time}. - {brand}"),

    # The customer's complaints
    ("complaint.filed", "sms"): (
        "", "Dear {customer_name}, your complaint is registered. Ticket number {ticket}. "
            "We aim to resolve it within {sla_hours} hours. - {brand}"),
    ("complaint.filed", "email"): (
        "Your complaint {ticket} is registered",
        "Dear {customer_name},\n\nWe have registered your complaint ({category}) under ticket number "
        "{ticket}. We aim to resolve it within {sla_hours} hours, by {due}. Please quote the ticket "
        "number whenever you contact us about it.\n\n{brand}"),
    ("complaint.resolved", "sms"): (
        "", "Dear {customer_name}, your complaint {ticket} has been resolved. "
            "Thank you for your patience. - {brand}"),
    ("complaint.resolved", "email"): (
        "Your complaint {ticket} is resolved",
        "Dear {customer_name},\n\nYour complaint {ticket} has been resolved. Thank you for your "
        "patience. If anything is still not right, please tell us.\n\n{brand}"),

    # People of the organisation
    ("followup.due", "log"): (
        "Follow-up due: {customer_name}",
        "Your follow-up with {customer_name} is due on {followup_date} at {followup_time}.\n{link}"),
    ("followup.due", "email"): (
        "Follow-up due: {customer_name} at {followup_time}",
        "Dear {person_name},\n\nYour follow-up call with {customer_name} is due on {followup_date} "
        "at {followup_time}.\n\nOpen it: {link}"),
    ("followup.missed", "log"): (
        "Follow-up missed: {customer_name} ({agent_name})",
        "{agent_name}'s follow-up with {customer_name}, due on {followup_date} at {followup_time}, "
        "was not done.\n{link}"),
    ("followup.missed", "email"): (
        "Follow-up missed: {customer_name} ({agent_name})",
        "Dear {person_name},\n\n{agent_name}'s follow-up call with {customer_name}, due on "
        "{followup_date} at {followup_time}, has not been done.\n\nOpen it: {link}"),
    ("complaint.assigned", "log"): ("Complaint {ticket} is yours", _CASE),
    ("complaint.assigned", "email"): (
        "Complaint {ticket} is yours",
        "Dear {person_name},\n\nA complaint is yours to resolve:\n" + _CASE),
    ("complaint.escalated", "log"): (
        "Complaint {ticket} escalated to you ({level})",
        "Its SLA passed at the level before.\n" + _CASE),
    ("complaint.escalated", "email"): (
        "Complaint {ticket} escalated to you ({level})",
        "Dear {person_name},\n\nA complaint passed its SLA and is now yours ({level}):\n" + _CASE),
    ("upload.committed", "log"): (
        "Upload {upload_name} committed",
        "{rows} rows of {upload_name} were committed to {campaign}.\n{link}"),
    ("upload.committed", "email"): (
        "Upload {upload_name} committed",
        "Dear {person_name},\n\n{rows} rows of {upload_name} were committed to {campaign}.\n\n"
        "Open it: {link}"),
    ("report.ready", "log"): (
        "Report ready: {report_name}",
        "{report_name} for {period} is ready.\n{link}"),
    ("report.ready", "email"): (
        "Report ready: {report_name} for {period}",
        "Dear {person_name},\n\n{report_name} for {period} is ready.\n\nOpen it: {link}"),
    # promotional (off until an admin switches them on)
    ("customer.birthday", "sms"): (
        "", "Happy birthday, {customer_name}! Celebrate with us: a birthday gift awaits you at "
            "{store_name} this month. - {brand}"),
    ("customer.anniversary", "sms"): (
        "", "Happy anniversary, {customer_name}! Make it sparkle: an anniversary gift awaits you at "
            "{store_name} this month. - {brand}"),
}
