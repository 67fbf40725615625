from felles.core.migrations import differences
from felles.tables import metadata


async def test_the_models_and_the_migrations_agree(database_url):
    """A model changed without a migration fails here (`alembic check`)."""
    assert await differences(database_url, metadata) == []
