"""API keys in the database: only a hash is stored; scopes, revocation, look-up."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from trueclout.errors import UserError
from trueclout.service.db.engine import Database
from trueclout.service.db.keys import (
    create_key,
    find_active_key,
    hash_secret,
    list_keys,
    revoke_key,
)


def test_a_key_is_stored_only_as_its_hash(database: Database) -> None:
    row, secret = database.call(create_key, scopes=["platform", "analyst"], name="ci",
                                rate_per_second=3.5)
    assert re.fullmatch(r"tc_[A-Za-z0-9_-]{43}", secret)
    with database.engine.connect() as conn:
        stored = conn.execute(text("SELECT * FROM api_keys")).mappings().one()
    assert secret not in " ".join(str(v) for v in stored.values())
    assert stored["key_hash"] == hash_secret(secret)
    assert secret.startswith(stored["key_prefix"]) and len(stored["key_prefix"]) == 11
    info = database.call(find_active_key, secret=secret)
    assert info is not None
    assert (info.id, info.scopes, info.rate_per_second) == (row.id, {"analyst", "platform"},
                                                            3.5)


def test_revoked_and_unknown_keys_are_not_found(database: Database) -> None:
    row, secret = database.call(create_key, scopes=["recruiter"], name="r")
    database.call(revoke_key, key_id=row.id)
    database.call(revoke_key, key_id=row.id)  # idempotent
    assert database.call(find_active_key, secret=secret) is None
    assert database.call(find_active_key, secret="tc_" + "x" * 43) is None
    assert database.call(find_active_key, secret="not-even-our-format") is None
    (listed,) = database.call(list_keys)
    assert listed.revoked_at is not None and listed.revoked_at.tzinfo is not None


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"scopes": ["admin"]}, "unknown scope 'admin'"),
    ({"scopes": []}, "at least one scope"),
    ({"scopes": ["platform"], "rate_per_second": 0}, "--rate must be a positive"),
])
def test_bad_key_requests_are_user_errors(database: Database, kwargs: dict,
                                          message: str) -> None:
    with pytest.raises(UserError, match=message):
        database.call(create_key, name="x", **kwargs)
    assert database.call(list_keys) == []


def test_revoking_an_unknown_id_is_a_user_error(database: Database) -> None:
    with pytest.raises(UserError, match="no API key with id 99"):
        database.call(revoke_key, key_id=99)
