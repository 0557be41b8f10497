"""
Game sockets past what a process can log in promptly are refused at the
handshake, with 503 and Retry-After, instead of taken and kept waiting.

When a process dies, its players come back to the others all at once. Each
new socket costs its handshake and its login (the token checked, the player's
state read on a login thread, the player placed in the live world) before it
hears anything, and a survivor that took 500 of them together answered each
`authenticate` after 2–4 s, while it served its own 500 players as well.
At most WEBSOCKET_LOGINS_IN_PROGRESS sockets of a process may be open and not
yet authenticated; past that, a handshake is answered 503 with Retry-After
before any consumer exists for it (where the server offers ASGI's
`websocket.http.response` extension, as uvicorn does; elsewhere the socket is
closed before it is accepted, which the server answers 403).

A refused client is told when its turn comes (Retry-After): the clients
refused before it are a queue that empties at the pace the process logs
sockets in, the places of the door over how long a socket has lately held
its place (open to authenticated; Little's law). A storm's retries then come
back spread out, about as fast as they can be taken, rather than all together
again, and sooner on a process that logs them in faster. A load balancer may
send a retry to another process.
"""

import contextvars
import logging
import time
import weakref

from django.conf import settings

from mmo.api.admission import Returns, send_overloaded


class LoginsInProgress:
    """The sockets of this process that are open and not yet authenticated."""

    def __init__(self):
        # Socket → when it opened. Weak: a socket whose consumer ended without
        # a word is not counted for ever.
        self._opened_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.refused = 0  # since the process started
        # Until a login is timed, a second each: the door's places a second.
        self.returns = Returns(hold_seconds=1.0)

    def __len__(self) -> int:
        return len(self._opened_at)

    def started(self, socket) -> None:
        self._opened_at[socket] = time.monotonic()

    def ended(self, socket) -> None:
        """Authenticated, refused or closed."""
        opened_at = self._opened_at.pop(socket, None)
        if opened_at is not None:
            self.returns.record_hold(time.monotonic() - opened_at)

    def full(self) -> bool:
        limit = settings.WEBSOCKET_LOGINS_IN_PROGRESS
        return limit > 0 and len(self._opened_at) >= limit

    def refuse(self) -> int:
        """Count a refusal; the seconds its client should wait (Retry-After)."""
        self.refused += 1
        return self.returns.retry_after(places=max(settings.WEBSOCKET_LOGINS_IN_PROGRESS, 1))


logins_in_progress = LoginsInProgress()


# uvicorn's websockets-sansio server (0.54, pinned in requirements.txt) logs
# this at ERROR once the application has answered a handshake with an HTTP
# response (`websocket.http.response`), which it did send: the door's refusals
# are counted (`socketsRefused`), not errors an operator must act on. Only the
# connections the door refused drop it: the door marks them in the context
# that uvicorn logs from. tests/e2e/test_storms.py fails if the line comes back.
UVICORN_REFUSAL_LINE = "ASGI callable returned without completing handshake."
_refused_here = contextvars.ContextVar("refused_at_the_socket_door", default=False)


class RefusalIsNoError(logging.Filter):
    """Drops uvicorn's ERROR line for a handshake the door refused on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_refused_here.get() and record.getMessage() == UVICORN_REFUSAL_LINE)


class SocketDoor:
    """ASGI middleware: a game socket's handshake refused while the process has no room for its login."""

    def __init__(self, app):
        self.app = app
        server_log = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, RefusalIsNoError) for f in server_log.filters):
            server_log.addFilter(RefusalIsNoError())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket" or not logins_in_progress.full():
            return await self.app(scope, receive, send)
        wait = logins_in_progress.refuse()
        _refused_here.set(True)
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1013})  # try again later
            return None
        body = f"The server is busy logging other players in; try again in {wait} s.\n".encode()
        await send_overloaded(
            send,
            wait,
            body=body,
            content_type=b"text/plain; charset=utf-8",
            response="websocket.http.response",
        )
        return None
