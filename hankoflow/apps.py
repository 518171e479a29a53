"""The Django app: registers the system checks and the Celery tasks."""

from django.apps import AppConfig


class HankoflowConfig(AppConfig):
    name = "hankoflow"
    verbose_name = "hankoflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hankoflow import checks  # noqa: F401  (registers the checks)

        try:
            from hankoflow import tasks  # noqa: F401  (registers them: web processes publish them)
        except ModuleNotFoundError as exc:
            # Celery is optional (the `celery` extra): without it emails are sent in-process.
            if exc.name != "celery":
                raise
