"""What the service commands share: the database of the current settings, and dates as typed.

Every command reads the same settings (``TRUECLOUT_DATA_DIR``,
``TRUECLOUT_DATABASE_URL``, ...) and brings the database to the newest
revision before using it, as ``trueclout serve`` does.  Heavy imports stay
inside the functions, so ``trueclout --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from trueclout.service.db.engine import Database

T = TypeVar("T")

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]


def utc(value: datetime | None) -> datetime | None:
    """A date or time as typed: without a zone it is UTC."""
    from trueclout.service.db.models import as_utc

    return as_utc(value)


def open_database() -> Database:
    """The database of the current settings, upgraded; the caller disposes of it."""
    from trueclout.service.runtime.server import prepare_database
    from trueclout.settings import get_settings

    return prepare_database(get_settings())


def call(fn: Callable[..., T], **kwargs: Any) -> T:
    """A data function in one transaction; database failures become one user-facing message."""
    from trueclout.errors import UserError
    from trueclout.service.db.engine import StorageError

    database = open_database()
    try:
        return database.call(fn, **kwargs)
    except StorageError as exc:
        raise UserError(f"the database refused the operation ({exc})") from exc
    finally:
        database.dispose()
