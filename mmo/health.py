"""`GET /api/health`: whether this process can reach its database and its cache."""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


def database_status() -> str | None:
    """None when the database answers, else what went wrong."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "down"; the reason is reported
        logger.warning("health: database unreachable: %s", error)
        connection.close_if_unusable_or_obsolete()
        return f"{type(error).__name__}: {error}".strip()
    return None


def cache_status() -> str | None:
    """None when the cache answers, else what went wrong."""
    try:
        client = getattr(cache, "client", None)
        if client is not None and hasattr(client, "get_client"):
            # django-redis swallows errors on get/set (reads fall back to the
            # database), so ask Redis directly.
            client.get_client(write=True).ping()
        else:
            cache.set("health:probe", 1, timeout=5)
            if cache.get("health:probe") != 1:
                return "the cache did not return what was stored"
    except Exception as error:  # any failure means "down"; the reason is reported
        logger.warning("health: cache unreachable: %s", error)
        return f"{type(error).__name__}: {error}".strip()
    return None


@never_cache
@require_safe
def health(request):
    problems = {"database": database_status(), "cache": cache_status()}
    down = [name for name, problem in problems.items() if problem]
    body = {
        "status": "down" if down else "ok",
        "database": "down" if problems["database"] else "up",
        "cache": "down" if problems["cache"] else "up",
    }
    if down:
        body["down"] = down
        body["errors"] = {name: problems[name] for name in down}
    return JsonResponse(body, status=503 if down else 200)
