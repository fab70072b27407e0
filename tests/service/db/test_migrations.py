"""Alembic: from empty to head on both databases, and the ORM matches the revisions."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from trueclout.service.db import migrate
from trueclout.service.db.engine import Database
from trueclout.service.db.models import Base


def test_upgrade_from_empty_reaches_head_with_every_table(empty_database: Database) -> None:
    engine = empty_database.engine
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert {"api_keys", "assessments"} <= set(inspect(engine).get_table_names())
    migrate.upgrade(engine)  # a second run has nothing to do
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_the_orm_models_match_the_migrations(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_empty_and_back(database: Database) -> None:
    migrate.downgrade(database.engine, "base")
    assert not {"api_keys", "assessments"} & set(inspect(database.engine).get_table_names())
    migrate.upgrade(database.engine)
    assert migrate.current_revision(database.engine) == migrate.head_revision()
