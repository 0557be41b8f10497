"""Every error a client causes becomes a 4xx with a message naming the problem."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # Domain rules (mmo.geo, model validation) speak Django; clients get DRF's 400.
        if hasattr(exc, "error_dict"):
            exc = exceptions.ValidationError(exc.message_dict)
        else:
            exc = exceptions.ValidationError({"detail": exc.messages})
    return drf_exception_handler(exc, context)


class CredentialsRefused(exceptions.APIException):
    """401 from an endpoint that takes credentials in its body (login, refresh)."""

    status_code = 401
    default_detail = "The credentials were refused."
    default_code = "credentials_refused"
