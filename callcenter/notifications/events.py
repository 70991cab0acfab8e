"""The events the system tells people about, as data: who hears of each
(the customer, or people of the organisation), whether it is a service
message or a promotional one (an opted-out customer gets no promotional
message), the channels it uses unless an admin changed them, and the
``{placeholders}`` its templates may use. Templates are per event, channel
and language (callcenter/notifications/templates.py); ``notify`` (notify.py)
turns an event into outbox rows."""
from __future__ import annotations

from dataclasses import dataclass

CUSTOMER, STAFF = "customer", "staff"
SERVICE, PROMOTIONAL = "service", "promotional"
EVENT_CHANNELS = ("sms", "email", "log")     # log: in-app (the person's open panel) and the server log

_APPOINTMENT = ("customer_name", "store_name", "store_city", "appointment_date", "appointment_time",
                "brand")
_COMPLAINT = ("customer_name", "ticket", "category", "priority", "due", "sla_hours", "brand")
_STAFF_COMPLAINT = ("person_name", "ticket", "category", "priority", "due", "description", "level", "link")
_FOLLOWUP = ("person_name", "agent_name", "customer_name", "followup_date", "followup_time", "link")


@dataclass(frozen=True)
class Event:
    key: str
    title: str                      # as the admin page names it
    audience: str                   # CUSTOMER or STAFF
    channels: tuple[str, ...]       # the default channels
    placeholders: tuple[str, ...]
    kind: str = SERVICE
    when: str = ""                  # when it is sent, in words (the admin page)
    on_by_default: bool = True      # until an admin switches it (notification_event_settings)


EVENTS: dict[str, Event] = {e.key: e for e in (
    Event("appointment.booked", "Appointment booked", CUSTOMER, ("sms", "email"), _APPOINTMENT,
          when="an agent books a store visit"),
    Event("appointment.changed", "Appointment moved", CUSTOMER, ("sms", "email"), _APPOINTMENT,
          when="the visit is moved to another time or store"),
    Event("appointment.cancelled", "Appointment cancelled", CUSTOMER, ("sms", "email"), _APPOINTMENT,
          when="the visit is cancelled"),
    Event("appointment.reminder_day_before", "Appointment reminder (the day before)", CUSTOMER,
          ("sms", "email"), _APPOINTMENT, when="the day before the visit at [notifications] reminder_hour"),
    Event("appointment.reminder_hours_before", "Appointment reminder (hours before)", CUSTOMER,
          ("sms",), _APPOINTMENT, when="[notifications] reminder_hours_before hours before the visit"),
    Event("followup.due", "Follow-up due", STAFF, ("log", "email"), _FOLLOWUP,
          when="a follow-up of the agent's falls due"),
    Event("followup.missed", "Follow-up missed", STAFF, ("log", "email"), _FOLLOWUP,
          when="a follow-up is still not done the day after it fell due (the agent and their team lead)"),
    Event("complaint.filed", "Complaint registered (to the customer)", CUSTOMER, ("sms", "email"), _COMPLAINT,
          when="a complaint is filed: the customer gets the ticket number"),
    Event("complaint.assigned", "Complaint assigned (to its owner)", STAFF, ("log", "email"), _STAFF_COMPLAINT,
          when="a complaint is filed: the person who owns it"),
    Event("complaint.escalated", "Complaint escalated (to the new owner)", STAFF, ("log", "email"),
          _STAFF_COMPLAINT, when="a complaint passes its SLA and moves one level up"),
    Event("complaint.resolved", "Complaint resolved (to the customer)", CUSTOMER, ("sms", "email"), _COMPLAINT,
          when="the complaint is resolved"),
    Event("upload.committed", "Upload committed (to the operator)", STAFF, ("log", "email"),
          ("person_name", "upload_name", "rows", "campaign", "link"), when="an upload's rows are committed"),
    Event("report.ready", "Report ready (to the operator)", STAFF, ("log", "email"),
          ("person_name", "report_name", "period", "link"), when="a mailed report is made"),
    # Promotional: never to a customer who opted out (replied STOP, or marked on
    # the 360); off until an admin switches them on (their SMS texts must be
    # registered as promotional on DLT first).
    Event("customer.birthday", "Birthday wishes", CUSTOMER, ("sms",), ("customer_name", "store_name", "brand"),
          kind=PROMOTIONAL, on_by_default=False,
          when="on the customer's birthday at [notifications] greeting_hour"),
    Event("customer.anniversary", "Anniversary wishes", CUSTOMER, ("sms",), ("customer_name", "store_name", "brand"),
          kind=PROMOTIONAL, on_by_default=False,
          when="on the customer's wedding anniversary at [notifications] greeting_hour"),
)}


def event(key: str) -> Event:
    """The event ``key``; KeyError for an unknown one (a programming error)."""
    return EVENTS[key]
