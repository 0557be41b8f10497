"""
Redis and PostgreSQL servers of a test's own, to stop and start at will, and
waiting for a condition instead of sleeping.
"""

import asyncio
import os
import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.e2e.conftest import free_port

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_memory_kib(pid: int) -> int:
    """A process's peak resident memory so far (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def wait_until(condition, timeout: float, what: str, interval: float = 0.1):
    """The first truthy value of `condition()` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


async def eventually(condition, timeout: float, what: str, interval: float = 0.1):
    """`wait_until` for a coroutine function `condition`."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(interval)


class RedisServer:
    """A redis-server on a spare port that keeps nothing on disk."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process = None

    def start(self) -> None:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 (the process owns it)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_until(self.answers, 10, f"redis-server on port {self.port}")

    def answers(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_timeout=0.5).ping()
        except redis.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


class PostgresCluster:
    """
    A PostgreSQL cluster of its own in a temporary directory, run as the
    `postgres` user (the server refuses to run as root), with trust
    authentication on 127.0.0.1.
    """

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.datadir = workdir / "pgdata"
        self.logfile = workdir / "postgres.log"
        workdir.mkdir(parents=True, exist_ok=True)
        shutil.chown(workdir, "postgres", "postgres")
        self._as_postgres(
            POSTGRES_BIN / "initdb",
            "-D",
            self.datadir,
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--no-sync",
        )

    @staticmethod
    def available() -> bool:
        return (POSTGRES_BIN / "initdb").exists() and shutil.which("runuser") is not None

    def url(self, database: str, **options) -> str:
        query = "&".join(f"{key}={value}" for key, value in options.items())
        return f"postgis://postgres@127.0.0.1:{self.port}/{database}" + (
            f"?{query}" if query else ""
        )

    def libpq_url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, *command, timeout=120) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *map(str, command)],
            cwd="/",  # the postgres user may not enter the test's working directory
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        self._as_postgres(
            POSTGRES_BIN / "pg_ctl",
            "start",
            "-D",
            self.datadir,
            "-l",
            self.logfile,
            "-w",
            "-o",
            f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off",
        )

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._as_postgres(POSTGRES_BIN / "pg_ctl", "stop", "-D", self.datadir, "-m", "fast")

    def create_database(self, name: str) -> None:
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        self.psql(name, "CREATE EXTENSION postgis")

    def psql(self, database: str, sql: str) -> str:
        result = subprocess.run(
            ["psql", self.libpq_url(database), "-Atqv", "ON_ERROR_STOP=1", "-c", sql],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PGCONNECT_TIMEOUT": "5"},
        )
        return result.stdout.strip()
