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

A refused client is told to wait one second more for each limit's worth of
clients refused before it in the same burst: the storm's retries then come
back spread out, at about the pace the process logs them in, rather than all
together again. A load balancer may send a retry to another process.
"""

import time
import weakref

from django.conf import settings

from mmo.api.admission import MAX_RETRY_AFTER, send_overloaded

# Refusals further apart than this start a new burst.
BURST_GAP_S = 1.0


class LoginsInProgress:
    """The sockets of this process that are open and not yet authenticated."""

    def __init__(self):
        # Weak: a socket whose consumer ended without a word is not counted for ever.
        self._sockets: weakref.WeakSet = weakref.WeakSet()
        self.refused = 0  # since the process started
        self._refused_in_burst = 0
        self._last_refused_at = float("-inf")

    def __len__(self) -> int:
        return len(self._sockets)

    def started(self, socket) -> None:
        self._sockets.add(socket)

    def ended(self, socket) -> None:
        """Authenticated, refused or closed."""
        self._sockets.discard(socket)

    def full(self) -> bool:
        limit = settings.WEBSOCKET_LOGINS_IN_PROGRESS
        return limit > 0 and len(self._sockets) >= limit

    def refuse(self) -> int:
        """Count a refusal; the seconds its client should wait (Retry-After)."""
        now = time.monotonic()
        if now - self._last_refused_at > BURST_GAP_S:
            self._refused_in_burst = 0
        self._last_refused_at = now
        self.refused += 1
        wait = 1 + self._refused_in_burst // max(settings.WEBSOCKET_LOGINS_IN_PROGRESS, 1)
        self._refused_in_burst += 1
        return min(wait, MAX_RETRY_AFTER)


logins_in_progress = LoginsInProgress()


class SocketDoor:
    """ASGI middleware: a game socket's handshake refused while the process has no room for its login."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket" or not logins_in_progress.full():
            return await self.app(scope, receive, send)
        wait = logins_in_progress.refuse()
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
