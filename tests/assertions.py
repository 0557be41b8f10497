from contextlib import contextmanager

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext


@contextmanager
def refused_by_database():
    """Expect the database itself to refuse the statement in the block."""
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        yield


def plan_of(queryset) -> str:
    """The plan PostgreSQL picks when it may not scan tables sequentially."""
    return _plan(*queryset.query.sql_with_params())


def plan_of_query_sent_by(action) -> str:
    """plan_of for the one query `action` sends (a repository call that returns no queryset)."""
    with CaptureQueriesContext(connection) as captured:
        action()
    assert len(captured.captured_queries) == 1, captured.captured_queries
    return _plan(captured.captured_queries[0]["sql"], [])


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())
