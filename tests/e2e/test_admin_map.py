"""The admin map in a real browser (Debian's Chromium), with no network beyond localhost."""

import shutil
from urllib.parse import urlsplit

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from mmo.geo import point
from tests.factories import DEFAULT_PASSWORD, AreaFactory, FlagFactory, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

TRIANGLE = MultiPolygon(Polygon(((2.0, 48.0), (2.2, 48.0), (2.1, 48.2), (2.0, 48.0))), srid=4326)
NEXT_DOOR = MultiPolygon(Polygon.from_bbox((2.2, 48.0, 2.3, 48.2)), srid=4326)


def test_area_change_page_draws_the_boundary_on_the_map(asgi_server, tmp_path):
    from playwright.sync_api import sync_playwright

    staff = StaffFactory()
    area = AreaFactory(id="triangle", name="Triangle", boundary=TRIANGLE)
    AreaFactory(id="next-door", name="Next door", boundary=NEXT_DOOR)
    neighbour_flag = FlagFactory(name="Watch", location=point(2.25, 48.1))
    server_host = urlsplit(asgi_server).netloc
    left_localhost = []

    def only_localhost(route):
        if urlsplit(route.request.url).netloc == server_host:
            route.continue_()
        else:
            left_localhost.append((route.request.resource_type, route.request.url))
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_localhost)
            page.goto(f"{asgi_server}/admin/login/?next=/admin/areas/area/{area.pk}/change/")
            page.fill("#id_username", staff.username)
            page.fill("#id_password", DEFAULT_PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"**/admin/areas/area/{area.pk}/change/")
            page.wait_for_function("() => window.geodjango_boundary !== undefined")

            drawn = page.evaluate(
                """() => {
                    const overlay = window.geodjango_boundary.featureOverlay;
                    return overlay.getSource().getFeatures().map((feature) => {
                        const geometry = feature.getGeometry().clone();
                        geometry.transform('EPSG:3857', 'EPSG:4326');
                        return {type: geometry.getType(), extent: geometry.getExtent()};
                    });
                }"""
            )
            # Around it: the neighbouring area and flag (not the area itself), over
            # Natural Earth's land, drawn from the server although the tiles fail.
            page.wait_for_function(
                """() => geodjango_boundary.neighbours &&
                    geodjango_boundary.neighbours.sources.areas.getFeatures().length > 0 &&
                    geodjango_boundary.neighbours.sources.flags.getFeatures().length > 0"""
            )
            neighbours = page.evaluate(
                """() => Object.fromEntries(Object.entries(geodjango_boundary.neighbours.sources)
                    .map(([name, source]) => [name, source.getFeatures().map((f) => f.getId())]))"""
            )
            land = page.evaluate(
                """() => geodjango_boundary.map.getLayers().item(0).getLayers().item(0)
                    .getSource().getFeatures().length"""
            )
            canvas_drawn = page.evaluate(
                "() => document.querySelector('#id_boundary_map canvas') !== null"
            )
            page.screenshot(path=str(tmp_path / "area-map.png"))
        finally:
            browser.close()

    assert canvas_drawn
    assert neighbours == {"areas": ["next-door"], "flags": [str(neighbour_flag.pk)]}
    assert land > 100
    assert len(drawn) == 1
    assert drawn[0]["type"] == "MultiPolygon"
    assert drawn[0]["extent"] == pytest.approx([2.0, 48.0, 2.2, 48.2], abs=1e-6)
    # Only base-map tiles may be asked of another host; the page itself,
    # its scripts and its styles all come from the server.
    assert all(kind == "image" for kind, _ in left_localhost), left_localhost
