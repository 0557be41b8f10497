"""The middleware chain under ASGI."""

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.test import override_settings
from django.utils.deprecation import MiddlewareMixin


class ModeRecorder(MiddlewareMixin):
    """Notes whether Django loaded it to run on the event loop or synchronously."""

    loaded_async: list[bool] = []

    def __init__(self, get_response):
        super().__init__(get_response)
        ModeRecorder.loaded_async.append(iscoroutinefunction(self))


def test_middleware_runs_synchronously_under_asgi_down_to_the_innermost():
    ModeRecorder.loaded_async.clear()
    innermost_but_one = [*settings.MIDDLEWARE[:-1], f"{__name__}.ModeRecorder"]

    with override_settings(MIDDLEWARE=[*innermost_but_one, settings.MIDDLEWARE[-1]]):
        ASGIHandler()

    assert ModeRecorder.loaded_async == [False]
