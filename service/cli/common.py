"""What the service commands share: the database of the current settings, and dates as typed.

Every command reads the same settings (``TRUECLOUT_DATA_DIR``,
``TRUECLOUT_DATABASE_URL``, ...) and brings the database to the newest
revision before using it, as ``trueclout serve`` does.  Heavy imports stay
inside the functions, so ``trueclout --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    """A data function in one transaction; its refusals become one user-facing message."""
    database = open_database()
    try:
        with service_errors():
            return database.call(fn, **kwargs)
    finally:
        database.dispose()


@contextmanager
def service_errors() -> Iterator[None]:
    """The service's own refusals (as the API would answer them) as one CLI error line.

    The commands reuse the service's functions, which refuse with ``ApiError``
    (a status, a message, the fields at fault) or a storage failure.
    """
    from trueclout.errors import UserError
    from trueclout.service.db.engine import StorageError
    from trueclout.service.runtime.errors import ApiError

    try:
        yield
    except StorageError as exc:
        raise UserError(f"the database refused the operation ({exc})") from exc
    except ApiError as exc:
        fields = "; ".join(f"{d['field']}: {d['reason']}" for d in exc.details
                           if d.get("field") and d.get("reason"))
        raise UserError(exc.message + (f" ({fields})" if fields else "")) from None
