"""Serializer building blocks of mmo/api/serializers.py."""

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from rest_framework import serializers

from mmo.api.serializers import SharedFieldsOutputSerializer


class Plain(serializers.Serializer):
    id = serializers.UUIDField(source="player_id")
    name = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    level = serializers.IntegerField(source="profile.level")


class Shared(SharedFieldsOutputSerializer):
    id = serializers.UUIDField(source="player_id")
    name = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")
    level = serializers.IntegerField(source="profile.level")


class SharedWithMore(Shared):
    bio = serializers.CharField()


def a_player(name="walker"):
    return SimpleNamespace(
        player_id=uuid.uuid4(),
        name=name,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        profile=SimpleNamespace(level=3),
        bio="Hello",
    )


def test_shared_fields_write_what_drf_writes():
    player = a_player()

    assert Shared(player).data == Plain(player).data


def test_each_serializer_writes_its_own_instance():
    first, second = a_player("first"), a_player("second")

    assert [Shared(first).data["name"], Shared(second).data["name"]] == ["first", "second"]


def test_fields_are_built_once_per_class():
    assert Shared(a_player()).fields is Shared(a_player()).fields
    assert list(SharedWithMore(a_player()).fields) == ["id", "name", "createdAt", "level", "bio"]
    assert "bio" not in Shared(a_player()).fields


def test_a_field_that_reads_its_serializer_is_refused():
    with pytest.raises(TypeError, match="current"):

        class WithMethod(SharedFieldsOutputSerializer):
            current = serializers.SerializerMethodField()

            def get_current(self, obj):
                return self.context["current"]
