import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from players.models import Player
from players.services import player_register

DEMO_USERNAME = "admin"
DEMO_EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = (
        "Create the demo staff login for the embedded setup (once) and print it. "
        "The password is random and kept in var/demo-staff-password."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("The demo staff login is for the embedded demo (DEBUG=true) only.")
        password_file = settings.VAR_DIR / "demo-staff-password"
        password = password_file.read_text().strip() if password_file.exists() else ""
        with transaction.atomic():
            staff = Player.objects.filter(username=DEMO_USERNAME).first()
            if staff is None or not password or not staff.check_password(password):
                password = secrets.token_urlsafe(12)
                if staff is None:
                    staff = player_register(
                        username=DEMO_USERNAME,
                        email=DEMO_EMAIL,
                        password=password,
                        is_staff=True,
                        is_superuser=True,
                    )
                else:
                    staff.set_password(password)
                    staff.save(update_fields=["password"])
                password_file.parent.mkdir(parents=True, exist_ok=True)
                password_file.write_text(password)
                password_file.chmod(0o600)
        self.stdout.write(f"Demo staff login: username {DEMO_USERNAME!r}, password {password!r}")
