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

The socket lives no longer than the admin access it was opened with: a logout
of its session, or the account deactivated, deleted or no longer staff, sends
`staff.ended` to the account's staff group (movement/receivers.py), and the
socket answers with an `error` frame (code `access_ended`) and closes (4003,
with the reason). What ends without an event (a session expired or deleted in
the database, an event lost while Redis was away) is caught by a check of the
session every STAFF_MAP_ACCESS_CHECK_SECONDS.
"""

import asyncio
import hashlib
import json
import logging
from importlib import import_module

from channels.auth import get_user
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.core.exceptions import ValidationError

from mmo import realtime
from mmo.geo import validate_lng_lat
from movement.world import live_world

logger = logging.getLogger(__name__)

# Refused at the handshake, or closed once the admin access it was opened with ended.
CLOSE_NOT_STAFF = 4003
SESSION_ENDED = "Your admin session ended; log in again."
DEACTIVATED = "This account is deactivated."
NOT_STAFF = "This account is no longer staff."
DELETED = "This account was deleted."
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


def session_tag(session_key: str | None) -> str:
    """What names an admin session in events: a digest, so that no session key crosses Redis."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


async def access_lost(session_key: str | None, user_id) -> str | None:
    """
    Why the admin session no longer gives `user_id` the admin, or None if it
    still does: read afresh from the session store and the database (two
    queries), as the admin would on its next request.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = await get_user({"session": store})
    if not user.is_authenticated or user.pk != user_id:
        return SESSION_ENDED
    if not user.is_active:
        return DEACTIVATED
    if not user.is_staff:
        return NOT_STAFF
    return None


class StaffMapConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not (user.is_authenticated and user.is_active and user.is_staff):
            await self.close(code=CLOSE_NOT_STAFF)  # before accept: the handshake is refused
            return
        self.user_id = user.pk
        self.session_key = self.scope["session"].session_key
        self.session_tag = session_tag(self.session_key)
        self.ended = False
        self.box = None
        self.shown: dict[str, list] = {}
        self.changed = asyncio.Event()
        # Joined before the handshake completes, so no revocation falls between the two.
        self.memberships = realtime.Memberships(self.channel_layer, self.channel_name)
        await self.memberships.join(realtime.staff_group(self.user_id))
        await self.accept()
        self.tasks = [
            asyncio.create_task(self._push()),
            asyncio.create_task(self._check_access()),
        ]

    async def disconnect(self, code):
        self._stop_tasks()
        memberships = getattr(self, "memberships", None)
        if memberships is not None:
            await memberships.leave_all()

    def _stop_tasks(self):
        current = asyncio.current_task()
        for task in getattr(self, "tasks", ()):
            if task is not current:
                task.cancel()

    async def staff_ended(self, event):
        """The `staff.ended` event: this account's admin access, or this session's, ended."""
        session = event.get("session")
        if session and session != self.session_tag:
            return  # another session of the same account logged out
        await self._end(event.get("reason") or SESSION_ENDED)

    async def _end(self, reason: str):
        if self.ended:
            return
        self.ended = True
        self._stop_tasks()
        await self.send(
            json.dumps({"type": "error", "data": {"code": "access_ended", "message": reason}})
        )
        await self.close(code=CLOSE_NOT_STAFF, reason=reason)

    async def _check_access(self):
        """The safety net under the events: what ends without one, in at most one interval."""
        interval = settings.STAFF_MAP_ACCESS_CHECK_SECONDS
        while not self.ended:
            await asyncio.sleep(interval)
            try:
                reason = await access_lost(self.session_key, self.user_id)
            except Exception as error:  # the database away: no verdict, ask again next time
                logger.warning("the world map could not check its admin session: %s", error)
                continue
            if reason is not None:
                await self._end(reason)

    async def receive(self, text_data=None, bytes_data=None):
        if self.ended:
            return
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
