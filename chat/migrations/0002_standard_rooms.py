"""The standard rooms every installation starts with (staff add more in the admin)."""

from django.db import migrations

STANDARD_ROOMS = [
    ("global", "Global"),
    ("trade", "Trade"),
    ("help", "Help"),
]


def create_standard_rooms(apps, schema_editor):
    ChatRoom = apps.get_model("chat", "ChatRoom")
    for room_id, name in STANDARD_ROOMS:
        ChatRoom.objects.get_or_create(id=room_id, defaults={"name": name, "kind": "public"})


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]

    operations = [migrations.RunPython(create_standard_rooms, migrations.RunPython.noop)]
