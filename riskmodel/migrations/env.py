"""Alembic environment: migrates the database of :class:`riskmodel.store.Store` (or the ``-x url=...`` one).

:meth:`riskmodel.store.Store.upgrade` passes its own connection, already in a transaction and holding the
migration lock, in ``config.attributes["connection"]``; the ``alembic`` command line opens :func:`default_url`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from riskmodel.store import METADATA, default_url

try:
    config = context.config
except (AttributeError, NameError):  # imported outside Alembic (e.g. by pytest --doctest-modules): nothing to run
    config = None


def _url() -> str:
    return context.get_x_argument(as_dictionary=True).get("url") or default_url()


def _configure(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=METADATA, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")


def run_offline() -> None:
    """``alembic upgrade --sql``: print the SQL instead of running it."""
    context.configure(url=_url(), target_metadata=METADATA, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from riskmodel.store import Store

    store = Store(_url(), migrate=False)
    try:
        with store.begin(write=True) as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        store.close()


if config is not None:
    if context.is_offline_mode():
        run_offline()
    else:
        run_online()
