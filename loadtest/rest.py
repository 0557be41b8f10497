"""The REST calls of a simulated player: blocking, run in threads beside the event loop."""

import json
import random
import time
import urllib.error
import urllib.request

# Refusals of a busy server (503, 429) a registration is retried after.
BUSY_RETRIES = 60


def http_json(method: str, url: str, body=None, token=None, timeout=30.0):
    """(status, decoded JSON body) of one request; an error status is an answer, not a raise."""
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def register(server: str, username: str, password: str) -> tuple[str, str]:
    """A new player: (player id, access token)."""
    body = {"username": username, "email": f"{username}@example.com", "password": password}
    status, answer = http_json("POST", f"{server}/api/auth/register/", body)
    for _ in range(BUSY_RETRIES):
        if status not in (429, 503):
            break
        # The server sheds registrations past what it answers in time: come back later.
        time.sleep(1.0 + random.random())
        status, answer = http_json("POST", f"{server}/api/auth/register/", body)
    if status != 201:
        raise RuntimeError(f"register {username}: {status} {answer}")
    return answer["player"]["id"], answer["access"]
