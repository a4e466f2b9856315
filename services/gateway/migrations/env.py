"""Alembic environment: runs the gateway's migrations on the connection ``db.run_migrations`` passes in."""

from alembic import context

from arenahub.gateway.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
