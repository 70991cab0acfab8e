"""The customer 360's "Messages" card (an htmx fragment, /customers/{id}/messages):
every message to the customer with a re-send form each (history.py's rules)."""
from __future__ import annotations

from aiohttp import web

from callcenter.customers.http import customer_id_of
from callcenter.errors import DomainError
from callcenter.notifications.http import customer_messages, notification_id_of, resend
from web.auth import at_least
from web.render import flash, render

CHANNEL_NAMES = {"sms": "SMS", "email": "e-mail", "log": "note"}


async def messages_card(request: web.Request) -> web.Response:
    messages, more = await customer_messages(request)
    return render(request, "notifications/_customer_messages.html",
                  {"messages": messages, "more": more, "customer_id": customer_id_of(request),
                   "channel_names": CHANNEL_NAMES})


async def resend_form(request: web.Request) -> web.Response:
    customer_id = customer_id_of(request)
    try:
        again = await resend(request, notification_id_of(request, "nid"))
        message = f"The {CHANNEL_NAMES.get(again['channel'], again['channel'])} is being sent again."
    except DomainError as error:
        if error.status == 404:
            raise
        message = f"Not sent again: {error.message}."
    response = web.Response(status=303, headers={"Location": f"/customers/{customer_id}#messages"})
    flash(response, message)
    return response


ROUTES = [
    ("GET", "/customers/{id}/messages", messages_card, at_least("agent"),
     "Fragment of the customer 360 page: the customer's messages with a re-send button each"),
    ("POST", "/customers/{id}/messages/{nid}/resend", resend_form, at_least("agent"),
     "Send a customer's message again (form): back to the 360's Messages card"),
]
