"""
ASGI entry point for daphne or uvicorn: HTTP through Django, the game's
WebSocket through Channels. Several processes behind a load balancer share
PostgreSQL and Redis.
"""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmo.settings.base")

from mmo.servers.http import get_asgi_application  # noqa: E402

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from mmo.api.admission import ShedAtTheDoor  # noqa: E402
from mmo.servers import auth_workers, channel_layer, http, startup  # noqa: E402
from mmo.servers.backlog import SendBacklogLimit  # noqa: E402
from mmo.websocket_security import BrowserOriginValidator  # noqa: E402
from movement.routing import websocket_urlpatterns  # noqa: E402

# Logins in worker processes of their own (mmo/servers/auth_workers.py), where
# the settings share the cache and the channel layer between processes.
login_workers = auth_workers.start_if_enabled()

# Before the server listens: a server that cannot bound a stalled client's
# backlog is refused here under the production settings.
startup.check_and_report(
    extra=[
        http.describe(django_asgi_app),
        channel_layer.describe(get_channel_layer()),
        auth_workers.describe(login_workers),
    ]
)

# Everything loaded so far lives as long as the process: keep it out of the
# garbage collector's scans, and collect the young generation less often (a
# server allocates many short-lived frames and events).
gc.freeze()
gc.set_threshold(50_000, 20, 20)

application = ProtocolTypeRouter(
    {
        "http": ShedAtTheDoor(auth_workers.ServeInWorkers(django_asgi_app, login_workers)),
        "websocket": SendBacklogLimit(BrowserOriginValidator(URLRouter(websocket_urlpatterns))),
    }
)
