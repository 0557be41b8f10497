"""
Which code answers which message of the game's socket, and which code handles
which channel-layer event.

Each app declares its messages in its own `socket.py`, beside its services:

    @message("place-flag", schema={"position": schema.position(), "name": schema.text()})
    async def place_flag(connection, data, now): ...

The connection (movement/consumers.py) parses a frame, finds the message by
its type or an alias, reads `data` through the schema (the handler gets the
declared keys, each checked and converted, and nothing else) and calls the
handler. Events from the channel layer reach the handler registered for their
type the same way. docs/protocol.md lists the same messages and keys; a test
holds the two to each other.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.utils.module_loading import autodiscover_modules

from mmo.socket import protocol
from mmo.socket.protocol import ProtocolError

Handler = Callable[..., Awaitable[None]]
LoginRead = Callable[..., object]


@dataclass(frozen=True)
class Field:
    """One key of a message's data: its reader, and other keys a client may send it under."""

    reader: Callable[..., object]
    options: dict = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    def read(self, data: dict, key: str):
        for name in (key, *self.aliases):
            if data.get(name) is not None:
                return self.reader(data, name, **self.options)
        return self.reader(data, key, **self.options)  # absent: the reader knows the default


@dataclass(frozen=True)
class Message:
    type: str
    handler: Handler
    schema: dict[str, Field]
    aliases: tuple[str, ...] = ()
    # Whether the socket must be authenticated first (all but `authenticate`).
    authenticated: bool = True

    def read(self, data: dict) -> dict:
        return {key: spec.read(data, key) for key, spec in self.schema.items()}


class Registry:
    def __init__(self):
        self.messages: dict[str, Message] = {}  # by type and by alias
        self.events: dict[str, Handler] = {}
        # (handler, what it reads at login or None), in registration order.
        self.authenticating: list[tuple[Handler, LoginRead | None]] = []
        self.leaving: list[Handler] = []

    def message(self, message_type: str, *, schema=None, aliases=(), authenticated=True):
        """Register `handler(connection, data, now)` for a client message."""

        def register(handler: Handler) -> Handler:
            declared = Message(
                message_type, handler, dict(schema or {}), tuple(aliases), authenticated
            )
            for name in (message_type, *aliases):
                if name in self.messages:
                    raise ValueError(f"message type {name!r} is registered twice")
                self.messages[name] = declared
            return handler

        return register

    def event(self, event_type: str):
        """Register `handler(connection, event)` for a channel-layer event."""

        def register(handler: Handler) -> Handler:
            if event_type in self.events:
                raise ValueError(f"event type {event_type!r} is registered twice")
            self.events[event_type] = handler
            return handler

        return register

    def on_authenticated(self, handler: Handler | None = None, *, reads: LoginRead | None = None):
        """
        Register `handler(connection)`, called once a socket is authenticated
        and in the world, before its `authenticated` frame: groups joined here
        are heard from the first frame after it.

        With `reads`, a synchronous function of `player_id=` (a database read),
        the handler is called as `handler(connection, result)`: every app's
        read runs in the login's one trip to a login thread, beside the
        token's and the player's, not in a trip of its own.
        """

        def register(handler: Handler) -> Handler:
            self.authenticating.append((handler, reads))
            return handler

        return register if handler is None else register(handler)

    def on_leaving(self, handler: Handler) -> Handler:
        """Register `handler(connection)`, called when an authenticated socket closes."""
        self.leaving.append(handler)
        return handler

    def find(self, message_type: str) -> Message:
        found = self.messages.get(message_type)
        if found is None:
            raise ProtocolError("unknown_type", f"Unknown message type {message_type[:50]!r}.")
        return found

    def declared(self) -> list[Message]:
        """Each message once (not once per alias)."""
        return list({id(m): m for m in self.messages.values()}.values())


registry = Registry()
message = registry.message
event = registry.event


def autodiscover() -> None:
    """Import every installed app's `socket` module, which registers its messages."""
    autodiscover_modules("socket")


# Schema fields: each reads one key with the reader of mmo/socket/protocol.py
# that names the key in its refusal.


def text(*, required: bool = True, max_length: int = 200, aliases=()) -> Field:
    return Field(protocol.text, {"required": required, "max_length": max_length}, tuple(aliases))


def identifier(*, required: bool = True) -> Field:
    return Field(protocol.identifier, {"required": required})


def number(*, required: bool = True) -> Field:
    return Field(protocol.number, {"required": required})


def integer(*, default: int | None = None) -> Field:
    return Field(protocol.integer, {"default": default})


def boolean(*, default: bool) -> Field:
    return Field(protocol.boolean, {"default": default})


def mapping(*, required: bool = False) -> Field:
    return Field(protocol.mapping, {"required": required})


def position() -> Field:
    return Field(protocol.position)


def bounding_box(*, aliases=()) -> Field:
    return Field(protocol.bounding_box, aliases=tuple(aliases))
