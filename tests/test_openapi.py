"""The OpenAPI schema, its docs page, and a fuzzing run of every operation against it."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from chat.models import ChatMessage
from chat.services import room_create
from tests.conftest import login_tokens
from tests.factories import AreaFactory, FlagFactory, PlayerFactory, StaffFactory

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """
    Requests through the WSGI app close the database connection when they
    start and finish, which would end the test's transaction; Django's own
    test client unhooks the same receivers.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_schema_is_served_to_anyone(api):
    response = api.get("/api/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["/api/auth/login/", "/api/players/me/", "/api/areas/", "/api/flags/"]:
        assert path in paths


def test_docs_page_loads_its_assets_from_the_server(api):
    response = api.get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


FUZZ_SETTINGS = hypothesis_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def aim_at_real_objects(case, player):
    """
    Random ids only ever meet a 404; point the path at objects that exist, of
    the caller where ownership matters, so that the operation itself runs.
    """
    real = {
        "flag_id": lambda: FlagFactory(owner=player).pk,
        "session_id": lambda: login_tokens(player).session.pk,
        "player_id": lambda: PlayerFactory().pk,
        "area_id": lambda: AreaFactory().pk,
        "room_id": lambda: room_with_a_message(player).pk,
        "key": lambda: "monstersKilled",
    }
    for name in case.path_parameters:
        case.path_parameters[name] = str(real[name]())


def room_with_a_message(player):
    room = room_create(player=player, name="Fuzz")
    ChatMessage.objects.create(room=room, sender=player, text="hi", created_at=timezone.now())
    return room


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_operation_fails_or_breaks_its_schema(case):
    # A fresh player and session per example: some operations log out or
    # delete the account they are called with.
    player = PlayerFactory()
    access = login_tokens(player).tokens.access
    aim_at_real_objects(case, player)
    case.call_and_validate(headers={"Authorization": f"Bearer {access}"}, checks=CHECKS)


# Area writes, system flags and removing them, and posting scores are for staff: players
# only meet a 403.
staff_operations = schema.include(
    path_regex=r"^/api/(areas|flags|leaderboards)/", method=["POST", "PATCH", "DELETE"]
)


@staff_operations.parametrize()
@hypothesis_settings(FUZZ_SETTINGS, max_examples=15)
def test_no_staff_operation_fails_or_breaks_its_schema(case):
    staff = StaffFactory()
    access = login_tokens(staff).tokens.access
    aim_at_real_objects(case, staff)
    case.call_and_validate(headers={"Authorization": f"Bearer {access}"}, checks=CHECKS)
