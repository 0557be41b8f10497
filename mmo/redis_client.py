"""One redis-py client per Redis server and client class for the whole process."""

import threading

from django_redis.pool import ConnectionFactory


class SharedClientConnectionFactory(ConnectionFactory):
    """
    django-redis connection factory that hands out the same client again.

    Django builds a cache object per thread, and under ASGI one for every
    request; django-redis then builds a new redis-py client for it, whose
    constructor registers some 170 response callbacks: more CPU than the
    request's own cache reads. The client is safe to share between threads:
    each command borrows a connection from the pool, which django-redis
    already keeps per server.
    """

    _clients: dict = {}
    _lock = threading.Lock()

    def get_connection(self, params):
        key = (
            params["url"],
            self.redis_client_cls,
            repr(sorted(self.redis_client_cls_kwargs.items())),
        )
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = super().get_connection(params)
        return client
