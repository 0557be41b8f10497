"""The chat rules: what a message may hold and where it may go."""

import re

from mmo.socket.protocol import ProtocolError

CHAT_SCOPES = ("global", "area", "private")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def chat_text_clean(message: str) -> str:
    """The message as others see it: no control characters, no surrounding blanks; never empty."""
    cleaned = _CONTROL_CHARACTERS.sub("", message).strip()
    if not cleaned:
        raise ProtocolError("invalid_data", "`message` is empty.")
    return cleaned


def chat_scope_check(scope: str) -> str:
    if scope not in CHAT_SCOPES:
        raise ProtocolError("invalid_data", "`scope` is global, area or private.")
    return scope
