"""
The staff's world map in a real browser (Debian's Chromium), with every request
that leaves the server refused: the offline base map, the areas and flags of the
database, a real player followed live, popups, drawing an area, disconnecting.

`test_world_map_load_time_and_frame_rate` measures the map under a crowd: by
default a small one; WORLD_MAP_FLAGS and WORLD_MAP_PLAYERS set its size
(docs/performance.md).
"""

import asyncio
import json
import os
import random
import threading
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import call_command

from areas.models import Area
from flags.models import Flag
from mmo.geo import point
from tests.e2e.clients import Player
from tests.e2e.test_admin_map import CHROMIUM, CHROMIUM_FLAGS
from tests.factories import DEFAULT_PASSWORD, AreaFactory, FlagFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SEA = (0xCF, 0xE2, 0xEE)


class GamePlayer:
    """A registered player on a real game socket, run on its own event loop (the
    browser's client is synchronous)."""

    def __init__(self, server, name):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.player = Player(server, name)
        self.server = server

    def run(self, coroutine, timeout=10):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def connect(self):
        return self.run(self.player.connect(self.server))

    def move(self, lng, lat):
        return self.run(self.player.move(lng, lat))

    def closed_by_server(self, timeout=5.0):
        """The force-disconnect frame's reason, once the server closed the socket."""

        async def wait():
            reason = (await self.player.receive_type("force-disconnect", timeout))["reason"]
            await asyncio.wait_for(self.player.socket.wait_closed(), timeout)
            return reason, self.player.socket.close_code

        return self.run(wait(), timeout + 5)

    def stop(self):
        try:
            self.run(self.player.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def open_browser(playwright, server_url):
    """A logged-out page whose requests to any other host are refused and counted."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    host = urlsplit(server_url).netloc
    report = SimpleNamespace(outside=[], failed=[])

    def only_the_server(route):
        if urlsplit(route.request.url).netloc == host:
            route.continue_()
        else:
            report.outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.on(
        "response",
        lambda response: response.status >= 400 and report.failed.append(response.url),
    )
    # (Not the page's own cancellations: a view that moves on aborts its loads.)
    page.on(
        "requestfailed",
        lambda request: (
            urlsplit(request.url).netloc == host
            and request.failure != "net::ERR_ABORTED"
            and report.failed.append(request.url)
        ),
    )
    return browser, page, report


def log_in(page, server_url, staff, then):
    page.goto(f"{server_url}/admin/login/?next={then}")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{then}")


def wait_for_counts(page, areas, flags, timeout=15_000):
    page.wait_for_function(
        """([areas, flags]) => window.worldMap &&
            worldMap.sources.areas.getFeatures().length === areas &&
            worldMap.sources.flags.getFeatures().length === flags""",
        arg=[areas, flags],
        timeout=timeout,
    )


def pixel_of(page, source, feature_id):
    """Page coordinates of a point feature of the map."""
    return page.evaluate(
        """([source, id]) => {
            const feature = worldMap.sources[source].getFeatureById(id);
            const [x, y] = worldMap.map.getPixelFromCoordinate(feature.getGeometry().getCoordinates());
            const box = document.getElementById('world-map').getBoundingClientRect();
            return [box.left + x, box.top + y];
        }""",
        [source, feature_id],
    )


def pixel_at(page, lng, lat):
    """Page coordinates of a place on the map."""
    return page.evaluate(
        """([lng, lat]) => {
            const [x, y] = worldMap.map.getPixelFromCoordinate(ol.proj.fromLonLat([lng, lat]));
            const box = document.getElementById('world-map').getBoundingClientRect();
            return [box.left + x, box.top + y];
        }""",
        [lng, lat],
    )


def non_background_share(png_path) -> float:
    from PIL import Image

    image = Image.open(png_path).convert("RGB")
    pixels = list(image.get_flattened_data())
    background = {SEA, (255, 255, 255)}
    return sum(1 for pixel in pixels if pixel not in background) / len(pixels)


def test_world_map_shows_the_world_follows_players_and_acts(asgi_server, tmp_path):
    from playwright.sync_api import sync_playwright

    call_command("seed_world")
    AreaFactory(
        id="paris-park",
        name="Paris park",
        area_type="event",
        boundary=MultiPolygon(Polygon.from_bbox((2.30, 48.84, 2.36, 48.88)), srid=4326),
    )
    flag = FlagFactory(name="Seine watch", location=point(2.345, 48.875))
    staff = StaffFactory()
    areas, flags = Area.objects.count(), Flag.objects.count()
    server = SimpleNamespace(
        url=asgi_server, ws_url=asgi_server.replace("http", "ws", 1) + "/ws/game/"
    )
    walker = GamePlayer(server, "mapwalker")

    with sync_playwright() as playwright:
        browser, page, report = open_browser(playwright, asgi_server)
        try:
            log_in(page, asgi_server, staff, "/admin/world-map/")
            wait_for_counts(page, areas, flags)
            page.locator("#world-map").screenshot(path=str(tmp_path / "world-map.png"))
            drawn = non_background_share(tmp_path / "world-map.png")

            # A player who connects appears, and follows their moves.
            start = walker.connect()["position"]
            page.wait_for_function(
                "(id) => worldMap.sources.players.getFeatureById(id) !== null",
                arg=walker.player.id,
                timeout=5_000,
            )
            # About 3 m: within the GPS noise every move is forgiven, however
            # soon after connecting it comes (the speed allowance starts there).
            moved_to = (start["lng"] + 0.00002, start["lat"] + 0.00002)
            walker.move(*moved_to)
            moved_at = time.monotonic()
            page.wait_for_function(
                """([id, lng, lat]) => {
                    const feature = worldMap.sources.players.getFeatureById(id);
                    const [x, y] = ol.proj.toLonLat(feature.getGeometry().getCoordinates());
                    return Math.abs(x - lng) < 1e-6 && Math.abs(y - lat) < 1e-6;
                }""",
                arg=[walker.player.id, *moved_to],
                timeout=5_000,
            )
            followed_in = time.monotonic() - moved_at

            # Search flies to the flag and opens its popup; so does a click on it,
            # and the popup's link opens its admin page.
            page.fill("#world-map-search input[name=q]", "seine")
            page.click("#world-map-search button")
            page.click("#world-map-results li >> text=Seine watch")
            page.wait_for_selector("#world-map-popup:not([hidden]) >> text=Seine watch")
            page.mouse.click(*pixel_of(page, "flags", str(flag.pk)))
            page.wait_for_selector("#world-map-popup:not([hidden]) >> text=Seine watch")
            page.click("#world-map-popup a.admin-link")
            page.wait_for_url(f"**/admin/flags/flag/{flag.pk}/change/")

            # Drawing a polygon opens the add form with the boundary filled in.
            page.goto(f"{asgi_server}/admin/world-map/?bbox=2.2,48.8,2.4,48.9")
            wait_for_counts(page, 1, 1)
            page.mouse.click(*pixel_at(page, 2.31, 48.85))  # in the park, away from the flag
            page.wait_for_selector("#world-map-popup:not([hidden]) >> text=Paris park")
            page.mouse.click(*pixel_at(page, 2.25, 48.82))  # nothing there: the popup closes
            page.wait_for_selector("#world-map-popup", state="hidden")
            page.click("#world-map-draw")
            box = page.locator("#world-map").bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            for dx, dy in ((-100, -80), (100, -80), (100, 80)):
                page.mouse.click(x + dx, y + dy)
            page.mouse.dblclick(x - 100, y + 80)
            page.wait_for_url("**/admin/areas/area/add/?boundary=*")
            page.wait_for_function("() => window.geodjango_boundary !== undefined")
            boundary = page.input_value("#id_boundary")
            drawn_features = page.evaluate(
                "() => geodjango_boundary.featureOverlay.getSource().getFeatures().length"
            )

            # "Disconnect" in the player's popup closes their socket.
            page.goto(f"{asgi_server}/admin/world-map/?bbox=-0.01,-0.01,0.01,0.01")
            page.wait_for_function(
                "(id) => worldMap.sources.players.getFeatureById(id) !== null",
                arg=walker.player.id,
            )
            page.wait_for_timeout(300)
            page.mouse.click(*pixel_of(page, "players", walker.player.id))
            page.click("#world-map-popup button[data-action=disconnect]")
            reason, close_code = walker.closed_by_server()
            page.wait_for_selector("#world-map-popup .result >> text=disconnected")

            # Logging out of the admin (as another tab would) stops the map's live players.
            logged_out = page.evaluate(
                """() => fetch("/admin/logout/", {
                    method: "POST", credentials: "same-origin",
                    headers: {"X-CSRFToken": document.querySelector("[name=csrfmiddlewaretoken]").value},
                }).then((response) => response.status)"""
            )
            page.wait_for_selector(
                "#world-map-status >> text=live players stopped: You logged out of the admin."
            )
        finally:
            browser.close()
            walker.stop()

    assert report.failed == []
    assert all(urlsplit(url).path.endswith(".png") for url in report.outside), report.outside
    assert drawn > 0.2, f"only {drawn:.1%} of the map is drawn"
    assert followed_in < 2.0
    assert drawn_features == 1
    assert json.loads(boundary)["type"] == "MultiPolygon"
    assert (reason, close_code) == ("Disconnected by staff.", 4003)
    assert logged_out == 200


FRAME_RATE = """() => new Promise((resolve) => {
    const view = worldMap.map.getView();
    let frames = 0;
    const started = performance.now();
    view.animate({zoom: view.getZoom() + 2, duration: 1500}, {zoom: view.getZoom(), duration: 1500});
    function tick(now) {
        frames += 1;
        if (now - started < 3000) requestAnimationFrame(tick);
        else resolve(frames * 1000 / (now - started));
    }
    requestAnimationFrame(tick);
})"""


def measure(page, url, renderer, areas, flags, n_players):
    """(ms from navigation to every area, flag and player drawn, frames per second, WebGL)."""
    page.goto(f"{url}/admin/world-map/?bbox=-180,-70,180,80&renderer={renderer}")
    wait_for_counts(page, areas, flags, timeout=60_000)
    page.wait_for_function(
        "(n) => worldMap.sources.players.getFeatures().length >= n", arg=n_players, timeout=30_000
    )
    load_ms = page.evaluate("() => performance.now()")
    # Frames drawn while the view zooms in and out for three seconds, with the
    # crowd moving (pushed twice a second).
    return load_ms, page.evaluate(FRAME_RATE), page.evaluate("() => worldMap.webgl")


def test_world_map_load_time_and_frame_rate(asgi_server, tmp_path):
    """Figures for docs/performance.md; the assertions only say the crowd was drawn."""
    import redis.asyncio
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    from movement.presence import PresenceEntry, RedisPresence

    n_flags = int(os.environ.get("WORLD_MAP_FLAGS", "300"))
    n_players = int(os.environ.get("WORLD_MAP_PLAYERS", "200"))
    rng = random.Random(7)
    Flag.objects.bulk_create(
        Flag(
            name=f"Flag {i}",
            flag_type=Flag.FlagType.GUARD_TOWER,
            location=point(rng.uniform(-170, 170), rng.uniform(-60, 70)),
        )
        for i in range(n_flags)
    )
    staff = StaffFactory()
    areas, flags = Area.objects.count(), Flag.objects.count()
    server = SimpleNamespace(url=asgi_server)
    crowd = [[f"bench-{i}", rng.uniform(-170, 170), rng.uniform(-60, 70)] for i in range(n_players)]

    async def refresh(step):
        # The servers' presence in Redis, through a client of this event loop.
        presence = RedisPresence(
            redis.asyncio.from_url(settings.REDIS_URL),
            prefix=settings.CACHES["default"].get("KEY_PREFIX", "mmo"),
        )
        entries = [
            PresenceEntry(pid, pid, "", lng + step * 1e-4, lat, 0.0, None)
            for pid, lng, lat in crowd
        ]
        await presence.refresh(entries)
        await presence.redis.aclose()

    async def walk(stop: threading.Event):
        step = 0
        while not stop.is_set():
            step += 1
            await refresh(step)
            await asyncio.sleep(1.0)

    asyncio.run(refresh(0))
    figures = {}
    stop = threading.Event()
    walker = threading.Thread(target=lambda: asyncio.run(walk(stop)), daemon=True)
    with sync_playwright() as playwright:
        browser, page, report = open_browser(playwright, server.url)
        try:
            log_in(page, server.url, staff, "/admin/")
            walker.start()
            for renderer in ("webgl", "canvas"):
                figures[renderer] = measure(page, server.url, renderer, areas, flags, n_players)
        finally:
            stop.set()
            browser.close()
            if walker.is_alive():
                walker.join(5)

    for renderer, (load_ms, fps, _) in figures.items():
        print(
            f"\nworld map, {renderer} points: {n_flags} flags, {n_players} players online: "
            f"loaded in {load_ms:.0f} ms, {fps:.1f} frames per second while zooming"
        )
    assert report.failed == []
    assert figures["webgl"][2] is True and figures["canvas"][2] is False
