"""Applies the read model's Alembic migrations, configured in code (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url

from store.files import private_sqlite_database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    private_sqlite_database(url)
    command.upgrade(alembic_config(url), "head")


def at_head(url: str) -> bool:
    """Whether the schema is at the latest revision, read only (the application's role may:
    it can read alembic_version, not change it). False for a database not migrated yet."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    given = make_url(url)
    if given.get_backend_name() == "sqlite" and not Path(given.database or "").is_file():
        return False  # connecting would create the file
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    return current == heads
