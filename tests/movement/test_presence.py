import asyncio

import pytest

from movement.presence import PresenceEntry

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

EVERYWHERE = (-180.0, -90.0, 180.0, 90.0)


def entry(player_id, lng=0.0, lat=0.0, area=None):
    return PresenceEntry(player_id, f"user-{player_id}", f"User {player_id}", lng, lat, 0.0, area)


@pytest.mark.smoke
async def test_players_not_refreshed_within_the_ttl_are_gone(world, settings):
    settings.PRESENCE_TTL = 0.2
    presence = world.presence
    await presence.refresh([entry("a"), entry("b")])
    await asyncio.sleep(0.15)

    await presence.refresh([], still_here=["a"])  # a's process is alive; b's died
    await asyncio.sleep(0.1)

    assert [e.player_id for e in await presence.in_box(EVERYWHERE, 10)] == ["a"]
    assert await presence.is_online("a") and not await presence.is_online("b")


async def test_box_and_area_listings(world):
    presence = world.presence
    await presence.refresh([entry("in", 0.001, 0.001, "plaza"), entry("out", 1.0, 1.0, "wild")])

    in_box = await presence.in_box((-0.01, -0.01, 0.01, 0.01), 10)
    in_plaza = await presence.in_area("plaza", 10)

    assert [e.player_id for e in in_box] == ["in"]
    assert [e.player_id for e in in_plaza] == ["in"]


async def test_a_player_who_moved_areas_leaves_the_old_listing(world):
    presence = world.presence
    await presence.refresh([entry("walker", area="plaza")])

    await presence.refresh([entry("walker", area="market")])

    assert await presence.in_area("plaza", 10) == []
    assert [e.player_id for e in await presence.in_area("market", 10)] == ["walker"]


@pytest.mark.smoke
async def test_a_refresh_says_when_the_store_forgot_a_player(world):
    presence = world.presence
    await presence.refresh([entry("kept"), entry("forgotten")])
    await presence.clear()  # what a restarted Redis holds
    await presence.refresh([entry("kept")])

    assert await presence.refresh([], still_here=["kept"]) is True
    assert await presence.refresh([], still_here=["kept", "forgotten"]) is False
    assert not await presence.is_online("forgotten")


async def test_a_refresh_of_many_players_stores_each_ones_details(world):
    presence = world.presence
    areas = ("plaza", "market", None)
    walkers = [
        PresenceEntry(f"p{n}", f"user{n}", f'Walker "{n}" ✓', n / 1000, -n / 1000, n, areas[n % 3])
        for n in range(40)
    ]

    await presence.refresh(walkers)

    listed = await presence.in_box(EVERYWHERE, 100)
    assert sorted(listed, key=lambda e: e.player_id) == sorted(walkers, key=lambda e: e.player_id)
    for area in ("plaza", "market"):
        in_area = await presence.in_area(area, 100)
        assert {e.player_id for e in in_area} == {w.player_id for w in walkers if w.area_id == area}


async def test_players_entering_together_are_listed_in_one_write(world, monkeypatch):
    presence, writes = world.presence, []
    refresh = presence.refresh

    async def counted(entries, **kwargs):
        writes.append(len(entries))
        return await refresh(entries, **kwargs)

    monkeypatch.setattr(presence, "refresh", counted)
    await asyncio.gather(*(world.arrivals.write(entry(f"p{n}")) for n in range(50)))

    assert writes == [50]
    assert len(await presence.in_box(EVERYWHERE, 100)) == 50


async def test_players_entering_during_a_write_go_in_the_next_one(world, monkeypatch):
    presence, writes, release = world.presence, [], asyncio.Event()
    refresh = presence.refresh

    async def slow(entries, **kwargs):
        writes.append(sorted(e.player_id for e in entries))
        await release.wait()
        return await refresh(entries, **kwargs)

    monkeypatch.setattr(presence, "refresh", slow)
    first = asyncio.ensure_future(world.arrivals.write(entry("first")))
    while not writes:
        await asyncio.sleep(0)
    later = [asyncio.ensure_future(world.arrivals.write(entry(f"later{n}"))) for n in range(3)]
    await asyncio.sleep(0.05)
    assert writes == [["first"]]  # one write in flight at a time

    release.set()
    await asyncio.gather(first, *later)
    assert writes == [["first"], ["later0", "later1", "later2"]]
    assert await presence.is_online("later2")


async def test_a_failed_arrivals_write_reaches_every_player_in_it(world, monkeypatch):
    async def unreachable(entries, **kwargs):
        raise ConnectionError("presence store unreachable")

    monkeypatch.setattr(world.presence, "refresh", unreachable)
    results = await asyncio.gather(
        *(world.arrivals.write(entry(f"p{n}")) for n in range(3)), return_exceptions=True
    )

    assert [type(result) for result in results] == [ConnectionError] * 3
