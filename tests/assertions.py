from contextlib import contextmanager

import pytest
from django.db import DataError, IntegrityError, connection, transaction


@contextmanager
def refused_by_database():
    """Expect the database itself to refuse the statement in the block."""
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        yield


def plan_of(queryset) -> str:
    """The plan PostgreSQL picks when it may not scan tables sequentially."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())
