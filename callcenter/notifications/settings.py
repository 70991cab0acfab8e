"""The ``[notifications]`` section of the config file: the outbox's providers,
the customer's quiet hours (quiet_hours.py), the brand that signs messages,
the appointment reminders' times (reminder_plan.py)."""
from __future__ import annotations

from dataclasses import dataclass

from callcenter.notifications.quiet_hours import clock_time


@dataclass
class NotificationSettings:
    # The notification outbox (callcenter/notifications): a provider per channel.
    log_provider: str = "log"
    email_provider: str = "log"     # log | smtp
    sms_provider: str = "log"       # log | http_sms
    dispatch_interval: float = 5.0
    max_attempts: int = 5
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    batch: int = 50
    send_timeout: float = 20.0
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_from: str = ""
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password: str = ""         # a secret: empty unless the server needs a login
    email_brand: str = "Customer care"   # the small header of an e-mail's HTML part
    site_url: str = ""              # this site's address: only links to it are clickable in e-mails
    sms_url: str = ""
    sms_method: str = "POST"        # POST | PUT (template as the body) | GET (as the query)
    sms_body_format: str = "json"   # json | form
    sms_template: str = '{"to": "{to}", "text": "{text}"}'
    sms_auth_header: str = "Authorization"
    sms_auth_value: str = ""        # a secret: empty sends no auth header
    customer_sms: bool = True       # the customer gets their ticket number by SMS
    staff_sms: bool = False         # owners also get an SMS at their users.mobile
    # No SMS to a customer from quiet_from to quiet_until ([web] timezone): it
    # waits for quiet_until. TRAI's calling window is 09:00-21:00. Equal: none.
    quiet_from: str = "21:00"
    quiet_until: str = "09:00"
    brand: str = "Customer Care"    # {brand}: who signs the customer's messages
    # Appointment reminders ([web] timezone): the day before the visit at
    # reminder_hour (HH:MM), and reminder_hours_before hours before it.
    reminder_hour: str = "18:00"
    reminder_hours_before: float = 3.0
    # Birthday and anniversary wishes (promotional, off until switched on): sent
    # on the day from greeting_hour (HH:MM) until the quiet hours begin.
    greeting_hour: str = "10:00"


def check_reminders(n, _settings=None) -> None:
    """Raise ValueError naming a wrong reminder key of [notifications]."""
    try:
        clock_time(n.reminder_hour)
    except ValueError as exc:
        raise ValueError(f"[notifications] reminder_hour: {exc}") from None
    try:
        clock_time(n.greeting_hour)
    except ValueError as exc:
        raise ValueError(f"[notifications] greeting_hour: {exc}") from None
    if not 0 < float(n.reminder_hours_before) < 24:
        raise ValueError("[notifications] reminder_hours_before must be more than 0 and less than 24 hours")
