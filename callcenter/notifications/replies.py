"""Replies to our SMS, as the gateway forwards them (POST /api/v1/sms/replies,
notifications/http.py): a text whose first word is STOP, UNSUBSCRIBE or
"STOP ALL" (any case; Hindi "बंद") opts the customer with that mobile out of
promotional messages; START opts them back in. Anything else, and a number
that is no customer's, is noted in the log and otherwise ignored (the gateway
is answered 200 either way, so it does not send it again)."""
from __future__ import annotations

import logging
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.calls.numbers import InvalidNumber, normalise
from callcenter.customers.messages_opt_out import set_messages_opt_out
from callcenter.customers.models import Customer
from callcenter.notifications.exceptions import InvalidNotification

log = logging.getLogger(__name__)

STOP_WORDS = ("stop", "unsubscribe", "बंद")   # "STOP ALL" starts with STOP
START_WORDS = ("start",)
TEXT_MAX = 1600
_FIRST_WORD = re.compile(r"[^\s.,;:!?'\"()\[\]]+")


def keyword(text: str) -> str | None:
    """"stop", "start" or None for a reply's text (its first word decides)."""
    match = _FIRST_WORD.search(text or "")
    if match is None:
        return None
    word = match.group(0).casefold()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


def sender_number(raw: str, region: str) -> str | None:
    """The reply's sender as E.164; a gateway may drop the '+' (919812345678)."""
    try:
        return normalise(raw, region)
    except InvalidNumber:
        return None


async def handle_reply(session: AsyncSession, sender: str, text: str, *, actor: str, region: str) -> dict:
    """Apply one reply (the caller commits): {"action": "opted_out" |
    "opted_in" | "unchanged" | "ignored"} (nothing is said about whether the
    number is a customer's)."""
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)  # some gateways send the number as a JSON number (919812345678)
    if not isinstance(sender, str) or not isinstance(text, str) or not sender.strip():
        raise InvalidNotification("send {\"from\": \"+91...\", \"text\": \"STOP\"}", field="from")
    if len(text) > TEXT_MAX or len(sender) > 40:
        raise InvalidNotification("the reply is too long", field="text")
    word = keyword(text)
    number = sender_number(sender, region)
    if word is None or number is None:
        return {"action": "ignored"}
    customer = await session.scalar(select(Customer).where(Customer.mobile == number,
                                                           Customer.erased_at.is_(None)))
    if customer is None:
        log.info("an SMS reply %s from a number that is no customer's: nothing recorded", word.upper())
        return {"action": "ignored"}
    changed = set_messages_opt_out(session, customer, word == "stop", source="stop", actor=actor)
    if not changed:
        return {"action": "unchanged"}
    return {"action": "opted_out" if word == "stop" else "opted_in"}
