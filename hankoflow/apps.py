"""The Django app: registers the system checks, the Celery tasks and the session-validity
cache's receiver."""

from django.apps import AppConfig


class HankoflowConfig(AppConfig):
    name = "hankoflow"
    verbose_name = "hankoflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hankoflow import checks  # noqa: F401  (registers the checks)
        from hankoflow.services.sessions import validity  # noqa: F401  (its post_delete receiver)

        try:
            from hankoflow import tasks  # noqa: F401  (registers them: web processes publish them)
        except ModuleNotFoundError as exc:
            # Celery is optional (the `celery` extra): without it emails are sent in-process.
            if exc.name != "celery":
                raise
