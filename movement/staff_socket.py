"""
The world map's live players (`/ws/staff/map/`): a socket for staff only, logged
in to the admin (the session cookie). The page says which box of the world it
shows (`{"type": "view", "bbox": [minLng, minLat, maxLng, maxLat]}`); the socket
then pushes the online players in that box from the game's presence
(movement/presence.py, refreshed by every process once per flush interval; this
process's own players as they are now):
first all of them (`players`, with `reset: true`), then what changed
(`players`: moved or new, `gone`: left the box or the game) at most once per
STAFF_MAP_PUSH_SECONDS. Staff watch the world; they are not part of it, so the
socket joins no interest cell and delivery to players is untouched.
"""

import asyncio
import json
import logging

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError

from mmo.geo import validate_lng_lat
from movement.world import live_world

logger = logging.getLogger(__name__)

CLOSE_NOT_STAFF = 4003
# The most players one view shows: a whole world of them at the scale the map targets.
VIEW_LIMIT = 5_000


def _compact(entry) -> list:
    """One player as the map draws them: id, name, lng, lat, area."""
    return [
        entry.player_id,
        entry.display_name or entry.username,
        round(entry.lng, 7),
        round(entry.lat, 7),
        entry.area_id,
    ]


def read_box(value) -> tuple[float, float, float, float]:
    if not isinstance(value, list) or len(value) != 4:
        raise ValueError("bbox is [minLng, minLat, maxLng, maxLat].")
    min_lng, min_lat, max_lng, max_lat = (float(v) for v in value)
    # Views of OpenLayers reach past the antimeridian and the poles: clamp.
    min_lng, max_lng = max(min_lng, -180.0), min(max_lng, 180.0)
    min_lat, max_lat = max(min_lat, -90.0), min(max_lat, 90.0)
    try:
        validate_lng_lat(min_lng, min_lat)
        validate_lng_lat(max_lng, max_lat)
    except ValidationError as error:
        raise ValueError(error.messages[0]) from None
    if min_lng > max_lng or min_lat > max_lat:
        raise ValueError("The box's minimum must not exceed its maximum.")
    return min_lng, min_lat, max_lng, max_lat


class StaffMapConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not (user.is_authenticated and user.is_active and user.is_staff):
            await self.close(code=CLOSE_NOT_STAFF)  # before accept: the handshake is refused
            return
        self.box = None
        self.shown: dict[str, list] = {}
        self.changed = asyncio.Event()
        await self.accept()
        self.pusher = asyncio.create_task(self._push())

    async def disconnect(self, code):
        pusher = getattr(self, "pusher", None)
        if pusher is not None:
            pusher.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
            if not isinstance(message, dict) or message.get("type") != "view":
                raise ValueError('Send {"type": "view", "bbox": [...]}.')
            self.box = read_box(message.get("bbox"))
        except (ValueError, TypeError) as error:
            await self.send(json.dumps({"type": "error", "data": {"message": str(error)}}))
            return
        self.changed.set()

    async def _push(self):
        world = live_world()
        interval = settings.STAFF_MAP_PUSH_SECONDS
        while True:
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=interval)
            except TimeoutError:
                pass
            reset = self.changed.is_set()
            self.changed.clear()
            if self.box is None:
                continue
            try:
                entries = await world.online_players(box=self.box, limit=VIEW_LIMIT)
            except Exception as error:  # the database or Redis away: try again next time
                logger.warning("the world map could not read presence: %s", error)
                await asyncio.sleep(interval)
                continue
            await self._send_changes({entry.player_id: _compact(entry) for entry in entries}, reset)
            await asyncio.sleep(interval)

    async def _send_changes(self, now_shown: dict[str, list], reset: bool):
        if reset:
            changed, gone = list(now_shown.values()), []
        else:
            changed = [row for pid, row in now_shown.items() if self.shown.get(pid) != row]
            gone = [pid for pid in self.shown if pid not in now_shown]
        self.shown = now_shown
        if reset or changed or gone:
            data = {"players": changed, "gone": gone, "reset": reset, "online": len(now_shown)}
            await self.send(json.dumps({"type": "players", "data": data}))
