import pytest

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_authenticate_then_move(connect, world):
    client = await connect()

    assert client.authenticated["position"] == {"lat": 0.0, "lng": 0.0}
    world.clock.advance(2)
    ack = await client.move(0.0001, 0)

    assert ack["type"] == "move-ack", ack
    await client.close()
