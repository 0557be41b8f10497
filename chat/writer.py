"""
Storing chat messages without a database round trip per message on the event
loop: group commit. A message waits while the insert before it runs, then all
that waited go in one INSERT. At a trickle each message is its own insert (no
added delay); under load the batches grow and the inserts per second do not.
A message is acknowledged (and heard) only once it is stored, so what a player
saw acknowledged survives any outage after it; docs/performance.md has the
figures against one insert per message.
"""

import asyncio
import logging
import weakref
from concurrent.futures import ThreadPoolExecutor

from django.db import IntegrityError, close_old_connections

from chat.repositories import ChatMessageRepository, PendingMessage

logger = logging.getLogger(__name__)

MAX_BATCH = 500


class MessageWriter:
    """One per event loop; `await writer.write(row)` → the stored message's id."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_batch: int = MAX_BATCH):
        self.loop = loop
        self.max_batch = max_batch
        self._waiting: list[tuple[PendingMessage, asyncio.Future]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        # Its own thread: inserts never queue behind other synchronous work.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chat-writer")
        # Rooms known to exist here (created on first use: the global, area and pair rooms).
        self.known_rooms: set[str] = set()
        self.batches = 0
        self.stored = 0

    async def write(self, row: PendingMessage) -> int:
        future = self.loop.create_future()
        self._waiting.append((row, future))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._write_forever(), name="chat-writer")
        return await future

    async def _write_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                rows = [row for row, _ in batch]
                try:
                    results = await self.loop.run_in_executor(self._executor, _store, rows)
                except Exception as error:
                    logger.warning("could not store %d chat messages: %s", len(rows), error)
                    results = [error] * len(rows)
                self.batches += 1
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():  # its sender went away
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        self.stored += 1
                        future.set_result(result)


def _store(rows: list[PendingMessage]) -> list:
    """Ids of the stored rows; a row that breaks a constraint fails alone."""
    close_old_connections()
    try:
        try:
            return ChatMessageRepository.create_many(rows)
        except IntegrityError:
            if len(rows) == 1:
                raise
        results = []
        for row in rows:  # a room deleted meanwhile, a sender deleted: find which
            try:
                results.append(ChatMessageRepository.create_many([row])[0])
            except IntegrityError as error:
                results.append(error)
        return results
    finally:
        close_old_connections()


_writers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MessageWriter]" = (
    weakref.WeakKeyDictionary()
)


def message_writer() -> MessageWriter:
    """The MessageWriter of the running event loop."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None:
        writer = _writers[loop] = MessageWriter(loop)
    return writer
