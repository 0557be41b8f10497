"""
Every write to a room or a mute, the admin's and the shell's included, reaches
the sockets that hold a copy of it: a deleted room is left by the sockets that
joined it, a mute reaches the player's sockets on every process. (Deleting
messages goes through chat.services.messages_delete: a receiver here would
make the database load every message of a deleted room, one signal each.)
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from chat.models import ChatMute, ChatRoom
from chat.services import chat_muted_until
from mmo import realtime


@receiver(post_delete, sender=ChatRoom, dispatch_uid="chat_room_deleted")
def tell_room_deleted(sender, instance, **kwargs):
    realtime.emit(realtime.room_group(instance.pk), realtime.room_deleted(room_id=instance.pk))


@receiver([post_save, post_delete], sender=ChatMute, dispatch_uid="chat_mute_changed")
def tell_player_mute_changed(sender, instance, **kwargs):
    realtime.emit(
        realtime.player_group(instance.player_id),
        realtime.chat_muted(until=chat_muted_until(player_id=instance.player_id)),
    )
