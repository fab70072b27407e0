"""A looked-up key is trusted for key_cache_seconds, then looked up again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from trueclout.service.db import migrate
from trueclout.service.db.engine import Database
from trueclout.service.db.keys import create_key, list_keys, revoke_key
from trueclout.service.runtime.auth import KeyAuthenticator
from trueclout.settings import Settings


def test_a_revoked_key_stops_working_when_its_cache_entry_expires(tmp_path: Path) -> None:
    database = Database.from_settings(Settings(data_dir=tmp_path))
    migrate.upgrade(database.engine)
    row, secret = database.call(create_key, scopes=["platform"], name="cached")
    now = [0.0]
    auth = KeyAuthenticator(database, cache_seconds=5.0, touch_seconds=60.0,
                            clock=lambda: now[0])

    async def scenario() -> list[bool]:
        seen = [await auth.lookup(secret) is not None]
        database.call(revoke_key, key_id=row.id)
        now[0] = 4.9
        seen.append(await auth.lookup(secret) is not None)
        now[0] = 5.1
        seen.append(await auth.lookup(secret) is not None)
        for _ in range(500):  # the "last used" time is written in the background
            if database.call(list_keys)[0].last_used_at is not None:
                break
            await asyncio.sleep(0.01)
        return seen

    assert asyncio.run(scenario()) == [True, True, False]
    assert database.call(list_keys)[0].last_used_at is not None
    database.dispose()


def test_an_unknown_secret_is_looked_up_once_then_remembered(tmp_path: Path) -> None:
    database = Database.from_settings(Settings(data_dir=tmp_path))
    migrate.upgrade(database.engine)
    looked_up = []
    real_run = database.run

    async def counting_run(fn, /, **kwargs):  # type: ignore[no-untyped-def]
        looked_up.append(fn.__name__)
        return await real_run(fn, **kwargs)

    database.run = counting_run  # type: ignore[method-assign]
    now = [0.0]
    auth = KeyAuthenticator(database, cache_seconds=0.0, unknown_seconds=60.0, max_unknown=2,
                            clock=lambda: now[0])

    async def scenario() -> None:
        for _ in range(5):
            assert await auth.lookup("tc_guessed") is None
        assert looked_up == ["find_active_key"]
        await auth.lookup("tc_second")
        await auth.lookup("tc_third")  # the oldest unknown secret is forgotten at the bound
        assert await auth.lookup("tc_guessed") is None
        now[0] = 61.0  # and each is looked up again once its time is up
        assert await auth.lookup("tc_third") is None

    asyncio.run(scenario())
    assert looked_up == ["find_active_key"] * 5
    database.dispose()
