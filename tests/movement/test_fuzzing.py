"""
Random frames against the real consumer and channel layer, before and after
authentication: every bad frame is answered with an `error` naming the problem,
nothing raises or logs an error, the socket stays usable, and the player's live
position moves only by the moves the server acknowledged.
"""

import json
import logging

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.management import call_command
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.realtime import Client, new_player, open_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

FUZZ_SETTINGS = hypothesis_settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# A step along the equator, in degrees: a metre or so, well within any speed allowance.
STEP = 1 / 111_319.49

BOX = {"minLat": -0.01, "maxLat": 0.01, "minLng": -0.01, "maxLng": 0.01}
SOME_ID = "6f1c1d4e-0000-4000-8000-000000000000"

# A well-formed example of every client message; mutations start from these.
TEMPLATES = {
    "authenticate": {"token": "not-a-token", "playerId": SOME_ID, "username": "someone"},
    "player-move": {
        "position": {"lat": 0.0, "lng": STEP, "currentArea": "city-area"},
        "direction": 90,
        "seq": 1,
        "sentAt": 1.5,
    },
    "get-players": {"bounds": BOX, "boundingBox": BOX, "areaId": "starting-area"},
    "get-flags": {"boundingBox": BOX, "bounds": BOX},
    "chat-message": {"message": "hello", "scope": "global", "targetId": SOME_ID},
    "place-flag": {
        "position": {"lat": 0.002, "lng": 0.002},
        "name": "Camp",
        "isPublic": True,
        "toll": 3,
    },
    "harden-flag": {"flagId": SOME_ID},
    "remove-flag": {"flagId": SOME_ID},
    "teleport-to-flag": {"flagId": SOME_ID},
    "heartbeat": {},
}

# What each message may be answered with, besides an `error`.
ANSWERS = {
    "authenticate": set(),  # an authenticated socket refuses it; before, see below
    "player-move": {"move-ack", "move-rejected"},
    "get-players": {"players-list"},
    "get-flags": {"flags-list"},
    "chat-message": {"chat-sent"},  # global and area messages come back as broadcasts
    "place-flag": {"flag-placed", "flag-placement-failed"},
    "harden-flag": {"flag-hardened", "flag-harden-failed"},
    "remove-flag": {"flag-removed", "flag-remove-failed"},
    "teleport-to-flag": {"teleport-success", "teleport-failed"},
    "heartbeat": {"heartbeat-ack"},
}
# Frames a socket may receive at any time, unasked.
BROADCASTS = {
    "chat-message",
    "player-moved",
    "player-disconnected",
    "flag-placed-by-other",
    "area-entered",
    "area-left",
}
# Codes that name a fault in a field of a well-typed frame, or a refusal of its content.
FIELD_CODES = {
    "invalid_data",
    "invalid_position",
    "already_authenticated",
    "not_in_area",
    "recipient_offline",
    "rate_limited",
}

# Values of every JSON type and many bad ones: numbers past a float, NaN and
# Infinity, out-of-range coordinates, long, empty, NUL and lone-surrogate strings.
scalars = st.one_of(
    st.none() | st.booleans(),
    st.integers(),
    st.integers(min_value=10**308, max_value=10**400) | st.integers(-(10**400), -(10**308)),
    st.floats(),
    st.sampled_from([91.0, -90.000001, 180.5, -181, 1e308, 5e-324, 360, -1, 0]),
    st.text(max_size=20),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "\udfff x", "\u202e", "\n\t"]),
    st.integers(min_value=200, max_value=6000).map(lambda n: "é" * n),
)
nasty_values = scalars | st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["lat", "lng", "minLat", "x", ""]), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value, prefix=()):
    """Every key path in a template, objects included."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))


def _mutated(data: dict, path: tuple, replacement, delete: bool) -> dict:
    data = json.loads(json.dumps(data))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = replacement
    return data


@st.composite
def known_type_frames(draw, types=tuple(TEMPLATES)):
    """A known message type with some of its fields replaced, dropped or added."""
    message_type = draw(st.sampled_from(types))
    data = TEMPLATES[message_type]
    paths = list(_paths(data)) + [("extra",), ("position", "extra")]
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        path = draw(st.sampled_from(paths))
        if len(path) > 1 and not isinstance(data.get(path[0]), dict):
            continue
        data = _mutated(data, path, draw(nasty_values), delete=draw(st.booleans()))
    text = json.dumps({"type": message_type, "data": data})
    if len(text.encode()) > settings.WEBSOCKET_MAX_FRAME_BYTES:
        return {"kind": "bad", "code": "frame_too_large", "text": text}
    if not _is_json(text):  # NaN and Infinity serialise as words JSON does not allow
        return {"kind": "bad", "code": "invalid_json", "text": text}
    return {"kind": "known", "type": message_type, "text": text}


def _expecting(code):
    return lambda text: {"kind": "bad", "code": code, "text": text}


malformed_frames = st.one_of(
    st.text(max_size=100).filter(lambda text: not _is_json(text)).map(_expecting("invalid_json")),
    st.sampled_from(["{", "nul", "[1,]", "{'type': 'heartbeat'}", '{"type": NaN}']).map(
        _expecting("invalid_json")
    ),
    st.sampled_from(['{"type": "heartbeat", "data": {"x": Infinity}}', '{"seq": -Infinity}']).map(
        _expecting("invalid_json")
    ),
    # Deeper than the parser recurses, yet within the frame size limit.
    st.integers(min_value=5_000, max_value=8_000)
    .map(lambda depth: "[" * depth + "]" * depth)
    .map(_expecting("invalid_json")),
    st.integers(min_value=2_000, max_value=2_300)
    .map(
        lambda depth: '{"type": "heartbeat", "data": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    )
    .map(_expecting("invalid_json")),
    st.one_of(st.none(), st.integers(), st.text(max_size=10), st.lists(st.integers(), max_size=3))
    .map(json.dumps)
    .map(_expecting("invalid_frame")),
    st.one_of(st.none(), st.integers(), st.text(max_size=0), st.lists(st.text(max_size=3)))
    .map(lambda kind: json.dumps({"type": kind, "data": {}}))
    .map(_expecting("invalid_frame")),
    st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2))
    .map(lambda data: json.dumps({"type": "heartbeat", "data": data}))
    .map(_expecting("invalid_frame")),
    st.text(min_size=1, max_size=30)
    .filter(lambda kind: kind not in TEMPLATES)
    .map(lambda kind: json.dumps({"type": kind, "data": {}}))
    .map(_expecting("unknown_type")),
    st.integers(min_value=16_400, max_value=40_000)
    .map(lambda size: json.dumps({"type": "heartbeat", "data": {"pad": "x" * size}}))
    .map(_expecting("frame_too_large")),
    st.binary(max_size=64).map(
        lambda data: {"kind": "bad", "code": "invalid_frame", "bytes": data}
    ),
)


def _is_json(text: str) -> bool:
    try:
        json.loads(text, parse_constant=_refuse)
    except (ValueError, RecursionError):
        return False
    return True


def _refuse(constant):
    raise ValueError(constant)


def frames_about(message_type: str):
    """
    A few frames, mostly `message_type` with mutated fields (each message type
    gets its share of examples), some malformed, some of any other type.
    """
    return st.lists(
        st.integers(min_value=0, max_value=3).flatmap(
            lambda pick: (
                malformed_frames
                if pick == 0
                else known_type_frames()
                if pick == 1
                else known_type_frames((message_type,))
            )
        ),
        min_size=1,
        max_size=6,
    )


@pytest_asyncio.fixture
async def seeded(world):
    """The sample world: areas to enter and leave, the start flag to place flags near."""
    await database_sync_to_async(call_command)("seed_world")
    await world.rebuild_area_index()


@pytest.fixture
def no_error_logs(caplog):
    """Fails the test if anything logs an error or a traceback."""
    caplog.set_level(logging.DEBUG)
    yield
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors, [record.getMessage() for record in errors]
    assert "Traceback" not in caplog.text


async def send_frame(client: Client, fuzz: dict):
    # Straight to the application, as a server passes frames on: empty ones too.
    if "bytes" in fuzz:
        event = {"type": "websocket.receive", "bytes": fuzz["bytes"]}
    else:
        event = {"type": "websocket.receive", "text": fuzz["text"]}
    await client.communicator.send_input(event)


async def replies_to(client: Client, fuzz: dict) -> list[dict]:
    """The frames received before the answer to a heartbeat sent after `fuzz`."""
    await client.send("heartbeat")
    acks_awaited = 2 if fuzz.get("type") == "heartbeat" else 1
    replies = []
    while True:
        message = await client.receive()
        if message["type"] == "heartbeat-ack":
            acks_awaited -= 1
            if not acks_awaited:
                return replies
        replies.append(message)


def answers(replies: list[dict]) -> list[dict]:
    return [reply for reply in replies if reply["type"] not in BROADCASTS]


def assert_error_names_the_problem(reply: dict, code: str):
    assert reply["type"] == "error", reply
    assert reply["data"]["code"] == code, reply
    assert isinstance(reply["data"]["message"], str) and reply["data"]["message"]


def assert_answer_fits(fuzz: dict, replies: list[dict]):
    replies = answers(replies)
    if fuzz["kind"] == "bad":
        assert len(replies) == 1, (fuzz, replies)
        assert_error_names_the_problem(replies[0], fuzz["code"])
        return
    assert len(replies) <= 1, (fuzz, replies)
    (reply,) = replies or [None]
    if reply is None:  # a global or area chat message reaches its sender as a broadcast
        assert fuzz["type"] == "chat-message", (fuzz, replies)
        return
    if reply["type"] == "error":
        assert reply["data"]["code"] in FIELD_CODES, (fuzz, reply)
        assert reply["data"]["message"], reply
    else:
        assert reply["type"] in ANSWERS[fuzz["type"]], (fuzz, reply)


@pytest.mark.parametrize("message_type", ["authenticate", "player-move", "chat-message"])
@given(data=st.data())
@FUZZ_SETTINGS
async def test_random_frames_before_authentication_get_errors(
    world, no_error_logs, message_type, data
):
    frames = data.draw(frames_about(message_type), label="frames")
    client = Client(await open_socket())
    try:
        for fuzz in frames:
            world.clock.advance(1)
            await send_frame(client, fuzz)
            # Unauthenticated, every frame is answered by one error.
            reply = await client.receive()
            if fuzz["kind"] == "bad":
                assert_error_names_the_problem(reply, fuzz["code"])
            elif fuzz["type"] != "authenticate":
                assert_error_names_the_problem(reply, "not_authenticated")
            elif reply["data"]["code"] == "auth_failed":
                # A token that is a string but not a valid token ends the socket.
                closed = await client.communicator.receive_output(2)
                assert closed == {"type": "websocket.close", "code": 4001}
                return
            else:
                assert_error_names_the_problem(reply, "invalid_data")
        # Still usable: it authenticates.
        player, login = await new_player()
        await client.send("authenticate", {"token": login.tokens.access})
        assert (await client.receive_type("authenticated"))["playerId"] == str(player.pk)
    finally:
        await client.close()


@pytest.mark.parametrize("message_type", TEMPLATES)
@given(data=st.data())
@FUZZ_SETTINGS
async def test_random_frames_after_authentication_get_errors_or_answers(
    connect, world, seeded, no_error_logs, message_type, data
):
    frames = data.draw(frames_about(message_type), label="frames")
    client = await connect()
    player_id = str(client.player.pk)
    position = client.authenticated["position"]
    try:
        for fuzz in frames:
            world.clock.advance(1)
            await send_frame(client, fuzz)
            replies = await replies_to(client, fuzz)
            assert_answer_fits(fuzz, replies)
            for reply in answers(replies):
                if reply["type"] in {"move-ack", "teleport-success"}:
                    position = reply["data"]["position"]
            assert (world.players[player_id].lat, world.players[player_id].lng) == (
                position["lat"],
                position["lng"],
            ), "the live position moved without an acknowledged move"

        # Still usable: a valid step is acknowledged and lands where it says.
        world.clock.advance(1)
        step = {"lat": position["lat"], "lng": position["lng"] + STEP}
        await client.send("player-move", {"position": step, "seq": 99})
        ack = await client.receive_type("move-ack")
        assert (ack["position"], ack["seq"]) == (step, 99)
        live = world.players[player_id]
        assert (live.lat, live.lng) == (step["lat"], step["lng"])
    finally:
        await client.close()
