"""
The WebSocket protocol's frames: `{"type": …, "data": {…}}` JSON text.
Parsing refuses anything malformed with a ProtocolError naming the problem;
the connection turns it into an `error` frame. docs/protocol.md describes it all.
"""

import json
import math
import time
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError

from mmo.geo import validate_lng_lat


class ProtocolError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def frame(message_type: str, data: dict | None = None) -> str:
    return json.dumps({"type": message_type, "data": data or {}}, separators=(",", ":"))


def error_frame(code: str, message: str) -> str:
    return frame("error", {"code": code, "message": message})


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def parse_frame(text: str) -> tuple[str, dict]:
    """The type and data of a client frame."""
    if len(text.encode()) > settings.WEBSOCKET_MAX_FRAME_BYTES:
        raise ProtocolError(
            "frame_too_large", f"Frames are limited to {settings.WEBSOCKET_MAX_FRAME_BYTES} bytes."
        )
    try:
        message = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise ProtocolError("invalid_json", f"The frame is not valid JSON: {error}.") from error
    if not isinstance(message, dict):
        raise ProtocolError("invalid_frame", "A frame is a JSON object with type and data.")
    message_type, data = message.get("type"), message.get("data", {})
    if not isinstance(message_type, str) or not message_type:
        raise ProtocolError("invalid_frame", "The frame needs a string `type`.")
    if not isinstance(data, dict):
        raise ProtocolError("invalid_frame", "`data` must be an object.")
    return message_type, data


# Field readers: each names the field it refuses.


def boolean(data: dict, key: str, *, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ProtocolError("invalid_data", f"`{key}` must be true or false.")
    return value


def integer(data: dict, key: str, *, default: int | None) -> int | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError("invalid_data", f"`{key}` must be an integer.")
    return value


def number(data: dict, key: str, *, required: bool = True) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProtocolError("invalid_data", f"`{key}` is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError("invalid_data", f"`{key}` must be a number.")
    try:
        # JSON integers have no size limit; past a float's range they overflow.
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ProtocolError("invalid_data", f"`{key}` must be a finite number.")
    return value


def text(data: dict, key: str, *, required: bool = True, max_length: int = 200) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise ProtocolError("invalid_data", f"`{key}` is required.")
        return None
    if not isinstance(value, str):
        raise ProtocolError("invalid_data", f"`{key}` must be a string.")
    if len(value) > max_length:
        raise ProtocolError("invalid_data", f"`{key}` is longer than {max_length} characters.")
    # JSON escapes can spell what UTF-8 cannot encode (a lone surrogate) and what
    # PostgreSQL cannot store (NUL); either would fail far from here.
    if "\x00" in value or (not value.isascii() and _has_surrogate(value)):
        raise ProtocolError(
            "invalid_data", f"`{key}` must be text without NUL characters or lone surrogates."
        )
    return value


def mapping(data: dict, key: str, *, required: bool = False) -> dict | None:
    """A JSON object, whose own keys the caller reads with these readers."""
    value = data.get(key)
    if value is None:
        if required:
            raise ProtocolError("invalid_data", f"`{key}` is required.")
        return None
    if not isinstance(value, dict):
        raise ProtocolError("invalid_data", f"`{key}` must be an object.")
    return value


def _has_surrogate(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


def identifier(data: dict, key: str, *, required: bool = True) -> str | None:
    value = text(data, key, required=required, max_length=64)
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError as error:
        raise ProtocolError("invalid_data", f"`{key}` must be an id (a UUID).") from error


def _check_coordinates(lng: float, lat: float) -> None:
    try:
        validate_lng_lat(lng, lat)
    except ValidationError as error:
        raise ProtocolError("invalid_position", " ".join(error.messages)) from error


def position(data: dict, key: str = "position") -> tuple[float, float]:
    """A `{lat, lng}` object as (lng, lat), within the map."""
    value = data.get(key)
    if not isinstance(value, dict):
        raise ProtocolError("invalid_data", f"`{key}` must be an object with lat and lng.")
    lat, lng = number(value, "lat"), number(value, "lng")
    _check_coordinates(lng, lat)
    return lng, lat


def bounding_box(data: dict, key: str) -> tuple[float, float, float, float] | None:
    """A `{minLat, maxLat, minLng, maxLng}` object as (min_lng, min_lat, max_lng, max_lat); None if absent."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProtocolError("invalid_data", f"`{key}` must be an object.")
    min_lat, max_lat = number(value, "minLat"), number(value, "maxLat")
    min_lng, max_lng = number(value, "minLng"), number(value, "maxLng")
    _check_coordinates(min_lng, min_lat)
    _check_coordinates(max_lng, max_lat)
    if min_lat > max_lat or min_lng > max_lng:
        raise ProtocolError("invalid_data", f"`{key}`: a minimum exceeds its maximum.")
    return min_lng, min_lat, max_lng, max_lat


def lat_lng(lng: float, lat: float) -> dict:
    return {"lat": lat, "lng": lng}
