"""An adapter that keeps the Django user of a deleted account, deactivated."""

from hankoflow.adapter import DefaultHankoflowAdapter


class KeepUser(DefaultHankoflowAdapter):
    def delete_user(self, user):
        user.is_active = False
        user.save(update_fields=["is_active"])
