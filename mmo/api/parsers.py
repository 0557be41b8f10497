"""
The JSON parser of every API endpoint: a body no sane client sends is a 400
(413 when too large) naming the problem, never a 500.

DRF's parser let through what Python's json module does: NaN and Infinity,
numbers of any length (a 100,000-digit integer fails deep inside int()),
and nesting until the decoder's recursion blows up (a RecursionError: 500).
A body over DATA_UPLOAD_MAX_MEMORY_SIZE fails in Django's `request.body`,
which DRF reads for JSON; mmo.api.errors makes that a 413 (this parser checks
the size again for a stream that did not come through it).
"""

import codecs
import json
import math

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

# No request of the API nests deeper than a GeoJSON polygon with holes (5).
MAX_DEPTH = 20
# Longer than any coordinate, count or id a client has reason to send.
MAX_NUMBER_LENGTH = 100


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "body_too_large"


class Refused(ValueError):
    """JSON that is well formed, or nearly, and still not accepted."""


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:
        raise Refused(f"a number has more than {MAX_NUMBER_LENGTH} digits")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_LENGTH:
        raise Refused(f"a number has more than {MAX_NUMBER_LENGTH} digits")
    value = float(text)
    if not math.isfinite(value):
        raise Refused(f"the number {text} is out of range")
    return value


def _constant(name: str):
    raise Refused(f"{name} is not a number JSON allows")


def depth(value) -> int:
    """How deeply arrays and objects nest in `value` (a scalar: 0), without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        pending.extend((child, level + 1) for child in children)
    return deepest


def loads(text: str):
    """The value of a client's JSON text, or Refused saying what is wrong with it."""
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except RecursionError as error:
        raise Refused(f"it nests more than {MAX_DEPTH} levels deep") from error
    except Refused:
        raise
    except ValueError as error:  # json.JSONDecodeError
        raise Refused(f"it is not valid JSON: {error}") from error
    if depth(value) > MAX_DEPTH:
        raise Refused(f"it nests more than {MAX_DEPTH} levels deep")
    return value


class StrictJSONParser(JSONParser):
    """DRF's JSONParser with limits on size, nesting and numbers."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(body, encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise exceptions.ParseError(f"The request body is not {encoding} text.") from error
        try:
            return loads(text)
        except Refused as error:
            raise exceptions.ParseError(f"The request body cannot be read: {error}.") from error
