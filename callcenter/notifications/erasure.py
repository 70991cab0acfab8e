"""The outbox's part of erasing a customer (callcenter/customers/erasure.py):
messages to the customer's numbers lose their text and the number is masked
to its last four digits; one not sent yet is never sent (marked failed)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.notifications.models import Notification


async def erase_notifications(session: AsyncSession, customer_id: int, numbers: list[str]) -> dict[str, int]:
    if not numbers:
        return {"notifications_cleared": 0}
    messages = (await session.scalars(select(Notification).where(Notification.recipient.in_(numbers)))).all()
    for message in messages:
        message.recipient = "xxxxxx" + message.recipient[-4:]
        message.subject, message.body = "", ""
        if message.status == "pending":
            message.status = "failed"
    return {"notifications_cleared": len(messages)}
