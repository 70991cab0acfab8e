"""The declarative base every table shares, and the clock rows are stamped with.

Kept apart from callcenter/models.py so a feature's tables (campaigns, work,
queues...) can be imported first without a circular import: models.py imports
them all at its end to register them for Alembic."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.functions import FunctionElement


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    pass


class last_four(FunctionElement):
    """The last four characters of a text column, as each database indexes it:
    SQLite ``substr(x, -4)`` (a literal -4: SQLite matches an expression index
    only so), PostgreSQL ``right(x, 4)`` (its ``substr`` has no negative start)."""
    type = String()
    inherit_cache = True


@compiles(last_four)
def _last_four_sqlite(element, compiler, **kw):
    return f"substr({compiler.process(element.clauses, **kw)}, -4)"


@compiles(last_four, "postgresql")
def _last_four_postgresql(element, compiler, **kw):
    return f"right({compiler.process(element.clauses, **kw)}, 4)"
