"""What feature commands share: run async work against the migrated database."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from server.settings import Settings

if TYPE_CHECKING:
    from server.db.database import Database
    from server.security.sealing import Sealer

T = TypeVar("T")

#: Namespace of derived request ids and of the CLI's idempotency principal (fixed: re-runs of
#: a command must find their earlier answers, e.g. a certificate scanned again).
NAMESPACE = uuid.UUID("6f1d0c3e-52a4-4c4b-9b57-2f9b1f0c5a11")


def cli_principal_id(label: str) -> uuid.UUID:
    """The idempotency principal of a CLI user: stable, apart from every API key's id."""
    return uuid.uuid5(NAMESPACE, f"cli-principal:{label}")


def new_request_id() -> str:
    """The request id of one invocation of a command that changes something (the same
    run_once path as the RPC: claim, change, audit row and answer in one transaction)."""
    return str(uuid.uuid4())


async def answers_sealer(db: Database) -> Sealer:
    """The sealer of stored answers holding a secret, as the server derives it."""
    from server.api.deps import IDEMPOTENCY_PURPOSE
    from server.db.secrets_repo import signing_secret
    from server.security.signing import Signer

    async with db.transaction() as session:
        secret = await signing_secret(session)
    return Signer(secret).sealer(IDEMPOTENCY_PURPOSE)


def with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate (starting the embedded PostgreSQL when no URL is set), run `work(db)`, close."""
    from server.cli import _run
    from server.db.database import Database
    from server.runtime import prepare_database

    async def run() -> T:
        db = Database(await prepare_database(settings), pool_size=1)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return _run(run())
