"""The declarative base every table shares, and the clock rows are stamped with.

Kept apart from callcenter/models.py so a feature's tables (campaigns, work,
queues...) can be imported first without a circular import: models.py imports
them all at its end to register them for Alembic."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import DeclarativeBase


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    pass
