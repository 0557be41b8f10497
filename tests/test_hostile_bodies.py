"""
Bodies no client should send, to every operation of the OpenAPI schema that
takes one: each is a 400 (413 for size) naming the problem, never a 500.
"""

import json
import re

import pytest
from django.test import override_settings

from mmo.api import parsers
from tests.conftest import bearer_client, login_tokens
from tests.factories import AreaFactory, FlagFactory, PlayerFactory, StaffFactory
from tests.test_openapi import room_with_a_message

pytestmark = pytest.mark.django_db

NESTED = "[" * 1000 + "]" * 1000
HOSTILE = {
    "deep nesting": (NESTED, "nests more than"),
    "deep objects": ('{"a":' * 1000 + "1" + "}" * 1000, "nests more than"),
    "nesting past the limit": ("[" * 30 + "]" * 30, "nests more than"),
    "a 100,000-digit number": ('{"login": ' + "9" * 100_000 + "}", "more than 100 digits"),
    "NaN": ('{"login": NaN}', "NaN is not a number"),
    "Infinity": ('{"login": -Infinity}', "Infinity is not a number"),
    "a float out of range": ('{"login": 1e999}', "out of range"),
    "broken JSON": ('{"login": ', "not valid JSON"),
}


def operations(api) -> list[tuple[str, str]]:
    """(method, path template) of every operation whose request has a JSON body."""
    schema = api.get("/api/schema/?format=json").json()
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


def real_path(template: str, staff) -> str:
    """The path with its parameters pointing at objects that exist, owned by `staff`."""
    real = {
        "flag_id": lambda: FlagFactory(owner=staff).pk,
        "session_id": lambda: login_tokens(staff).session.pk,
        "player_id": lambda: PlayerFactory().pk,
        "area_id": lambda: AreaFactory().pk,
        "room_id": lambda: room_with_a_message(staff).pk,
        "key": lambda: "monstersKilled",
    }
    return re.sub(r"\{(\w+)\}", lambda match: str(real[match.group(1)]()), template)


def send(method: str, path: str, body: str, staff):
    api = bearer_client(login_tokens(staff).tokens.access)
    return getattr(api, method.lower())(path, data=body, content_type="application/json")


def test_the_schema_has_operations_with_bodies(api):
    found = operations(api)

    assert ("POST", "/api/auth/login/") in found and len(found) > 10


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_every_operation_refuses_a_hostile_body_with_400_naming_it(api, hostile):
    body, named = HOSTILE[hostile]
    answers = {}
    for method, template in operations(api):
        staff = StaffFactory()
        response = send(method, real_path(template, staff), body, staff)
        answers[f"{method} {template}"] = (response.status_code, response.json().get("detail"))

    wrong = {
        operation: answer
        for operation, answer in answers.items()
        if answer[0] != 400 or named not in (answer[1] or "")
    }
    assert wrong == {}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_every_operation_refuses_a_body_over_the_size_limit_with_413(api):
    body = json.dumps({"login": "x" * 1001})
    answers = {}
    for method, template in operations(api):
        staff = StaffFactory()
        response = send(method, real_path(template, staff), body, staff)
        answers[f"{method} {template}"] = (response.status_code, response.json().get("detail"))

    wrong = {
        operation: answer
        for operation, answer in answers.items()
        if answer != (413, "The request body is larger than 1000 bytes.")
    }
    assert wrong == {}


def test_a_ten_megabyte_string_to_login_is_413_at_the_default_limit(api):
    body = json.dumps({"login": "x" * 10_000_000, "password": "x"})

    response = api.post("/api/auth/login/", data=body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"


def test_a_body_at_the_largest_legitimate_depth_is_read():
    geojson_body = {"boundary": {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 1]]]]}}

    assert parsers.loads(json.dumps(geojson_body)) == geojson_body
    assert parsers.depth(geojson_body) == 6


def test_depth_is_measured_without_recursion():
    value = []
    for _ in range(100_000):
        value = [value]

    assert parsers.depth(value) == parsers.MAX_DEPTH + 1
