"""Alembic environment: runs over the connection :mod:`bridge.store.migrate` hands in."""

from alembic import context

from bridge.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through bridge.store.migrate (`xmpp-bridge db upgrade`), "
        "not the alembic command line"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
