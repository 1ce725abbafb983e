"""The ORM models describe the schema the migrations build, column for column.

Alembic's autogenerate comparison between a freshly migrated database and the models'
metadata must find nothing: a model without its migration (or a migration the models do not
follow) fails here, on every PostgreSQL the suite runs against.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, Table
from sqlalchemy.ext.asyncio import create_async_engine

from server.db.access import models as _access  # noqa: F401  (each registers its tables)
from server.db.appeals import models as _appeals  # noqa: F401
from server.db.audit import models as _audit  # noqa: F401
from server.db.certificates import models as _certificates  # noqa: F401  (each registers
from server.db.engagement import models as _engagement  # noqa: F401
from server.db.imports import models as _imports  # noqa: F401
from server.db.ledger import models as _ledger  # noqa: F401  its tables on Base)
from server.db.marketing import models as _marketing  # noqa: F401
from server.db.models import Base
from server.db.onec import models as _onec  # noqa: F401
from server.db.orders import models as _orders  # noqa: F401
from server.db.outbox import models as _outbox  # noqa: F401
from server.db.payments import models as _payments  # noqa: F401
from server.db.pricing import models as _pricing  # noqa: F401
from server.db.roles import models as _roles  # noqa: F401
from server.db.shopping import models as _shopping  # noqa: F401
from server.db.social import models as _social  # noqa: F401
from server.db.surveys import models as _surveys  # noqa: F401
from server.db.verification import models as _verification  # noqa: F401

# Expression indexes live in migrations only: alembic reflects their text differently from
# any model spelling, so each one is named here (and nothing else is skipped).
EXPRESSION_INDEXES = frozenset({"ix_members_name_lower"})  # migration 0036


def _compared(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
    return not (type_ == "index" and name in EXPRESSION_INDEXES)


async def _differences(database_url: str, metadata: MetaData) -> list[Any]:
    engine = create_async_engine(database_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(
                    sync, opts={"include_object": _compared}), metadata))
    finally:
        await engine.dispose()


async def test_the_models_match_the_migrated_schema(database_url):
    assert len(Base.metadata.tables) > 20  # every model module is loaded
    assert await _differences(database_url, Base.metadata) == []


async def test_a_model_without_its_migration_is_caught(database_url):
    planted = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(planted)
    Table("not_migrated", planted, Column("id", Integer, primary_key=True))
    found = await _differences(database_url, planted)
    assert [d[0] for d in found] == ["add_table"] and found[0][1].name == "not_migrated"
