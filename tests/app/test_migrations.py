"""The schema comes only from migrations: up from empty, down to empty, and no drift."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import app.models  # noqa: F401
from app import migrate
from app.db import make_engine, metadata
from tests.conftest import BACKENDS, Databases


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_empty_and_downgrade_to_empty(databases: Databases, backend: str) -> None:
    url = databases.new(backend)
    engine = make_engine(url)
    try:
        assert inspect(engine).get_table_names() == []
        migrate.upgrade(url)
        tables = set(inspect(engine).get_table_names())
        assert set(metadata.tables) <= tables
        # Nothing the models declare is missing from (or different in) the migrated schema.
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
        migrate.downgrade(url)
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        # And up again: downgrade left nothing behind that blocks a second upgrade.
        migrate.upgrade(url)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
