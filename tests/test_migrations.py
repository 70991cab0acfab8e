"""The migrations build exactly the tables every feature declares: a table or
column added to a model without its Alembic revision would be missing on a
production database that is migrated, not created."""
from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from callcenter import features
from callcenter.models import Base


def _test_tables() -> set[str]:
    """Tables of the tests' own example feature (tests/example_feature): in the
    metadata once its module is imported, never in a migration."""
    return {mapper.local_table.name for mapper in Base.registry.mappers
            if mapper.class_.__module__.startswith("tests.")}


async def test_the_migrated_schema_matches_the_models(sessions):
    features.load()
    skipped = _test_tables()
    engine = sessions.kw["bind"]

    def differences(connection):
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "render_as_batch": True,
            "include_object": lambda obj, name, kind, *_: not (kind == "table" and name in skipped)})
        with warnings.catch_warnings():  # SQLite's expression index (last 4 digits) is not reflected
            warnings.filterwarnings("ignore", ".*expression-based index")
            return compare_metadata(context, Base.metadata)
    async with engine.connect() as connection:
        diff = await connection.run_sync(differences)
    assert diff == [], diff
