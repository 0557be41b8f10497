"""
Storing chat messages at 500 messages/s: one INSERT per message against group
commit (chat/writer.py: the messages that arrive while an insert runs go in the
next one), and against a flush once a second like positions'. First 500
messages/s for DURATION seconds, each from a player of its own; then SENDERS
players each sending again as soon as their last message is stored, for the
ceiling. Reports, per strategy: messages stored per second,
the time from sending to stored (p50, p99; the acknowledgement waits for it),
INSERT statements, and the database time (the writer thread's busy time) and
process CPU per 1,000 messages. Median of three rounds. PostGIS by default.
"""

import asyncio
import statistics
import sys
import time
import uuid

import _django  # noqa: F401
from django.db import close_old_connections, connection
from django.utils import timezone

from chat.models import ChatRoom
from chat.repositories import ChatMessageRepository, PendingMessage
from chat.writer import MessageWriter
from players.models import Player

RATE = 500  # messages per second offered
SENDERS = 100
DURATION = 6.0  # seconds per round at the offered rate
CEILING_MESSAGES = 3_000
ROUNDS = 3


class TimedWriter(MessageWriter):
    """The writer, counting the time its thread spends in the database."""

    def __init__(self, loop, max_batch):
        super().__init__(loop, max_batch=max_batch)
        self.database_seconds = 0.0

    async def _write_forever(self):
        import chat.writer as writer_module

        store = writer_module._store

        def timed(rows):
            started = time.perf_counter()
            try:
                return store(rows)
            finally:
                self.database_seconds += time.perf_counter() - started

        writer_module._store = timed
        try:
            await super()._write_forever()
        finally:
            writer_module._store = store


class IntervalFlush:
    """Positions' way: keep messages in memory, insert them all once a second."""

    def __init__(self, loop, interval=1.0):
        self.loop = loop
        self.interval = interval
        self.waiting = []
        self.batches = 0
        self.database_seconds = 0.0
        self.task = loop.create_task(self._flush_forever())

    async def write(self, row):
        future = self.loop.create_future()
        self.waiting.append((row, future))
        return await future

    async def _flush_forever(self):
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()

    async def flush(self):
        batch, self.waiting = self.waiting, []
        if not batch:
            return
        started = time.perf_counter()
        ids = await self.loop.run_in_executor(None, _insert, [row for row, _ in batch])
        self.database_seconds += time.perf_counter() - started
        self.batches += 1
        for (_, future), message_id in zip(batch, ids, strict=True):
            future.set_result(message_id)


def _insert(rows):
    close_old_connections()
    try:
        return ChatMessageRepository.create_many(rows)
    finally:
        close_old_connections()


async def run(strategy: str, room_id: str, sender_ids: list, *, paced: bool) -> dict:
    """
    Paced: one message every 1/RATE s, each from a player of its own (open
    loop: players do not wait for each other). Not paced: SENDERS players
    each sending their next message as soon as the last is stored.
    """
    loop = asyncio.get_running_loop()
    if strategy == "interval":
        writer = IntervalFlush(loop)
    else:
        writer = TimedWriter(loop, max_batch=1 if strategy == "per-message" else 500)
    latencies = []

    async def send(n: int, k: int):
        started = time.perf_counter()
        row = PendingMessage(
            room_id, sender_ids[n % len(sender_ids)], f"message {n}.{k}", timezone.now()
        )
        await writer.write(row)
        latencies.append(time.perf_counter() - started)

    async def paced_load():
        start, sent, tasks = loop.time(), 0, []
        while sent < RATE * DURATION:
            due = int((loop.time() - start) * RATE) + 1
            while sent < min(due, RATE * DURATION):
                tasks.append(loop.create_task(send(sent, 0)))
                sent += 1
            await asyncio.sleep(0.002)
        await asyncio.gather(*tasks)

    async def sender(n: int):
        for k in range(CEILING_MESSAGES // SENDERS):
            await send(n, k)

    cpu, wall = time.process_time(), time.perf_counter()
    if paced:
        await paced_load()
    else:
        await asyncio.gather(*(sender(n) for n in range(SENDERS)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if strategy == "interval":
        writer.task.cancel()
    latencies.sort()
    count = len(latencies)
    return {
        "rate": count / wall,
        "p50": latencies[count // 2] * 1000,
        "p99": latencies[int(count * 0.99)] * 1000,
        "inserts": writer.batches,
        "db_ms_per_1000": writer.database_seconds / count * 1e6,
        "cpu_ms_per_1000": cpu / count * 1e6,
    }


def median_of(results: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def main():
    if connection.vendor != "postgresql" and "--any-database" not in sys.argv:
        raise SystemExit("bench/chat_writes.py measures PostGIS; set DATABASE_URL=postgis://…")
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    players = Player.objects.bulk_create(
        [
            Player(username=f"{prefix}-{n}", email=f"{prefix}-{n}@example.com", password="!")
            for n in range(10)
        ]
    )
    room = ChatRoom.objects.create(id=prefix, name="bench")
    sender_ids = [str(player.pk) for player in players]
    try:
        for paced, title in (
            (True, f"offered {RATE} messages/s for {DURATION:g} s"),
            (False, f"as fast as {SENDERS} senders go, {CEILING_MESSAGES:,} messages"),
        ):
            print(f"{title}, median of {ROUNDS} rounds:")
            for strategy in ("per-message", "group-commit", "interval"):
                if strategy == "interval" and not paced:
                    continue
                results = [
                    asyncio.run(run(strategy, room.pk, sender_ids, paced=paced))
                    for _ in range(ROUNDS)
                ]
                r = median_of(results)
                print(
                    f"  {strategy:<13} {r['rate']:7,.0f} msg/s stored | to stored p50 "
                    f"{r['p50']:7.1f} ms p99 {r['p99']:7.1f} ms | {r['inserts']:6,.0f} INSERTs | "
                    f"database {r['db_ms_per_1000']:6.0f} ms, process CPU "
                    f"{r['cpu_ms_per_1000']:6.0f} ms per 1,000 messages"
                )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM chat_messages WHERE room_id = %s", [room.pk])
            cursor.execute("DELETE FROM chat_rooms WHERE id = %s", [room.pk])
            cursor.execute("DELETE FROM players WHERE username LIKE %s", [f"{prefix}-%"])


if __name__ == "__main__":
    main()
