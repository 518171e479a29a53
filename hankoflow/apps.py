"""The Django app: registers the system checks, the Celery tasks and the session-validity
cache's receiver."""

from django.apps import AppConfig
from django.db.models.signals import post_delete


class HankoflowConfig(AppConfig):
    name = "hankoflow"
    verbose_name = "hankoflow"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hankoflow import checks  # noqa: F401  (registers the checks)

        # Every deleted session row marks its validity-cache entry ended (before the commit).
        post_delete.connect(_session_deleted, sender="hankoflow.Session", dispatch_uid=__name__)

        try:
            from hankoflow import tasks  # noqa: F401  (registers them: web processes publish them)
        except ModuleNotFoundError as exc:
            # Celery is optional (the `celery` extra): without it emails are sent in-process.
            if exc.name != "celery":
                raise


def _session_deleted(sender: type, **kwargs: object) -> None:
    # Imported here: loading the app must not load the services layer.
    from hankoflow.services.sessions.validity import session_deleted

    session_deleted(sender, **kwargs)
