"""
A new player's place in the world, added in the transaction that provisions
them (players/signals.py says why this is a signal: players sits below
movement and does not import it); and the end of a staff account's admin
access, which closes its world map sockets (movement/staff_socket.py).
"""

from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from mmo import realtime
from movement import services, staff_socket
from players.models import Player
from players.signals import player_provisioned

ACCESS_FIELDS = frozenset({"is_active", "is_staff"})


@receiver(player_provisioned, dispatch_uid="movement_position_at_start")
def place_new_player_at_start(sender, player, **kwargs):
    services.position_create(player=player)


@receiver(user_logged_out, dispatch_uid="movement_staff_sockets_logged_out")
def close_staff_sockets_of_the_session(sender, request, user, **kwargs):
    """Sent before the session is flushed: its key still names the sockets to close."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and user.is_staff and session_key:
        realtime.emit(
            realtime.staff_group(user.pk),
            realtime.staff_ended(
                reason="You logged out of the admin.",
                session=staff_socket.session_tag(session_key),
            ),
        )


@receiver(post_save, sender=Player, dispatch_uid="movement_staff_sockets_access_lost")
def close_staff_sockets_of_lost_access(sender, instance, created, update_fields, **kwargs):
    # Without the previous values a save that may have taken the access away
    # emits: an event to a group nobody is in when the account never was staff.
    if created or (instance.is_active and instance.is_staff):
        return
    if update_fields is not None and not ACCESS_FIELDS & set(update_fields):
        return
    reason = staff_socket.DEACTIVATED if not instance.is_active else staff_socket.NOT_STAFF
    realtime.emit(realtime.staff_group(instance.pk), realtime.staff_ended(reason=reason))


@receiver(post_delete, sender=Player, dispatch_uid="movement_staff_sockets_deleted")
def close_staff_sockets_of_deleted(sender, instance, **kwargs):
    if instance.is_staff:
        realtime.emit(
            realtime.staff_group(instance.pk),
            realtime.staff_ended(reason=staff_socket.DELETED),
        )
