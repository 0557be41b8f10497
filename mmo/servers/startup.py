"""
Which ASGI server runs the application, and which fast paths it allows.

`check_and_report` runs once the application is built (mmo/asgi.py), while the
server loads it: before it listens, so a server that cannot be used never
takes a connection. It logs one INFO line naming the fast paths in use. Where
the bound on a client that stopped reading is not recognised (an unknown
server, a server version whose protocol changed, uvicorn at its trace log
level), it raises ServerNotSupported under WEBSOCKET_REQUIRE_BACKLOG_BOUND (the
production settings), and logs a warning otherwise.

The server is told by the modules it loaded before the application (uvicorn's
configuration, daphne's command line or `runserver`). uvicorn's WebSocket
protocol class is then built once, on no connection, to check that it still
has what backlog.py reads; daphne's classes are checked for the attributes.
"""

import asyncio
import dataclasses
import inspect
import logging
import sys
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from mmo.servers import installed_version, unverified_versions
from mmo.servers.backlog import AsyncioBacklog, backlog_of

logger = logging.getLogger("mmo.servers")

UVICORN_TRACE_LEVEL = 5  # uvicorn.logging.TRACE_LOG_LEVEL


class ServerNotSupported(ImproperlyConfigured):
    """The server running the application cannot bound what a stalled client is owed."""


@dataclasses.dataclass
class ServerFacts:
    name: str
    version: str | None
    websocket: str = ""  # uvicorn's WebSocket implementation(s)
    bounded: bool = False  # the bound on a stalled client is recognised
    direct_frames: bool = False
    problem: str = ""  # why the bound is not recognised

    @property
    def label(self) -> str:
        version = self.version or "version unknown"
        return f"{self.name} {version}" + (f" ({self.websocket})" if self.websocket else "")


def running_server() -> ServerFacts:
    """The server that loaded the application, as far as the modules it imported tell."""
    if "uvicorn.config" in sys.modules:
        return _uvicorn()
    if "daphne.cli" in sys.modules or "daphne.management.commands.runserver" in sys.modules:
        return _daphne()
    return _unknown()


def _uvicorn() -> ServerFacts:
    from uvicorn.config import WS_PROTOCOLS
    from uvicorn.importer import import_from_string

    facts = ServerFacts("uvicorn", installed_version("uvicorn"))
    config = _uvicorn_config()
    if config is None:
        facts.problem = "uvicorn is loaded, but no uvicorn Config is loading the application"
        return facts
    if config.ws == "none":
        facts.websocket, facts.bounded = "no WebSocket", True
        return facts
    try:
        protocol_class = (
            import_from_string(WS_PROTOCOLS.get(config.ws, config.ws))
            if isinstance(config.ws, str)
            else config.ws
        )
    except Exception as error:
        facts.websocket = f"--ws {config.ws}"
        facts.problem = f"its WebSocket protocol cannot be imported ({error})"
        return facts
    facts.websocket = f"--ws {config.ws}: {protocol_class.__name__}"
    if logging.getLogger("uvicorn.error").getEffectiveLevel() <= UVICORN_TRACE_LEVEL:
        facts.problem = "at its trace log level uvicorn wraps every send in its message logger"
        return facts
    backlog = probe_uvicorn_protocol(protocol_class)
    if backlog is None:
        facts.problem = f"{protocol_class.__name__} no longer has what backlog.py reads"
        return facts
    facts.bounded = True
    facts.direct_frames = backlog.can_write_frames()
    return facts


def _uvicorn_config():
    """
    The Config of the uvicorn loading the application: uvicorn imports the
    application from its `run` (or a worker's start), with the Config at hand.
    """
    from uvicorn.config import Config

    frame = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, Config):
                return value
        frame = frame.f_back
    return None


def probe_uvicorn_protocol(protocol_class) -> AsyncioBacklog | None:
    """The backlog backlog.py makes of a connection of `protocol_class`, built on no socket."""
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    try:
        protocol = protocol_class(
            config=Config(app=None, log_config=None), server_state=ServerState(), app_state={}
        )
        protocol.connection_made(_IdleTransport())
    except Exception:
        logger.warning("building %s to check it failed", protocol_class, exc_info=True)
        return None
    backlog = backlog_of(protocol.send, settings.WEBSOCKET_MAX_BACKLOG_BYTES)
    return backlog if isinstance(backlog, AsyncioBacklog) else None


class _IdleTransport(asyncio.Transport):
    """A transport that never carries a byte: what backlog.py calls on it is asyncio's own API."""

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        pass

    def write(self, data) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _daphne() -> ServerFacts:
    facts = ServerFacts(
        "daphne",
        installed_version("daphne"),
        websocket=f"Twisted {installed_version('Twisted')}, "
        f"autobahn {installed_version('autobahn')}",
    )
    problem = daphne_problem()
    facts.bounded = problem is None
    facts.problem = problem or ""
    return facts


def daphne_problem() -> str | None:
    """What DaphneBacklog reads that daphne, autobahn or Twisted no longer has; None if all there."""
    from daphne.server import Server
    from daphne.ws_protocol import WebSocketProtocol
    from twisted.internet.abstract import FileDescriptor

    if list(inspect.signature(Server.handle_reply).parameters) != ["self", "protocol", "message"]:
        return "daphne's Server.handle_reply(protocol, message), the send it hands applications"
    if not callable(getattr(WebSocketProtocol, "dropConnection", None)):
        return "autobahn's WebSocketServerProtocol.dropConnection"
    for name in ("producer", "producerPaused", "registerProducer"):
        if not hasattr(FileDescriptor, name):
            return f"Twisted's FileDescriptor.{name}"
    return None


def _unknown() -> ServerFacts:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    program = spec.name.split(".")[0] if spec is not None else Path(sys.argv[0]).name
    version = installed_version(program) if program and program != "-c" else None
    return ServerFacts(
        {"": "an unknown program", "-c": "python -c"}.get(program, program),
        version,
        problem="not a server the adapters in mmo/servers/ know (uvicorn, daphne)",
    )


def check_and_report(server: ServerFacts | None = None, *, extra: list[str] = ()) -> ServerFacts:
    """
    Log the fast paths in use in one line; refuse a server whose stalled clients
    cannot be bounded where the settings require the bound.
    """
    server = server or running_server()
    if not server.bounded and settings.WEBSOCKET_REQUIRE_BACKLOG_BOUND:
        raise ServerNotSupported(
            f"refusing to start: the bound on a WebSocket client that stopped reading is not "
            f"recognised for {server.label}: {server.problem}. Run the production server "
            f"(deploy/serve.sh), or update mmo/servers/ for this server (docs/operations.md)."
        )
    if server.bounded:
        bound = "stalled-client bound on"
    else:
        bound = f"stalled-client bound OFF ({server.problem})"
        logger.warning("WebSocket clients that stop reading are not bounded on %s", server.label)
    frames = "direct frame writer on" if server.direct_frames else "direct frame writer off"
    unverified = unverified_versions()
    versions = (
        "; versions not verified: " + ", ".join(f"{n} {v}" for n, v in unverified.items())
        if unverified
        else ""
    )
    logger.info(
        "fast paths: server %s: %s, %s; %s%s",
        server.label,
        bound,
        frames,
        "; ".join(extra),
        versions,
    )
    return server
