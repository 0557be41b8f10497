"""
Server processes a benchmark starts for itself on a spare port: daphne as
`make run` serves, or uvicorn as production does (deploy/serve.sh, quieter).
"""

import hashlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COMMANDS = {
    "daphne": lambda port, app: [BIN / "daphne", "-b", "127.0.0.1", "-p", str(port), app],
    "uvicorn": lambda port, app: [
        ROOT / "deploy" / "serve.sh", "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ],
}  # fmt: skip


def production_environment(**overrides) -> dict:
    """The production settings over plain HTTP, on this process's database and Redis."""
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="mmo.settings.production",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        THROTTLE_REGISTER="1000000/minute",
        LOG_LEVEL="WARNING",
    )
    env.update(overrides)
    return env


def lasting_tokens(accounts: str | None) -> dict:
    """Server settings under which the tokens saved in `accounts` stay valid from run to run."""
    if not accounts:
        return {}
    key = hashlib.sha256(f"bench accounts {Path(accounts).resolve()}".encode()).hexdigest()
    return {"JWT_SIGNING_KEY": key, "JWT_ACCESS_MINUTES": "720"}


def seed_world(env: dict) -> None:
    """The sample world (areas, start hubs) in the database of `env`; its report on stderr."""
    subprocess.run(
        [sys.executable, "manage.py", "seed_world"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=sys.stderr,
    )


def status_kib(pid: int, field: str) -> int:
    """A `kB` field of /proc/<pid>/status: VmRSS, VmHWM (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One server process of `app`, healthy once constructed; its output goes to `log_path`."""

    def __init__(self, kind: str, app: str, env: dict, log_path: Path, timeout=60.0):
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = log_path
        with open(log_path, "wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [str(part) for part in COMMANDS[kind](self.port, app)],
                cwd=ROOT,
                env={
                    **env,
                    "PYTHONPATH": str(ROOT),
                    "ASGI_APP": app,
                    "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
                },  # fmt: skip
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.pid = self.process.pid
        self._wait_until_healthy(timeout)

    def _wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.kind} exited:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(
            f"{self.kind} did not become healthy in {timeout:.0f} s; see {self.log_path}"
        )

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process, all its threads (Linux)."""
        return sum(self.cpu_times())

    def cpu_times(self) -> tuple[float, float]:
        """User and system CPU time of the process, all its threads (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / ticks, int(fields[12]) / ticks

    def rss_kib(self) -> int:
        """The process's resident memory, its login workers' left out (`workers_kib`)."""
        return status_kib(self.pid, "VmRSS")

    def worker_pids(self) -> list[int]:
        """Its login worker processes (mmo/servers/auth_workers.py), which multiprocessing spawns."""
        workers = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                try:
                    if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                        workers.append(int(child))
                except FileNotFoundError:
                    pass  # gone meanwhile
        return workers

    def workers_kib(self, field: str = "VmRSS") -> int:
        """The login workers' memory together: resident now (VmRSS) or at their peaks (VmHWM)."""
        total = 0
        for pid in self.worker_pids():
            try:
                total += status_kib(pid, field)
            except FileNotFoundError:
                pass
        return total

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
