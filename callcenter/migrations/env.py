"""Alembic environment: runs on the connection handed over by callcenter.db.migrate,
or (for `alembic revision --autogenerate` by a developer) on sqlalchemy.url."""
from alembic import context
from sqlalchemy import create_engine

from callcenter import features
from callcenter.models import Base

config = context.config
target_metadata = Base.metadata


def run_with(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    features.load()  # every feature's tables in the metadata autogenerate compares
    url = config.get_main_option("sqlalchemy.url").replace("+aiosqlite", "")
    with create_engine(url).connect() as conn:
        run_with(conn)
