"""API keys: created, looked up and revoked. Only a key's sha256 is ever stored.

A key is ``tc_`` followed by 43 URL-safe characters (256 random bits), so a
plain sha256 is a safe, fast digest: there is nothing to brute-force.  The
first characters are kept as ``key_prefix`` so people can tell keys apart in
``trueclout keys list`` without the secret.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trueclout.errors import UserError
from trueclout.files import utc_now
from trueclout.service.db.models import ApiKey

Scope = Literal["platform", "analyst", "recruiter"]
SCOPES: tuple[Scope, ...] = ("platform", "analyst", "recruiter")
KEY_MARK = "tc_"
PREFIX_CHARS = 11  # "tc_" and 8 characters of the random part


@dataclass(frozen=True)
class KeyInfo:
    """What a request needs to know about the key it came with (never the secret)."""

    id: int
    name: str
    scopes: frozenset[str]
    rate_per_second: float | None


def generate_secret() -> str:
    return KEY_MARK + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _checked_scopes(scopes: Iterable[str]) -> str:
    chosen = sorted(set(scopes))
    if not chosen:
        raise UserError("a key needs at least one scope: " + ", ".join(SCOPES))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise UserError(f"unknown scope {unknown[0]!r}: choose from " + ", ".join(SCOPES))
    return " ".join(chosen)


def create_key(
    *,
    session: Session,
    scopes: Iterable[str],
    name: str,
    rate_per_second: float | None = None,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key row and its secret; the secret exists only in the return value."""
    if rate_per_second is not None and not rate_per_second > 0:
        raise UserError("--rate must be a positive number of requests per second")
    secret = generate_secret()
    row = ApiKey(
        name=name[:200],
        key_prefix=secret[:PREFIX_CHARS],
        key_hash=hash_secret(secret),
        scopes=_checked_scopes(scopes),
        rate_per_second=rate_per_second,
        created_at=now or utc_now(),
    )
    session.add(row)
    session.flush()
    return row, secret


def list_keys(*, session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(*, session: Session, key_id: int, now: datetime | None = None) -> ApiKey:
    """Revoke one key (idempotent); an unknown id is the user's error."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise UserError(f"no API key with id {key_id} (see `trueclout keys list`)")
    if row.revoked_at is None:
        row.revoked_at = now or utc_now()
    return row


def revoke_keys_named(*, session: Session, name: str, now: datetime | None = None) -> int:
    """Revoke every active key called ``name``; local mode retires its previous keys this way."""
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now or utc_now())
    )
    return result.rowcount or 0


def find_active_key(*, session: Session, secret: str) -> KeyInfo | None:
    """The active key with this secret, or None (unknown, malformed or revoked)."""
    if not secret.startswith(KEY_MARK) or len(secret) > 200:
        return None
    row = session.scalars(
        select(ApiKey).where(ApiKey.key_hash == hash_secret(secret), ApiKey.revoked_at.is_(None))
    ).one_or_none()
    if row is None:
        return None
    return KeyInfo(id=row.id, name=row.name, scopes=row.scope_set,
                   rate_per_second=row.rate_per_second)


def touch_key(*, session: Session, key_id: int, now: datetime | None = None) -> None:
    session.execute(
        update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now or utc_now())
    )
