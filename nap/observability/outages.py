"""A database that cannot be reached is an outage, not a bug: every endpoint answers 503
with a clear JSON body (an OCPI envelope on OCPI paths) and Retry-After. The connection
pool pings connections before use, so the API recovers by itself once the database is
back, without a restart."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
MESSAGE = "the database is unavailable; please retry shortly"


def is_database_outage(error: BaseException) -> bool:
    if isinstance(error, (OperationalError, PoolTimeout)):
        return True
    return isinstance(error, DBAPIError) and bool(getattr(error, "connection_invalidated", False))


def outage_response(error: BaseException):
    """The 503 answer for a database outage. Blueprint-level crash handlers outrank app
    handlers in Flask, so they call this for outages too."""
    log.error("database unavailable on %s: %s", request.path,
              (str(getattr(error, "orig", None) or error).splitlines() or [""])[0])
    if request.path.startswith("/ocpi/"):
        from nap.ocpi.envelope import ocpi_error

        response = ocpi_error(3000, MESSAGE, 503)
    else:
        response = jsonify(error=MESSAGE, status=503)
        response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def register_outage_handler(app: Flask) -> None:
    def database_unavailable(error):
        if not is_database_outage(error):
            raise error  # a real bug: let the normal crash handling report it
        return outage_response(error)

    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PoolTimeout, database_unavailable)
    app.register_error_handler(DBAPIError, database_unavailable)
