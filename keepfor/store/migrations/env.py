"""Alembic environment of keepfor's store, driven by :mod:`keepfor.store.db`.

keepfor configures Alembic in code (no alembic.ini): :func:`keepfor.store.db.upgrade`
passes an open connection in ``config.attributes["connection"]``. For a developer
writing a new revision, ``sqlalchemy.url`` may be set instead::

    alembic -x url=sqlite:///dev.db ...   # or config.set_main_option("sqlalchemy.url", ...)

The version table is ``keepfor_alembic_version``.
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import keepfor.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from keepfor.store.db import VERSION_TABLE, create_store_engine

config = context.config
target_metadata = SQLModel.metadata


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table":
        return bool(name) and name.startswith("keepfor_") and name != VERSION_TABLE
    return True


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("set the database: alembic -x url=URL ...")
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("keepfor's migrations run online only")
run_migrations_online()
