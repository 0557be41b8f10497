"""docs/protocol.md and the socket's registry describe the same client messages, with the same keys."""

import re
from pathlib import Path

import pytest

from mmo.socket.registry import registry

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"


def documented_messages() -> dict[str, set[str]]:
    """
    Each client message type of the section's first table (aliases too) →
    the top-level keys of its data.
    """
    section = DOC.read_text().split("## Client → server", 1)[1]
    table = section[section.index("\n|") :].split("\n\n", 1)[0]
    messages = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        keys = top_level_keys(cells[1])
        for message_type in re.findall(r"`([^`]+)`", cells[0]):
            messages[message_type] = keys
    return messages


def top_level_keys(data: str) -> set[str]:
    """`{a, b?: {c}, d?: "x" | "y"}` or `{e}` → {a, b, d, e}: names right after `{` or `,` at depth 1."""
    keys, depth, expecting_key = set(), 0, False
    for token in re.findall(r'"[^"]*"|[A-Za-z]+|[{},]', data):
        if token == "{":
            depth += 1
            expecting_key = depth == 1
        elif token == "}":
            depth -= 1
            expecting_key = False
        elif token == ",":
            expecting_key = depth == 1
        elif expecting_key and not token.startswith('"'):
            keys.add(token)
            expecting_key = False
        else:
            expecting_key = False
    return keys


def registered_keys(message) -> set[str]:
    return {name for key, spec in message.schema.items() for name in (key, *spec.aliases)}


def test_the_doc_and_the_registry_list_the_same_message_types():
    assert set(documented_messages()) == set(registry.messages)


@pytest.mark.parametrize("message_type", sorted(registry.messages))
def test_each_message_is_documented_with_the_keys_it_reads(message_type):
    assert documented_messages()[message_type] == registered_keys(registry.messages[message_type])


def test_the_key_reader_sees_only_the_outer_keys():
    assert top_level_keys('`{position: {lat, lng}, scope?: "a" \\| "b", toll?}`') == {
        "position",
        "scope",
        "toll",
    }
    assert top_level_keys("`{areaId}` or `{bounds: box}` or `{}` (around you)") == {
        "areaId",
        "bounds",
    }
