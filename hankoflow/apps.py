"""The Django app: registers the system checks and the Celery tasks."""

from django.apps import AppConfig


class HankoflowConfig(AppConfig):
    name = "hankoflow"
    verbose_name = "hankoflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hankoflow import (
            checks,  # noqa: F401  (registers the checks)
            tasks,  # noqa: F401  (registers the tasks, so web processes can publish them)
        )
