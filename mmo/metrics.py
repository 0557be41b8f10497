"""
`GET /api/internal/metrics`, for staff: this process's memory, open files,
threads and event-loop tasks, and the logins it shed, so that a soak test or
an operator can watch them grow (or not) from outside.
"""

import asyncio
import os
import threading
from pathlib import Path

from asgiref.sync import async_to_sync
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from mmo import logs
from mmo.api.admission import AUTHENTICATION
from mmo.servers import auth_workers
from mmo.socket.admission import logins_in_progress


def _status_kib(field: str, pid: int | str = "self") -> int | None:
    """A `kB` field of /proc/<pid>/status (Linux), in KiB; None elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _open_files() -> int | None:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


async def _event_loop_tasks() -> int:
    # Run on the server's event loop (async_to_sync from a request's thread
    # goes back to it), so these are the tasks of the connections it serves.
    return len(asyncio.all_tasks())


def process_metrics() -> dict:
    return {
        "pid": os.getpid(),
        "rssKiB": _status_kib("VmRSS"),
        "peakRssKiB": _status_kib("VmHWM"),
        "openFiles": _open_files(),
        "threads": threading.active_count(),
        "tasks": async_to_sync(_event_loop_tasks)(),
        "loginsInFlight": AUTHENTICATION.busy
        + (auth_workers.running.busy if auth_workers.running else 0),
        "loginsShed": AUTHENTICATION.refused + AUTHENTICATION.shed_at_the_door,
        # Game sockets open and not yet authenticated, and handshakes refused for want of room.
        "socketLoginsInProgress": len(logins_in_progress),
        "socketsRefused": logins_in_progress.refused,
        "counted": logs.counted(),
        # The login worker processes (mmo/servers/auth_workers.py): their memory counts too.
        "authWorkers": [
            {
                "pid": pid,
                "rssKiB": _status_kib("VmRSS", pid),
                "peakRssKiB": _status_kib("VmHWM", pid),
            }
            for pid in auth_workers.AuthWorkers.pids()
        ],
    }


class MetricsView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(exclude=True)
    def get(self, request):
        return Response(process_metrics())
