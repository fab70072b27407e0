"""``Idempotency-Key`` on the storing ``POST`` routes: a retry returns the first answer.

    POST /v1/score            Idempotency-Key: 7f3c...   -> 200, stored
    POST /v1/score (again)    Idempotency-Key: 7f3c...   -> the same 200, same assessment_id,
                                                            nothing new stored

The answer is recorded in the transaction that stores the work (see
``db/idempotency.py``), so what was stored and what a retry gets back never
disagree, and two concurrent duplicates cannot both store.  The same key with
a different body is a 422.  Dry runs (``store=false``) store nothing and are
not recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trueclout.files import utc_now
from trueclout.service.db.engine import Database, StorageError
from trueclout.service.db.idempotency import (
    MAX_KEY_LENGTH,
    IdempotencyClaim,
    IdempotencyMismatch,
    RecordedAnswer,
    find_answer,
    record_answer,
)
from trueclout.service.db.keys import KeyInfo
from trueclout.service.runtime.errors import ApiError

REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKeyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=MAX_KEY_LENGTH,
    pattern=r"^[\x21-\x7e]+$",
    description="Any unique token (a UUID) per logical request: a retry with the same key "
                "and body within 24 hours returns the first answer and stores nothing new.")]


def _replay(answer: RecordedAnswer) -> Response:
    headers = {REPLAYED_HEADER: "true"}
    if answer.location:
        headers["Location"] = answer.location
    return Response(answer.body, status_code=answer.status_code, media_type="application/json",
                    headers=headers)


@dataclass(frozen=True)
class Idempotency:
    """One request's idempotency key, bound to its API key, route and body."""

    database: Database
    claim: IdempotencyClaim

    async def replay(self) -> Response | None:
        """The first answer to this key, if there is one; 422 if it came with another body."""
        try:
            found = await self.database.run(find_answer, claim=self.claim, now=utc_now())
        except IdempotencyMismatch:
            raise ApiError(422, "this Idempotency-Key was used with a different request body; "
                           "use a new key for a new request", code="idempotency_key_reused",
                           details=[{"field": "header.idempotency-key",
                                     "reason": "was used before with a different body",
                                     "type": "idempotency_key_reused"}]) from None
        return None if found is None else _replay(found)

    def recorder(self, answer: RecordedAnswer, accounts: Iterable[tuple[str, str]]
                 ) -> Callable[[Session], None]:
        """What records ``answer``, to run in the transaction that stores the work."""
        about = list(accounts)
        return lambda session: record_answer(session=session, claim=self.claim, answer=answer,
                                             accounts=about, now=utc_now())

    async def winner(self, error: StorageError) -> Response:
        """After a store failed: the answer of a concurrent duplicate that stored first, or
        the failure itself when that is not what happened."""
        if isinstance(error.__cause__, IntegrityError):
            found = await self.replay()
            if found is not None:
                return found
        raise error


async def idempotency_of(request: Request, key: KeyInfo, header: str | None, route: str,
                         *, store: bool = True) -> Idempotency | None:
    """The request's idempotency, or None without the header (or for a dry run)."""
    if header is None or not store:
        return None
    body = await request.body()
    claim = IdempotencyClaim(api_key_id=key.id, key=header, route=route,
                             body_sha256=hashlib.sha256(body).hexdigest())
    return Idempotency(request.app.state.database, claim)


async def first_answer(idempotency: Idempotency | None, error: StorageError) -> Response:
    """After storing failed with ``error``: the answer of a concurrent duplicate that stored
    first (the failure was its unique key), else ``error`` raised again."""
    if idempotency is None:
        raise error
    return await idempotency.winner(error)
