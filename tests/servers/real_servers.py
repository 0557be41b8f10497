"""Real servers in the test's own event loop."""

import asyncio
import contextlib
import socket

import uvicorn


@contextlib.asynccontextmanager
async def uvicorn_serving(app):
    """A real uvicorn server in this event loop, as deploy/serve.sh configures its WebSocket."""
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        lifespan="off",
        log_config=None,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    listening = socket.create_server(("127.0.0.1", 0))
    serving = asyncio.ensure_future(server.serve(sockets=[listening]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield listening.getsockname()[1]
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)
