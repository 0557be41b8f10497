from rest_framework.permissions import SAFE_METHODS, BasePermission


class StaffWritesOnly(BasePermission):
    """Any logged-in player reads; only staff create, change or delete."""

    message = "Only staff may change this."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or request.user.is_staff
