"""
Every error a client causes becomes a 4xx with a message naming the problem;
a database out of reach for a moment becomes a 503 the client may retry.
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from mmo.api.parsers import BodyTooLarge

logger = logging.getLogger(__name__)


class DatabaseUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "The database cannot be reached right now; try again in a few seconds."
    default_code = "database_unavailable"
    wait = 5  # seconds, sent as Retry-After


def exception_handler(exc, context):
    if isinstance(exc, (OperationalError, InterfaceError)):
        # A lost or refused connection, a restart or failover under way: the
        # request did not happen (its transaction rolled back) and may be retried.
        logger.warning("database unavailable: %s", exc)
        exc = DatabaseUnavailable()
    if isinstance(exc, RequestDataTooBig):
        # DRF reads a JSON body through request.body, where Django checks its size.
        exc = BodyTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
        )
    if isinstance(exc, DjangoValidationError):
        # Domain rules (mmo.geo, model validation) speak Django; clients get DRF's 400.
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"detail": exc.messages})
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        # A machine-readable reason next to the human one: "not_owner", "throttled", …
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        if isinstance(codes, str):
            response.data["code"] = codes
        # Extra fields a refusal carries for the client (a placement's nearest spot).
        if getattr(exc, "nearest_spot", None) is not None:
            response.data["nearestSpot"] = exc.nearest_spot
    return response


class CredentialsRefused(exceptions.APIException):
    """401 from an endpoint that takes credentials in its body (login, refresh)."""

    status_code = 401
    default_detail = "The credentials were refused."
    default_code = "credentials_refused"
